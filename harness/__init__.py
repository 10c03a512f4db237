"""Clients and stand-ins that drive the system from outside, shared by tests and benchmarks.

`tests/` and `benchmarks/` both run the real processes and talk to them as a customer's page
or the desk would; what they share lives here, so that neither imports the other (a benchmark
is not a test) and `launcher.stack` can start the desk's stand-in without reaching into tests:

- `chat_client`: a customer's web chat page (python-socketio over long-polling);
- `recording_endpoint`: an HTTP endpoint standing in for the desk's handoff route, on
  `stand_in`, the base of such stand-ins (listen, go down, stall, wait for what arrived);
- `loopback`: free ports and SQLite files for an isolated copy of the system;
- `scripted_traffic`: scripted conversations of customers and desk agents, played for real
  (`make demo-traffic` and the analytics end-to-end test).
"""
