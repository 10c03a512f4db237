"""Documents at the desk (`desk.services.documents`): every bad file refused with its own
message and nothing kept, a good one stored with its fingerprint, the review, who may see."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from contract.applications import ActorKind, ApplicationEventKind, Touchpoint
from contract.documents import (
    MAX_DOCUMENT_BYTES,
    MAX_FILE_NAME_CHARS,
    DocumentRecord,
    DocumentReview,
    ReviewDecision,
)
from desk.document_store import LocalDiskStore
from desk.services import applications, documents
from desk.services.agents import Actor, create_agent
from desk.services.documents import (
    BadFileName,
    CorruptFile,
    EmptyFile,
    FileTooLarge,
    FileTypeNotAllowed,
    RefusedFile,
)
from desk.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from desk.store.database import Database
from desk.store.models import AgentRole, BranchAppointment
from desk.store.types import utcnow
from tests.desk.conftest import PASSWORD
from tests.support.documents import (
    CHAT_ID,
    EXE_BYTES,
    HTML_BYTES,
    ITEMS,
    OTHER_CHAT_ID,
    collecting_application,
    jpeg_bytes,
    minimal_pdf,
    png_bytes,
)

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")

ACCEPT = DocumentReview(decision=ReviewDecision.ACCEPT)
BRANCH = "leeds_park_row"


@pytest.fixture
def store(tmp_path: Path) -> LocalDiskStore:
    return LocalDiskStore(tmp_path / "documents")


@pytest.fixture
def reference(database: Database) -> str:
    with database.session(write=True) as session:
        return collecting_application(session)


@pytest.fixture
def people(database: Database) -> dict[str, Actor]:
    """An advisor, an order-support agent, a supervisor and two branches' staff."""
    made = {
        "maya": (AgentRole.AGENT, ("mortgage_advisors",), None),
        "olivia": (AgentRole.AGENT, ("order_support",), None),
        "sam": (AgentRole.SUPERVISOR, (), None),
        "bella": (AgentRole.BRANCH_STAFF, (), BRANCH),
        "mo": (AgentRole.BRANCH_STAFF, (), "manchester_king_street"),
    }
    with database.session(write=True) as session:
        return {
            name: Actor.of(
                create_agent(
                    session,
                    username=name,
                    display_name=name.title(),
                    password=PASSWORD,
                    role=role,
                    queues=queues,
                    branch=branch,
                )
            )
            for name, (role, queues, branch) in made.items()
        }


def upload(
    database: Database,
    store: Any,
    reference: str,
    data: bytes,
    *,
    file_name: str | None = "payslip.pdf",
    item: str = "payslips",
    sender_id: str = CHAT_ID,
) -> DocumentRecord:
    with database.session(write=True) as session:
        application = applications.load(session, reference)
        return documents.store_upload(
            session,
            application,
            item=item,
            file_name=file_name,
            data=data,
            sender_id=sender_id,
            store=store,
        )


def review(
    database: Database, actor: Actor, document_id: int, verdict: DocumentReview = ACCEPT
) -> DocumentRecord:
    with database.session(write=True) as session:
        return documents.review(session, actor, document_id, verdict)


def stored_files(store: LocalDiskStore) -> list[Path]:
    return sorted(p for p in store.root.rglob("*") if p.is_file()) if store.root.exists() else []


def snapshot(database: Database, reference: str) -> tuple[str, int, list[str]]:
    with database.session() as session:
        application = applications.load(session, reference)
        kinds = [event.kind for event in application.events]
        return application.stage, len(application.documents), kinds


@pytest.fixture
def nothing_kept(database: Database, store: LocalDiskStore, reference: str) -> Iterator[None]:
    """After the test: no document row, no file, no timeline entry more than before."""
    before = snapshot(database, reference)
    yield
    assert snapshot(database, reference) == before
    assert stored_files(store) == []


