"""What the customers in the end-to-end tests say, and what the bot's answers must contain."""

from __future__ import annotations

import re
from typing import Final

from launcher.stack import PROJECT_ROOT

#: The troubleshooting trees the bot walks.
TREES_PATH: Final = PROJECT_ROOT / "content" / "troubleshooting_trees.yml"

#: The mortgage intake's answers, in the order the form asks for them.
MORTGAGE_ANSWERS: Final = (
    "Jane Smith",
    "jane@example.com",
    "£250,000",
    "deposit 50k",
    "25 years",
    "55k",
    "self-employed",
)

#: A stored application's reference, as the bot tells it to the customer.
APPLICATION_REFERENCE: Final = re.compile(r"\bMTG-[0-9A-Z]{5}\b")

#: The desk's priorities, lowest first.
PRIORITIES: Final = ("low", "normal", "high", "urgent")

#: What the bot says when it offers a person.
OFFER_OF_A_PERSON: Final = "would you like me to connect you with a person"
