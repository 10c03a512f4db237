"""Database helpers shared by the action server and the desk.

Like `contract/`, this is a library both deployables depend on, not a deployable: each keeps
its own database, models and migrations, and shares the engine, units of work and migration
runner (`database`), the UTC timestamp type (`types`) and the Alembic environment that runs
those migrations (`alembic_env`).
"""