# --- A good upload ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "data", "content_type", "extension"),
    [
        ("payslip.pdf", minimal_pdf(), "application/pdf", "pdf"),
        ("scan.png", png_bytes(), "image/png", "png"),
        ("photo.jpeg", jpeg_bytes(), "image/jpeg", "jpg"),
    ],
)
def test_a_good_file_is_stored_with_its_hash_size_and_detected_type(
    database: Database,
    store: LocalDiskStore,
    reference: str,
    file_name: str,
    data: bytes,
    content_type: str,
    extension: str,
) -> None:
    record = upload(database, store, reference, data, file_name=file_name)

    assert (record.reference, record.item, record.file_name) == (reference, "payslips", file_name)
    assert (record.content_type, record.size_bytes) == (content_type, len(data))
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert (record.state, record.uploaded_via, record.reviewed_at) == ("uploaded", "web_chat", None)
    (path,) = stored_files(store)
    assert path.read_bytes() == data
    key = path.relative_to(store.root).as_posix()
    assert re.fullmatch(rf"applications/{reference}/[0-9a-f-]{{36}}\.{extension}", key)
    with database.session() as session:
        application = applications.load(session, reference)
        (row,) = application.documents
        assert (row.storage_key, row.sender_id) == (key, CHAT_ID)
        entry = application.events[-1]
        assert (entry.kind, entry.touchpoint, entry.actor_kind) == (
            "document_uploaded",
            "web_chat",
            "customer",
        )
        assert entry.detail == {
            "item": "payslips",
            "document_id": record.id,
            "content_type": content_type,
            "size_bytes": len(data),
        }
        assert application.stage == "documents"


def test_a_file_named_for_another_type_is_stored_as_what_it_is(
    database: Database, store: LocalDiskStore, reference: str
) -> None:
    record = upload(database, store, reference, png_bytes(), file_name="payslip.pdf")

    assert record.content_type == "image/png"
    (path,) = stored_files(store)
    assert path.suffix == ".png"


def test_a_file_without_a_name_is_named_for_its_type(
    database: Database, store: LocalDiskStore, reference: str
) -> None:
    assert upload(database, store, reference, minimal_pdf(), file_name=None).file_name == (
        "document.pdf"
    )


def test_an_over_long_name_is_shortened_keeping_its_extension(
    database: Database, store: LocalDiskStore, reference: str
) -> None:
    record = upload(database, store, reference, minimal_pdf(), file_name="p" * 300 + ".pdf")

    assert len(record.file_name) == MAX_FILE_NAME_CHARS
    assert record.file_name.endswith("p.pdf")


def test_a_name_with_markup_is_kept_as_text_and_never_used_for_the_file(
    database: Database, store: LocalDiskStore, reference: str
) -> None:
    name = "<img src=x onerror=alert(1)>'; DROP TABLE x;--.pdf"

    record = upload(database, store, reference, minimal_pdf(), file_name=name)

    assert record.file_name == name
    (path,) = stored_files(store)
    assert "img" not in path.name and "DROP" not in path.name


# --- Bad files: a clear message, and nothing kept ---------------------------------------------

CORRUPT_PDF = minimal_pdf()[:200]  # cut off: no cross-reference table, no %%EOF
CORRUPT_PNG = png_bytes()[:-12]  # its last chunk cut off
CORRUPT_JPEG = jpeg_bytes()[:-40]  # the end of its image data cut off


@pytest.mark.usefixtures("nothing_kept")
@pytest.mark.parametrize(
    ("file_name", "data", "refusal", "status", "message"),
    [
        ("payslip.pdf", b"", EmptyFile, 422, "the file is empty"),
        (
            "big.pdf",
            b"%PDF-1.4\n" + b"0" * MAX_DOCUMENT_BYTES,
            FileTooLarge,
            413,
            "larger than 10 MB",
        ),
        ("payslip.pdf", EXE_BYTES, FileTypeNotAllowed, 415, "application/x-msdownload"),
        ("scan.png", HTML_BYTES, FileTypeNotAllowed, 415, "not a PDF, JPEG or PNG"),
        ("payslip.pdf", CORRUPT_PDF, CorruptFile, 422, "looks like a PDF but is damaged"),
        ("scan.png", CORRUPT_PNG, CorruptFile, 422, "looks like a PNG but is damaged"),
        ("photo.jpg", CORRUPT_JPEG, CorruptFile, 422, "looks like a JPG but is damaged"),
        ("../../etc/passwd.pdf", minimal_pdf(), BadFileName, 422, "must be a plain file name"),
        ("/etc/payslip.pdf", minimal_pdf(), BadFileName, 422, "must be a plain file name"),
        ("..\\..\\payslip.pdf", minimal_pdf(), BadFileName, 422, "must be a plain file name"),
        ("payslip.pdf\x00.png", minimal_pdf(), BadFileName, 422, "must be a plain file name"),
        ("pay\nslip.pdf", minimal_pdf(), BadFileName, 422, "must be a plain file name"),
        ("payslip\u202efdp.exe", minimal_pdf(), BadFileName, 422, "must be a plain file name"),
        ("..", minimal_pdf(), BadFileName, 422, "must be a plain file name"),
        ("...", minimal_pdf(), BadFileName, 422, "must be a plain file name"),
    ],
)
def test_a_bad_file_is_refused_with_a_message_the_customer_can_act_on(
    database: Database,
    store: LocalDiskStore,
    reference: str,
    file_name: str,
    data: bytes,
    refusal: type[RefusedFile],
    status: int,
    message: str,
) -> None:
    with pytest.raises(refusal, match=re.escape(message)) as refused:
        upload(database, store, reference, data, file_name=file_name)

    assert refused.value.status == status


