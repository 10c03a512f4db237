"""Custom graph components named in config.yml."""
