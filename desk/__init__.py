"""The human desk: its own deployable (`python -m desk`).

Routes (`desk.api`) → rules (`desk.services`) → data (`desk.store`, SQLAlchemy + Alembic).
The only code it shares with the assistant is the bot↔desk contract (`contract/`).
"""
