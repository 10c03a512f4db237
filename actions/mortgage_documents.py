"""Journey 3, documents through the bot: which documents are still needed, one at a time.

The desk owns the application's checklist (`contract.documents`); the bot only reads the record
(`GET /api/applications/{reference}`) and never asks for an item that is already on record:
only missing and rejected items are asked for, in the checklist's order, a rejected one with
the advisor's reason. The message that asks for an item carries an `UploadPrompt` in its
metadata (`upload_metadata`), from which the web chat page offers its upload control.

`action_ask_next_document` runs in a predicted turn (the customer asked). The desk executes
`action_document_received` after a stored upload and `action_document_reviewed` after a review
through Rasa's HTTP API (`contract.bot_actions`): these log the `action_listen` themselves
(see `actions.handback.LISTEN`), and continue the application in the same turn rather than
with a `FollowupAction`, which that `action_listen` would clear.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher
from rasa_sdk.interfaces import Action
from rasa_sdk.types import DomainDict

from actions.constants import (
    ACTION_ASK_NEXT_DOCUMENT,
    ACTION_CONTINUE_APPLICATION,
    ACTION_DOCUMENT_RECEIVED,
    ACTION_DOCUMENT_REVIEWED,
    SLOT_APPLICATION_REFERENCE,
)
from actions.desk_client import DeskCallFailed
from actions.failsafe import apologise_on_failure
from actions.handback import LISTEN
from actions.handoff.delivery import desk_client
from contract.applications import (
    ApplicationEventKind,
    ApplicationEventRecord,
    ApplicationRecord,
    ApplicationStage,
)
from contract.documents import ChecklistItem, DocumentState, UploadPrompt, upload_metadata

logger = logging.getLogger(__name__)

NO_APPLICATION = (
    "I can't see a mortgage application in this chat yet. Once you've applied, or given me "
    "your application reference, I'll tell you which documents we need."
)
NO_CHECKLIST = (
    "An advisor will first go through your application with you, then I'll tell you which "
    "documents we need."
)
ALL_WITH_ADVISORS = (
    "Thanks, all your documents are with our advisors. I'll let you know when they've checked them."
)
ALL_ACCEPTED = "All your documents are accepted. You can now book your signing at a branch."
#: All accepted, and the signing is booked already (or done): the application says the rest.
DOCUMENTS_ACCEPTED = "All your documents are accepted."
DESK_DOWN = (
    "Sorry, I can't reach your application just now, so I can't tell which documents we "
    "still need. Please try again in a few minutes."
)
#: Stages in which documents are no longer asked for: the application ended.
CLOSED_STAGES = frozenset({ApplicationStage.WITHDRAWN.value, ApplicationStage.EXPIRED.value})
#: Stages in which the branch signing is booked or done: no offer to book it.
BOOKED_STAGES = frozenset(
    {ApplicationStage.APPOINTMENT_BOOKED.value, ApplicationStage.SIGNED.value}
)
#: The timeline kinds of an advisor's review.
REVIEW_KINDS = frozenset(
    {ApplicationEventKind.DOCUMENT_ACCEPTED.value, ApplicationEventKind.DOCUMENT_REJECTED.value}
)


# --- What to say -------------------------------------------------------------------------------


@dataclass
class DocumentsReply:
    """What the bot says about the documents, and whether the application moves on."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    #: Every item is accepted: continue with the application (`ACTION_CONTINUE_APPLICATION`).
    continue_application: bool = False

    def say(self, text: str, prompt: UploadPrompt | None = None) -> DocumentsReply:
        """Add a message, with the upload control for `prompt` if given."""
        metadata = upload_metadata(prompt) if prompt is not None else {}
        self.messages.append({"text": text, **metadata})
        return self

    def send(self, dispatcher: CollectingDispatcher) -> None:
        """Dispatch the messages; the upload prompt travels as the message's metadata."""
        for message in self.messages:
            dispatcher.utter_message(**message)