def test_the_type_message_names_what_is_allowed() -> None:
    with pytest.raises(FileTypeNotAllowed) as refused:
        documents.inspect_upload("scan.png", HTML_BYTES)

    for allowed in ("application/pdf", "image/jpeg", "image/png"):
        assert allowed in refused.value.message


@pytest.mark.usefixtures("nothing_kept")
def test_an_upload_for_someone_elses_application_is_refused(
    database: Database, store: LocalDiskStore, reference: str
) -> None:
    with pytest.raises(PermissionDenied, match=documents.NOT_YOUR_APPLICATION):
        upload(database, store, reference, minimal_pdf(), sender_id=OTHER_CHAT_ID)


@pytest.mark.usefixtures("nothing_kept")
def test_an_item_not_on_the_checklist_is_refused(
    database: Database, store: LocalDiskStore, reference: str
) -> None:
    with pytest.raises(InvalidInput, match="'passport' is not on the checklist"):
        upload(database, store, reference, minimal_pdf(), item="passport")


def test_no_file_is_taken_while_the_application_is_not_collecting_documents(
    database: Database, store: LocalDiskStore
) -> None:
    with database.session(write=True) as session:
        reference = collecting_application(session)
        applications.append_entry(
            applications.load(session, reference),
            ApplicationEventKind.WITHDRAWN,
            touchpoint=Touchpoint.PHONE,
            actor_kind=ActorKind.CUSTOMER,
        )
    before = snapshot(database, reference)

    with pytest.raises(Conflict, match="cannot take a document while the application is at"):
        upload(database, store, reference, minimal_pdf())

    assert snapshot(database, reference) == before
    assert stored_files(store) == []


