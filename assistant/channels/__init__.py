"""Rasa input channels of the support assistant, named in credentials.yml by module path."""