def in_sentence(title: str) -> str:
    """A checklist title inside a sentence: "Last 3 payslips" -> "last 3 payslips" (an
    initialism such as "SA302 forms" keeps its capitals)."""
    if len(title) > 1 and title[0].isupper() and title[1].islower():
        return title[0].lower() + title[1:]
    return title


def joined(words: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def pronoun(title: str) -> str:
    """ "them" for a plural title ("Bank statements"), else "it" ("Proof of identity")."""
    last = title.split()[-1].lower() if title.split() else ""
    return "them" if last.endswith("s") and not last.endswith("ss") else "it"


def still_needed(items: Iterable[ChecklistItem]) -> str:
    """ "Still needed: last 3 payslips and bank statements." """
    return f"Still needed: {joined([in_sentence(item.title) for item in items])}."


def prompt_for(record: ApplicationRecord, item: ChecklistItem) -> UploadPrompt:
    """The upload control's settings for one checklist item."""
    return UploadPrompt(reference=record.reference, item=item.key, title=item.title)


def rejection_line(item: ChecklistItem, reason: str | None) -> str:
    """Why an item was refused and that it is needed again."""
    title = in_sentence(item.title)
    because = f": {reason.rstrip('.')}" if reason else ""
    return f"Your {title} could not be accepted{because}. Please upload {pronoun(title)} again."


def ask_for(item: ChecklistItem) -> str:
    """The request for one item: again with the reason if it was rejected."""
    if item.state == DocumentState.REJECTED.value:
        return rejection_line(item, item.rejection_reason)
    return f"Please upload {item.ask.rstrip('.')}."


def next_document(record: ApplicationRecord, reply: DocumentsReply | None = None) -> DocumentsReply:
    """Where the documents stand and the next thing to ask for (see the module docstring)."""
    reply = reply or DocumentsReply()
    if record.stage in CLOSED_STAGES:
        return reply.say(
            f"Your application {record.reference} is {record.stage}, so no documents are needed."
        )
    if not record.checklist:
        return reply.say(NO_CHECKLIST)
    missing = record.missing_items
    if missing:
        first = missing[0]
        return reply.say(f"{still_needed(missing)} {ask_for(first)}", prompt_for(record, first))
    if all(item.state == DocumentState.ACCEPTED.value for item in record.checklist):
        reply.continue_application = True
        return reply.say(DOCUMENTS_ACCEPTED if record.stage in BOOKED_STAGES else ALL_ACCEPTED)
    return reply.say(ALL_WITH_ADVISORS)


def latest_entry(record: ApplicationRecord, kinds: Iterable[str]) -> ApplicationEventRecord | None:
    """The newest timeline entry of one of these kinds."""
    wanted = frozenset(kinds)
    return next((entry for entry in reversed(record.events) if entry.kind in wanted), None)


def checklist_item(
    record: ApplicationRecord, entry: ApplicationEventRecord | None
) -> ChecklistItem | None:
    """The checklist item a timeline entry is about (its `detail.item`), if it is on the list."""
    key = entry.detail.get("item") if entry is not None else None
    return next((item for item in record.checklist if item.key == key), None)


def received(record: ApplicationRecord) -> DocumentsReply:
    """Thanks for the latest upload, then the next item."""
    upload = latest_entry(record, {ApplicationEventKind.DOCUMENT_UPLOADED.value})
    item = checklist_item(record, upload)
    reply = DocumentsReply()
    if item is not None:
        title = in_sentence(item.title)
        reply.say(f"Thanks, I've got your {title}. An advisor will check {pronoun(title)}.")
    return next_document(record, reply)


def reviewed(record: ApplicationRecord) -> DocumentsReply:
    """The advisor's latest verdict: a rejection asked for again with the reason (unless the
    customer already sent it again), an acceptance noted; then where things stand."""
    review = latest_entry(record, REVIEW_KINDS)
    item = checklist_item(record, review)
    if review is None or item is None:
        return next_document(record)
    reply = DocumentsReply()
    if review.kind == ApplicationEventKind.DOCUMENT_REJECTED.value:
        if item.state != DocumentState.REJECTED.value:
            return next_document(record)  # sent again since: nothing to ask for
        reason = item.rejection_reason or _text(review.detail.get("reason"))
        return reply.say(rejection_line(item, reason), prompt_for(record, item))
    if all(entry.state == DocumentState.ACCEPTED.value for entry in record.checklist):
        return next_document(record)
    reply.say(f"Good news: your {in_sentence(item.title)} {_is_or_are(item.title)} accepted.")
    if not record.missing_items:
        return reply
    return next_document(record, reply)


def _is_or_are(title: str) -> str:
    return "are" if pronoun(title) == "them" else "is"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


# --- Reading the record --------------------------------------------------------------------------


async def application_of(tracker: Tracker) -> ApplicationRecord | None:
    """The conversation's application as the desk holds it; None without one.

    Raises:
        DeskCallFailed: The desk could not be reached.
    """
    reference = tracker.get_slot(SLOT_APPLICATION_REFERENCE)
    if not reference:
        return None
    return await desk_client().get_application(str(reference))


async def documents_reply(
    tracker: Tracker, step: Callable[[ApplicationRecord], DocumentsReply]
) -> DocumentsReply:
    """`step(record)` for the conversation's application, or what to say without one."""
    try:
        record = await application_of(tracker)
    except DeskCallFailed as error:
        logger.warning(
            "Documents of %s: the desk could not be reached: %s", tracker.sender_id, error
        )
        return DocumentsReply().say(DESK_DOWN)
    if record is None:
        return DocumentsReply().say(NO_APPLICATION)
    return step(record)


# --- Continuing within a desk-executed turn ------------------------------------------------------


@lru_cache(maxsize=1)
def _served_actions() -> ActionExecutor:
    executor = ActionExecutor()
    executor.register_package("actions")
    return executor


async def run_now(
    name: str, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> list[EventType]:
    """Run another action of this server in the current turn; its events (none if there is no
    such action).

    An action the desk executes is the only one Rasa runs in that call, and the
    `action_listen` it logs clears any `FollowupAction`; so the next step runs here instead.
    """
    run = _served_actions().actions.get(name)
    if run is None:
        logger.error("No action %s is served: the application does not continue", name)
        return []
    events: list[EventType] = await run(dispatcher, tracker, domain)
    return events


# --- The actions ----------------------------------------------------------------------------------


class ActionAskNextDocument(Action):
    """The customer asks about the documents: what is still needed, then the next one."""

    def name(self) -> str:
        return ACTION_ASK_NEXT_DOCUMENT

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = await documents_reply(tracker, next_document)
        reply.send(dispatcher)
        if reply.continue_application:
            return [FollowupAction(ACTION_CONTINUE_APPLICATION)]
        return []


class DeskExecutedDocumentsAction(Action, ABC):
    """Executed by the desk: say `reply_for(record)`, continue the application if it is
    complete, and log the `action_listen` Rasa does not log after an executed action."""

    @abstractmethod
    def name(self) -> str:
        """The action's name (`contract.bot_actions`)."""

    @abstractmethod
    def reply_for(self, record: ApplicationRecord) -> DocumentsReply:
        """What to say for this record."""

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = await documents_reply(tracker, self.reply_for)
        reply.send(dispatcher)
        events: list[EventType] = []
        if reply.continue_application:
            events += await run_now(ACTION_CONTINUE_APPLICATION, dispatcher, tracker, domain)
        return [*events, LISTEN]


class ActionDocumentReceived(DeskExecutedDocumentsAction):
    """After a stored upload: thanks for it, then the next document."""

    def name(self) -> str:
        return ACTION_DOCUMENT_RECEIVED

    def reply_for(self, record: ApplicationRecord) -> DocumentsReply:
        """Thanks for the latest upload, then the next item."""
        return received(record)


class ActionDocumentReviewed(DeskExecutedDocumentsAction):
    """After an advisor's review: a rejection is asked for again, with the reason."""

    def name(self) -> str:
        return ACTION_DOCUMENT_REVIEWED

    def reply_for(self, record: ApplicationRecord) -> DocumentsReply:
        """The latest verdict and where the documents stand."""
        return reviewed(record)
