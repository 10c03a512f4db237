"""The desk's data layer: engine and units of work, tables, migrations, repositories."""
