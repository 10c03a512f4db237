"""Starts the whole system on this machine: for `make run`, and for end-to-end tests."""