class BrokenStore:
    """A store whose disk is full."""

    def put(self, key: str, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    def get(self, key: str) -> bytes:
        raise AssertionError("not read")

    def delete(self, key: str) -> None:
        raise AssertionError("nothing to delete")


@pytest.mark.usefixtures("nothing_kept")
def test_when_the_store_fails_nothing_is_written_to_the_database(
    database: Database, reference: str
) -> None:
    with pytest.raises(OSError, match="No space left"):
        upload(database, BrokenStore(), reference, minimal_pdf())


@pytest.mark.usefixtures("nothing_kept")
def test_when_the_database_step_fails_the_stored_file_is_deleted(
    database: Database, store: LocalDiskStore, reference: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_entry(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(applications, "append_entry", failing_entry)

    with pytest.raises(RuntimeError, match="went away"):
        upload(database, store, reference, minimal_pdf())


# --- The review -------------------------------------------------------------------------------


def test_accepting_a_document_records_who_and_keeps_collecting_the_others(
    database: Database, store: LocalDiskStore, reference: str, people: dict[str, Actor]
) -> None:
    document_id = upload(database, store, reference, minimal_pdf()).id

    record = review(database, people["maya"], document_id)

    assert (record.state, record.reviewed_by, record.rejection_reason) == ("accepted", "Maya", None)
    assert record.reviewed_at is not None
    with database.session() as session:
        application = applications.load(session, reference)
        entry = application.events[-1]
        assert (entry.kind, entry.touchpoint, entry.actor_kind, entry.actor) == (
            "document_accepted",
            "desk",
            "agent",
            "Maya",
        )
        assert entry.detail == {"item": "payslips", "document_id": document_id}
        assert application.stage == "documents"


def test_accepting_the_last_item_makes_the_application_ready_to_sign(
    database: Database, store: LocalDiskStore, reference: str, people: dict[str, Actor]
) -> None:
    first, last = (upload(database, store, reference, minimal_pdf(), item=i).id for i in ITEMS)
    review(database, people["maya"], first)

    review(database, people["sam"], last)

    stage, _, kinds = snapshot(database, reference)
    assert stage == "ready_to_sign"
    assert kinds[-2:] == ["document_accepted", "document_accepted"]


def test_rejecting_a_document_keeps_the_reason_for_the_customer(
    database: Database, store: LocalDiskStore, reference: str, people: dict[str, Actor]
) -> None:
    document_id = upload(database, store, reference, minimal_pdf()).id
    reason = "The payslip is from 2019: please send the last 3 months."

    record = review(
        database,
        people["maya"],
        document_id,
        DocumentReview(decision=ReviewDecision.REJECT, reason=reason),
    )

    assert (record.state, record.rejection_reason) == ("rejected", reason)
    with database.session() as session:
        application = applications.load(session, reference)
        entry = application.events[-1]
        assert (entry.kind, entry.actor) == ("document_rejected", "Maya")
        assert entry.detail == {"item": "payslips", "document_id": document_id, "reason": reason}
        assert application.stage == "documents"
        (item,) = [i for i in applications.checklist_of(application) if i.key == "payslips"]
        assert (item.state, item.rejection_reason, item.needs_upload) == ("rejected", reason, True)


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_rejection_needs_a_reason(reason: str | None) -> None:
    with pytest.raises(ValidationError, match="a rejection needs a reason"):
        DocumentReview(decision=ReviewDecision.REJECT, reason=reason)


def test_a_document_is_reviewed_once(
    database: Database, store: LocalDiskStore, reference: str, people: dict[str, Actor]
) -> None:
    document_id = upload(database, store, reference, minimal_pdf()).id
    review(database, people["maya"], document_id)
    before = snapshot(database, reference)

    with pytest.raises(Conflict, match=f"document {document_id} was already accepted"):
        review(
            database,
            people["sam"],
            document_id,
            DocumentReview(decision=ReviewDecision.REJECT, reason="No"),
        )

    assert snapshot(database, reference) == before


def test_an_upload_replaced_by_a_newer_one_is_not_reviewed(
    database: Database, store: LocalDiskStore, reference: str, people: dict[str, Actor]
) -> None:
    older = upload(database, store, reference, minimal_pdf("old")).id
    upload(database, store, reference, minimal_pdf("new"))

    with pytest.raises(Conflict, match="a newer upload replaced"):
        review(database, people["maya"], older)


@pytest.mark.parametrize("who", ["olivia", "bella"])
def test_only_case_workers_review(
    database: Database,
    store: LocalDiskStore,
    reference: str,
    people: dict[str, Actor],
    who: str,
) -> None:
    document_id = upload(database, store, reference, minimal_pdf()).id
    book_appointment(database, reference, BRANCH)
    before = snapshot(database, reference)

    with pytest.raises(NotFound):
        review(database, people[who], document_id)

    assert snapshot(database, reference) == before


def test_an_unknown_document_is_not_found(database: Database, people: dict[str, Actor]) -> None:
    with pytest.raises(NotFound, match="no document 999"):
        review(database, people["maya"], 999)


# --- Who may read a document ------------------------------------------------------------------


def book_appointment(database: Database, reference: str, branch: str) -> None:
    with database.session(write=True) as session:
        application = applications.load(session, reference)
        starts = utcnow() + timedelta(days=2)
        application.appointments.append(
            BranchAppointment(
                branch=branch,
                desk=1,
                starts_at=starts,
                ends_at=starts + timedelta(minutes=45),
                state="booked",
                booked_at=utcnow(),
            )
        )


def read_as(database: Database, actor: Actor, document_id: int) -> tuple[int, str]:
    with database.session() as session:
        document = documents.document_for(session, actor, document_id)
        return document.id, document.sha256


def test_advisors_and_supervisors_may_read_a_document(
    database: Database, store: LocalDiskStore, reference: str, people: dict[str, Actor]
) -> None:
    record = upload(database, store, reference, minimal_pdf())

    for who in ("maya", "sam"):
        assert read_as(database, people[who], record.id) == (record.id, record.sha256)


def test_other_agents_and_branch_staff_without_an_appointment_get_not_found(
    database: Database, store: LocalDiskStore, reference: str, people: dict[str, Actor]
) -> None:
    document_id = upload(database, store, reference, minimal_pdf()).id

    for who in ("olivia", "bella"):
        with pytest.raises(NotFound, match=f"no document {document_id}"):
            read_as(database, people[who], document_id)


def test_branch_staff_read_the_documents_of_an_appointment_at_their_branch_only(
    database: Database, store: LocalDiskStore, reference: str, people: dict[str, Actor]
) -> None:
    document_id = upload(database, store, reference, minimal_pdf()).id
    book_appointment(database, reference, BRANCH)

    assert read_as(database, people["bella"], document_id)[0] == document_id
    with pytest.raises(NotFound):
        read_as(database, people["mo"], document_id)


def test_documents_of_lists_every_upload_oldest_first(
    database: Database, store: LocalDiskStore, reference: str
) -> None:
    ids = [upload(database, store, reference, minimal_pdf(), item=i).id for i in ITEMS]

    with database.session() as session:
        listed = documents.documents_of(applications.load(session, reference))

    assert [record.id for record in listed] == ids
    assert [record.item for record in listed] == list(ITEMS)
