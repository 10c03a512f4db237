"""The document workflows (`desk.workflows.documents`): one change of the application, its
timeline entry published, then the bot's action in the right chat, in the background."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
from sqlalchemy.orm import Session

from contract.documents import DocumentReview, ReviewDecision
from desk.background import BackgroundTasks
from desk.bus import InProcessBus
from desk.customer_link import CustomerLink
from desk.document_store import LocalDiskStore
from desk.events import EVENT_TYPES, DeskEvent
from desk.rasa_client import RasaClient, RasaUnavailable
from desk.services import applications
from desk.services.agents import Actor, create_agent
from desk.services.conversations import SeenMessages
from desk.services.errors import NotFound, PermissionDenied
from desk.services.handoffs import Resolution
from desk.store.database import Database, UnitRunner
from desk.store.models import AgentRole
from desk.workflows.context import Desk
from desk.workflows.documents import review_document, upload_document
from tests.desk.conftest import PASSWORD
from tests.support.documents import CHAT_ID, OTHER_CHAT_ID, collecting_application, minimal_pdf

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")

T = TypeVar("T")


class FakeRasa:
    """Records the actions the desk runs; `down` makes every call fail as Rasa's would."""

    def __init__(self) -> None:
        self.executed: list[tuple[str, str]] = []
        self.down = False

    async def execute(self, sender_id: str, action: str) -> dict[str, Any]:
        if self.down:
            raise RasaUnavailable(
                f"Rasa could not be reached when executing {action} "
                f"(POST http://rasa/conversations/{sender_id}/execute)"
            )
        self.executed.append((sender_id, action))
        return {}


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
def store(tmp_path: Path) -> LocalDiskStore:
    return LocalDiskStore(tmp_path / "documents")


@pytest.fixture
async def desk(database: Database, rasa: FakeRasa) -> AsyncIterator[Desk]:
    with ThreadPoolExecutor(max_workers=2) as executor:
        client = cast(RasaClient, rasa)
        tasks = BackgroundTasks()
        yield Desk(
            units=UnitRunner(database, executor),
            bus=InProcessBus(),
            rasa=client,
            hand_back=_no_hand_back,
            customer=CustomerLink(client, average_handle_seconds=60.0),
            tasks=tasks,
            seen=SeenMessages(),
        )
        await tasks.close()


async def _no_hand_back(resolution: Resolution) -> bool:
    raise AssertionError("nothing is handed back here")


@pytest.fixture
def reference(database: Database) -> str:
    with database.session(write=True) as session:
        return collecting_application(session)


@pytest.fixture
def advisor(database: Database) -> Actor:
    with database.session(write=True) as session:
        agent = create_agent(
            session,
            username="maya",
            display_name="Maya",
            password=PASSWORD,
            queues=("mortgage_advisors",),
        )
        return Actor.of(agent)


def record(desk: Desk) -> list[DeskEvent]:
    published: list[DeskEvent] = []

    async def keep(event: DeskEvent) -> None:
        published.append(event)

    for event_type in EVENT_TYPES.values():
        desk.bus.subscribe(event_type, keep)
    return published


def in_session(database: Database, work: Callable[[Session], T]) -> T:
    with database.session() as session:
        return work(session)


def document_count(database: Database, reference: str) -> int:
    return in_session(database, lambda s: len(applications.load(s, reference).documents))


def files(store: LocalDiskStore) -> list[Path]:
    return [p for p in store.root.rglob("*") if p.is_file()] if store.root.exists() else []


async def upload(desk: Desk, store: LocalDiskStore, reference: str, **changes: Any) -> Any:
    arguments: dict[str, Any] = {
        "sender_id": CHAT_ID,
        "item": "payslips",
        "file_name": "payslip.pdf",
        "data": minimal_pdf(),
    }
    arguments.update(changes)
    return await upload_document(desk, store, reference, **arguments)


async def test_an_upload_is_published_and_the_bot_thanks_the_chat_it_came_from(
    desk: Desk, store: LocalDiskStore, reference: str, rasa: FakeRasa
) -> None:
    published = record(desk)

    document = await upload(desk, store, reference)
    await desk.tasks.settle()

    assert [event.payload()["kind"] for event in published] == ["document_uploaded"]
    assert published[0].payload()["reference"] == reference
    assert rasa.executed == [(CHAT_ID, "action_document_received")]
    assert [path.suffix for path in files(store)] == [".pdf"]
    assert document.state == "uploaded"


