"""Persistence for the action server: orders, mortgage applications and the handoff outbox.

Import what you need from the submodules (`actions.store.database`, `.models`, `.orders`,
`.applications`); this package deliberately opens no connection at import time.
"""

from actions.store.database import Database, UTCDateTime, get_database, utcnow

__all__ = ["Database", "UTCDateTime", "get_database", "utcnow"]
