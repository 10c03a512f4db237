"""Supervisor analytics: the handoff metrics of docs/metrics.md, from fact tables.

Reads two sources it does not own: Rasa's SQL tracker store (the `events` table) and the desk's
database (handoffs, their history, the mortgage timelines). `build` folds what is new since
the last watermark into its own fact tables (`store`): one row per conversation, per handoff
(and per agent's part of it), per application stage change, per bot failure point. `report`
answers the dashboard's questions from those facts only, so its queries stay cheap however
long the history. The desk runs the build on a timer and serves the report; `python -m
analytics` (`make analytics`) builds on demand.

Modules: `settings` (environment), `sources` (the tables read, as SQLAlchemy Core), `tracker`
(one Rasa event, parsed), `conversations` (the fold of tracker events into conversation facts),
`handoffs` (handoff facts from the desk's rows), `stages` (stage changes), `build` (watermarks,
batches, idempotence), `periods` (local days and weeks), `metrics` (the definitions),
`report` (the dashboard's payload), `exports` (CSV).
"""
