"""The desk's use cases: each runs its unit of work, then publishes what happened.

A workflow is one async function per use case, called by a route (which only parses the request
and answers with the result). It runs the rules (`desk.services`) in a unit of work (one
database session), talks to Rasa where the use case needs an answer (an agent's message, the
hand-back), and publishes the domain events (`desk.events`) on the event bus (`desk.bus`),
where the console hub, the customer link, the waiting room and the bot sync react.

- `intake`: a new handoff from the bot;
- `agent_work`: claim, the agent's message and typing, notes, transfer;
- `closing`: resolve, hand back (and a retried hand-back);
- `customer`: what the customer does: their messages and typing, cancelling the wait,
  choosing a wait option (keep waiting / leave a message), the rating and the callback message;
- `callbacks`: an agent marks the message a customer left (a callback) done;
- `sessions`: an agent logging out (their consoles close);
- `applications`: a mortgage application opened, an entry appended to its history.

Handoff statuses change only as the transition table allows (`desk.services.lifecycle`, with
the rules that apply it).
"""
