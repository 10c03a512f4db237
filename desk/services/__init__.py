"""The desk's rules, independent of HTTP: every function works inside one unit of work.

Functions take the SQLAlchemy `Session` of the caller's unit of work (`Database.session()`),
the acting agent where it matters, and `now` (so tests control the clock). Rule violations
raise the errors of `desk.services.errors`; the API maps each to one HTTP status.
"""
