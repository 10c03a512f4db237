"""Database helpers shared by the action server and the desk.

Like `contract/`, this is a library both deployables depend on, not a deployable: each keeps
its own database, models and migrations, and shares only the UTC timestamp type and the
Alembic environment that runs those migrations.
"""
