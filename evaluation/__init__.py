"""How well the assistant understands customers: `make eval` (`__main__.py`), and the behaviour
evaluation on the held-out set (`behaviour.py`, `phrasings.yml`)."""
