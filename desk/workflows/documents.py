"""Documents: the customer's upload from their chat, and an advisor's review.

Each runs as one change of the application (`change_application`, which publishes an
`application.event_recorded` per timeline entry), then lets the bot speak in the background:
`action_document_received` in the chat the file came from (thanks, and the next item), and
`action_document_reviewed` in the application's most recently linked chat (a rejection is asked
for again, with its reason). The bot is left out while a person has the chat (a handoff queued
or claimed): the advisor talks to the customer then, and the bot tells them when it has the
chat again. A failure to reach the bot is logged and never fails the upload or the review.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy.orm import Session

from contract.bot_actions import ACTION_DOCUMENT_RECEIVED, ACTION_DOCUMENT_REVIEWED
from contract.documents import DocumentRecord, DocumentReview
from desk.document_store import DocumentStore
from desk.events import MASK
from desk.rasa_client import RasaUnavailable
from desk.services import documents
from desk.services.agents import Actor
from desk.services.applications import ApplicationNotFoundError
from desk.services.errors import PermissionDenied
from desk.store.models import MortgageApplication
from desk.store.repositories import HandoffRepository
from desk.workflows.applications import change_application
from desk.workflows.context import Desk

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Done:
    """What a step did, and the chat the bot should speak in afterwards (None: nowhere)."""

    document: DocumentRecord
    tell_chat: str | None


class _RememberedKeys:
    """The store, remembering the keys written through it: if the unit of work fails to
    commit after the file was written, the workflow deletes the file again."""

    def __init__(self, store: DocumentStore) -> None:
        self._store = store
        self.written: list[str] = []

    def put(self, key: str, data: bytes) -> None:
        self._store.put(key, data)
        self.written.append(key)

    def get(self, key: str) -> bytes:
        return self._store.get(key)

    def delete(self, key: str) -> None:
        self._store.delete(key)

    def forget_all(self) -> None:
        for key in self.written:
            try:
                self._store.delete(key)
            except OSError:  # the caller's error is the one to report; this one is logged
                LOGGER.exception("could not delete the file %s of a failed upload", key)


async def upload_document(
    desk: Desk,
    store: DocumentStore,
    reference: str,
    *,
    sender_id: str,
    item: str,
    file_name: str | None,
    data: bytes,
) -> DocumentRecord:
    """Store a customer's file for a checklist item, sent from the chat `sender_id`; then
    `action_document_received` runs in that chat.

    Raises:
        PermissionDenied: The chat is not linked to the application, or there is no such
            application (the same answer).
        InvalidInput, Conflict: See `desk.services.documents.store_upload`; nothing is kept.
    """
    remembered = _RememberedKeys(store)

    def step(session: Session, application: MortgageApplication) -> _Done:
        record = documents.store_upload(
            session,
            application,
            item=item,
            file_name=file_name,
            data=data,
            sender_id=sender_id,
            store=remembered,
        )
        return _Done(record, sender_id if _with_the_bot(session, sender_id) else None)

    try:
        done, _ = await change_application(desk, reference, step)
    except ApplicationNotFoundError:
        raise PermissionDenied(documents.NOT_YOUR_APPLICATION) from None
    except Exception:
        # The commit failed after the file was written. Not on cancellation: the unit of work
        # goes on in its thread and may still commit, and a row must never lose its file.
        remembered.forget_all()
        raise
    _let_the_bot_speak(desk, done, ACTION_DOCUMENT_RECEIVED)
    return done.document


async def review_document(
    desk: Desk, actor: Actor, document_id: int, verdict: DocumentReview
) -> DocumentRecord:
    """Accept or reject a document; then `action_document_reviewed` runs in the
    application's most recently linked chat.

    Raises:
        NotFound: No such document, or the actor may not review it.
        Conflict: Already reviewed, replaced, or the application is not collecting documents.
    """
    reference = await desk.units(
        lambda session: documents.reference_of_document(session, actor, document_id)
    )

    def step(session: Session, application: MortgageApplication) -> _Done:
        record = documents.review(session, actor, document_id, verdict)
        latest = max(application.chats, key=lambda chat: chat.linked_at, default=None)
        chat = None if latest is None else latest.sender_id
        return _Done(record, chat if chat and _with_the_bot(session, chat) else None)

    done, _ = await change_application(desk, reference, step)
    _let_the_bot_speak(desk, done, ACTION_DOCUMENT_REVIEWED)
    return done.document


def _with_the_bot(session: Session, sender_id: str) -> bool:
    """Whether the bot has the chat (no handoff is waiting or with an agent)."""
    return HandoffRepository(session).open_for_sender(sender_id) is None


def _let_the_bot_speak(desk: Desk, done: _Done, action: str) -> None:
    """Run `action` in the chat in the background; a failure is logged (masked)."""
    sender_id = done.tell_chat
    if sender_id is None:
        return
    document = done.document

    async def execute() -> None:
        try:
            await desk.rasa.execute(sender_id, action)
        except RasaUnavailable as error:
            # The message names the conversation in its URL: the customer's id is masked.
            LOGGER.warning(
                "%s after document %s of %s failed (the chat is told later): %s",
                action,
                document.id,
                document.reference,
                error.message.replace(quote(sender_id, safe=""), MASK).replace(sender_id, MASK),
            )

    desk.tasks.spawn(execute(), name=f"{action} for document {document.id}")
