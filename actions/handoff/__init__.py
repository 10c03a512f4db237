"""Handing a conversation over to a human: the context, its routing, and reliable delivery.

Modules, in the order a handoff uses them: `journey` is what each journey declares (the
package iterates the registry it is given and imports no journey), `transcript` and
`sentiment` read the tracker events, `routing` picks the desk queue, `summary` and `pii`
describe the result, `builder` assembles the `contract.handoff_context.HandoffContext`,
`delivery` POSTs it and `outbox` makes sure it gets there even if the desk or this process is
down. The action that uses them is `actions.handoff_action`; `actions.wiring` builds the parts
once per process and hands them the journeys (`actions.journeys`).
"""
