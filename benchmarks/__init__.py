"""Speed benchmarks of the support assistant: `python -m benchmarks.run` (see its docstring)."""
