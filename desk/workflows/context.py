"""What the workflows work with: one `Desk` per application, built by `desk.app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass

from desk.background import BackgroundTasks
from desk.bus import EventBus
from desk.customer_link import CustomerLink
from desk.rasa_client import RasaClient
from desk.services.conversations import SeenMessages
from desk.services.handoffs import HandBack
from desk.store.database import UnitRunner


@dataclass(frozen=True)
class Desk:
    """The desk's parts a workflow may use.

    - `units` runs units of work (the database), `bus` carries the events;
    - `rasa` for what needs Rasa's answer (an agent's message), `hand_back` gives a resolved
      conversation back to the bot;
    - `customer` for the agent's typing, whose caller learns whether the page was told;
    - `tasks` runs what must not hold up the caller; `seen` spots re-delivered messages.
    """

    units: UnitRunner
    bus: EventBus
    rasa: RasaClient
    hand_back: HandBack
    customer: CustomerLink
    tasks: BackgroundTasks
    seen: SeenMessages
