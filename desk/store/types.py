"""Column types of the desk's database: the UTC timestamp shared with the action server."""

from sqlsupport.types import UTCDateTime, utcnow

__all__ = ["UTCDateTime", "utcnow"]