@pytest.mark.parametrize("typed", ["MTG-00000", "not a reference"])
async def test_an_unknown_reference_gets_the_same_answer_as_someone_elses(
    desk: Desk, store: LocalDiskStore, rasa: FakeRasa, typed: str
) -> None:
    published = record(desk)

    with pytest.raises(PermissionDenied, match="this chat cannot send documents"):
        await upload(desk, store, typed)
    await desk.tasks.settle()

    assert (published, rasa.executed, files(store)) == ([], [], [])


async def test_a_refused_upload_publishes_nothing_and_the_bot_says_nothing(
    desk: Desk, store: LocalDiskStore, reference: str, rasa: FakeRasa
) -> None:
    published = record(desk)

    with pytest.raises(PermissionDenied):
        await upload(desk, store, reference, sender_id=OTHER_CHAT_ID)
    await desk.tasks.settle()

    assert (published, rasa.executed, files(store)) == ([], [], [])


async def test_a_failed_commit_deletes_the_file_already_written(
    desk: Desk, database: Database, store: LocalDiskStore, reference: str, rasa: FakeRasa
) -> None:
    async def commit_fails(work: Callable[[Session], Any], *, write: bool = False) -> Any:
        with database.session(write=write) as session:
            work(session)
            raise OSError("the database connection dropped at commit")

    failing = dataclasses.replace(desk, units=cast(UnitRunner, commit_fails))

    with pytest.raises(OSError, match="dropped at commit"):
        await upload(failing, store, reference)

    assert files(store) == []
    assert document_count(database, reference) == 0
    assert rasa.executed == []


async def test_when_the_bot_cannot_be_reached_the_upload_stands_and_the_chat_is_masked(
    desk: Desk,
    database: Database,
    store: LocalDiskStore,
    reference: str,
    rasa: FakeRasa,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rasa.down = True

    with caplog.at_level(logging.WARNING, logger="desk.workflows.documents"):
        document = await upload(desk, store, reference)
        await desk.tasks.settle()

    assert document_count(database, reference) == 1
    assert document.id is not None
    (line,) = [r.getMessage() for r in caplog.records if r.name == "desk.workflows.documents"]
    assert "action_document_received" in line and reference in line
    assert CHAT_ID not in line


async def test_a_review_is_told_in_the_most_recently_linked_chat(
    desk: Desk,
    database: Database,
    store: LocalDiskStore,
    reference: str,
    advisor: Actor,
    rasa: FakeRasa,
) -> None:
    document = await upload(desk, store, reference)
    with database.session(write=True) as session:
        application = applications.load(session, reference)
        applications.link_chat(application, OTHER_CHAT_ID, applications.LINKED_BY_VERIFICATION)
    await desk.tasks.settle()
    published = record(desk)

    reviewed = await review_document(
        desk, advisor, document.id, DocumentReview(decision=ReviewDecision.REJECT, reason="Blurred")
    )
    await desk.tasks.settle()

    assert (reviewed.state, reviewed.rejection_reason) == ("rejected", "Blurred")
    assert [event.payload()["kind"] for event in published] == ["document_rejected"]
    assert rasa.executed[-1] == (OTHER_CHAT_ID, "action_document_reviewed")


async def test_a_review_by_someone_who_may_not_is_not_found_and_nothing_is_said(
    desk: Desk, database: Database, store: LocalDiskStore, reference: str, rasa: FakeRasa
) -> None:
    document = await upload(desk, store, reference)
    await desk.tasks.settle()
    with database.session(write=True) as session:
        olivia = Actor.of(
            create_agent(
                session,
                username="olivia",
                display_name="Olivia",
                password=PASSWORD,
                role=AgentRole.AGENT,
                queues=("order_support",),
            )
        )
    published = record(desk)

    with pytest.raises(NotFound):
        await review_document(
            desk, olivia, document.id, DocumentReview(decision=ReviewDecision.ACCEPT)
        )
    await desk.tasks.settle()

    assert published == []
    assert rasa.executed == [(CHAT_ID, "action_document_received")]
