"""The analytics' own database: fact tables, watermarks, build runs (see `models`)."""
