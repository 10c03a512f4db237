"""A mortgage application's documents: the customer's upload, the advisor's review, the file.

An upload is judged by its content, never by its name or the type its sender claims
(`inspect_upload`): only `ALLOWED_CONTENT_TYPES`, and only a file that reads as what it claims
to be (a PDF with its header and trailer, an image Pillow can verify). Each refusal is its own
`RefusedFile` with the HTTP status it is answered with and a message the customer can act on.

`store_upload` takes a file only from a chat linked to the application (`ApplicationChat`),
for an item on its checklist, while it collects documents; it writes the file to the
`DocumentStore` before adding the row and the timeline entry, and deletes it again if they
are not written, so a refused or failed upload leaves nothing behind.

`review` lets a case worker (`case_access`) accept a document, or reject it with a reason;
accepting the last missing item makes the application ready to sign.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
import uuid
from dataclasses import dataclass
from typing import ClassVar, Final

import filetype
from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from contract.applications import ActorKind, ApplicationEventKind, Touchpoint
from contract.documents import (
    ALLOWED_CONTENT_TYPES,
    MAX_DOCUMENT_BYTES,
    MAX_FILE_NAME_CHARS,
    DocumentRecord,
    DocumentReview,
    DocumentState,
    ReviewDecision,
)
from desk.document_store import DocumentStore
from desk.services import applications, case_access
from desk.services.agents import Actor
from desk.services.application_stages import documents_complete_stage, stage_after
from desk.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from desk.store.models import ApplicationDocument, MortgageApplication
from desk.store.types import utcnow

#: How an upload from the customer's web chat page is recorded.
UPLOADED_VIA_WEB_CHAT: Final = "web_chat"
#: The answer for a chat that may not send documents for an application (or a reference
#: that does not exist: the same answer, so a guessed reference tells nothing).
NOT_YOUR_APPLICATION: Final = "this chat cannot send documents for that application"
#: What a customer is told they may send.
ALLOWED_DESCRIPTION: Final = "a PDF, JPEG or PNG"
#: A PDF's trailer (`%%EOF`) is at its end; readers look for it in the last 1,024 bytes.
_PDF_TRAILER_WINDOW: Final = 1024
#: Pillow's limit on pixels: beyond it an image is a decompression bomb, not a document.
_MAX_IMAGE_PIXELS: Final = Image.MAX_IMAGE_PIXELS or 89_478_485
#: The name a file is given when its sender gave none.
_UNNAMED: Final = "document"
#: The longest extension kept when a long name is shortened.
_MAX_SUFFIX_CHARS: Final = 10
#: Characters that make a name a path, in any operating system.
_PATH_CHARACTERS: Final = frozenset("/\\")


class RefusedFile(InvalidInput):
    """An upload that is not taken; `status` is the HTTP status it is answered with."""

    status: ClassVar[int] = 422

    def __init__(self, message: str) -> None:
        """Refuse with one message the customer can act on."""
        super().__init__([message])


class EmptyFile(RefusedFile):
    """The file has no content."""


class FileTooLarge(RefusedFile):
    """The file is over `MAX_DOCUMENT_BYTES`."""

    status = 413


class FileTypeNotAllowed(RefusedFile):
    """The content is not one of `ALLOWED_CONTENT_TYPES` (whatever its name says)."""

    status = 415


class CorruptFile(RefusedFile):
    """The content starts like an allowed type but cannot be read as one."""


class BadFileName(RefusedFile):
    """The file name is a path, or holds characters no file name should."""


@dataclass(frozen=True)
class InspectedUpload:
    """An upload that passed `inspect_upload`: what it is, its fingerprint, its clean name."""

    file_name: str
    content_type: str
    extension: str
    size_bytes: int
    sha256: str


def too_large_message() -> str:
    """What a customer whose file is over the limit is told."""
    return f"the file is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB: send a smaller file"


def inspect_upload(file_name: str | None, data: bytes) -> InspectedUpload:
    """Check an upload's name and content.

    Raises:
        BadFileName: The name is a path or holds control characters (422).
        EmptyFile: No content (422).
        FileTooLarge: Over `MAX_DOCUMENT_BYTES` (413).
        FileTypeNotAllowed: The content is not a PDF, JPEG or PNG (415).
        CorruptFile: It starts like one but cannot be read as one (422).
    """
    name = clean_file_name(file_name)
    if not data:
        raise EmptyFile("the file is empty: choose the document again")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise FileTooLarge(too_large_message())
    content_type = detected_type(data)
    _check_integrity(content_type, data)
    extension = ALLOWED_CONTENT_TYPES[content_type]
    return InspectedUpload(
        file_name=name or f"{_UNNAMED}.{extension}",
        content_type=content_type,
        extension=extension,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def clean_file_name(file_name: str | None) -> str:
    """The name as it is kept and shown: NFC, trimmed, at most `MAX_FILE_NAME_CHARS` (its
    extension kept); "" when none was given.

    Raises:
        BadFileName: A path (`/`, `\\`, only dots such as `..`) or a control character (NUL,
            a newline, a right-to-left override that disguises the extension, a lone
            surrogate).
    """
    name = unicodedata.normalize("NFC", (file_name or "")).strip()
    if not name:
        return ""
    if (
        _PATH_CHARACTERS & set(name)
        or set(name) == {"."}
        or any(unicodedata.category(character).startswith("C") for character in name)
    ):
        raise BadFileName(
            "the file name must be a plain file name (no folders, no control characters): "
            "rename the file and send it again"
        )
    return _shortened(name)


def _shortened(name: str) -> str:
    if len(name) <= MAX_FILE_NAME_CHARS:
        return name
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem or len(suffix) > _MAX_SUFFIX_CHARS:
        return name[:MAX_FILE_NAME_CHARS]
    return stem[: MAX_FILE_NAME_CHARS - len(suffix) - 1] + "." + suffix


def detected_type(data: bytes) -> str:
    """The content's type, if it is allowed.

    Raises:
        FileTypeNotAllowed: The content is not of an allowed type (the message says what is).
    """
    kind = filetype.guess(data)
    mime = None if kind is None else str(kind.mime)
    if mime is not None and mime in ALLOWED_CONTENT_TYPES:
        return mime
    what = f"a file of type {mime}" if mime else f"not {ALLOWED_DESCRIPTION}"
    raise FileTypeNotAllowed(
        f"this is {what}, whatever its name says: only {ALLOWED_DESCRIPTION} is accepted "
        f"({', '.join(ALLOWED_CONTENT_TYPES)})"
    )


def _check_integrity(content_type: str, data: bytes) -> None:
    if content_type == "application/pdf":
        _check_pdf(data)
    else:
        _check_image(content_type, data)


def _check_pdf(data: bytes) -> None:
    tail = data[-_PDF_TRAILER_WINDOW:]
    if not data.startswith(b"%PDF-") or b"%%EOF" not in tail or b"startxref" not in tail:
        raise CorruptFile(_corrupt("PDF"))


def _check_image(content_type: str, data: bytes) -> None:
    what = ALLOWED_CONTENT_TYPES[content_type].upper()
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > _MAX_IMAGE_PIXELS:
                raise CorruptFile(f"the image has too many pixels to be a {what}: send a scan")
            # verify() checks a PNG's every chunk, but not that a JPEG's data is complete.
            image.verify()
        if content_type == "image/jpeg":
            with Image.open(io.BytesIO(data)) as image:
                # Decoding at 1/8 scale reads every block for a fraction of the memory.
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
                image.load()
    except CorruptFile:
        raise
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError):
        # Pillow reports a damaged image with any of these.
        raise CorruptFile(_corrupt(what)) from None


def _corrupt(what: str) -> str:
    return f"the file looks like a {what} but is damaged and cannot be opened: send it again"


def storage_key(reference: str, extension: str) -> str:
    """A new key for a document of `reference` (never the customer's file name)."""
    return f"applications/{reference}/{uuid.uuid4()}.{extension}"


def store_upload(
    session: Session,
    application: MortgageApplication,
    *,
    item: str,
    file_name: str | None,
    data: bytes,
    sender_id: str,
    store: DocumentStore,
) -> DocumentRecord:
    """Take a customer's file for a checklist item, sent from their chat.

    The file is stored first; the row and the `document_uploaded` entry are added after it,
    and the file is deleted again if they fail (the caller deletes it if the commit fails).

    Raises:
        PermissionDenied: The chat is not linked to the application (403).
        InvalidInput: The item is not on the application's checklist (422), or a
            `RefusedFile` (see `inspect_upload`).
        Conflict: The application is not collecting documents (409).
        OSError: The store could not take the file (nothing is written).
    """
    if not applications.is_linked(application, sender_id):
        raise PermissionDenied(NOT_YOUR_APPLICATION)
    if item not in {requirement.key for requirement in application.checklist}:
        raise InvalidInput([f"{item[:64]!r} is not on the checklist of {application.reference}"])
    # Checked before the file is written: a refused upload writes nothing at all.
    stage_after(application.stage, ApplicationEventKind.DOCUMENT_UPLOADED)
    upload = inspect_upload(file_name, data)
    key = storage_key(application.reference, upload.extension)
    store.put(key, data)
    try:
        document = _add_document(session, application, item, upload, key, sender_id)
    except BaseException:
        store.delete(key)
        raise
    return document_record(document)


def _add_document(
    session: Session,
    application: MortgageApplication,
    item: str,
    upload: InspectedUpload,
    key: str,
    sender_id: str,
) -> ApplicationDocument:
    document = ApplicationDocument(
        item_key=item,
        file_name=upload.file_name,
        content_type=upload.content_type,
        size_bytes=upload.size_bytes,
        sha256=upload.sha256,
        storage_key=key,
        state=DocumentState.UPLOADED.value,
        uploaded_at=utcnow(),
        uploaded_via=UPLOADED_VIA_WEB_CHAT,
        sender_id=sender_id,
    )
    application.documents.append(document)
    session.flush()  # the document's id, for the timeline entry
    applications.append_entry(
        application,
        ApplicationEventKind.DOCUMENT_UPLOADED,
        touchpoint=Touchpoint.WEB_CHAT,
        actor_kind=ActorKind.CUSTOMER,
        detail={
            "item": item,
            "document_id": document.id,
            "content_type": upload.content_type,
            "size_bytes": upload.size_bytes,
        },
    )
    session.flush()
    return document


def review(
    session: Session, actor: Actor, document_id: int, verdict: DocumentReview
) -> DocumentRecord:
    """Accept a document, or reject it with the reason the customer reads.

    Accepting the last checklist item not yet accepted makes the application ready to sign.

    Raises:
        NotFound: No such document, or the actor may not work on its application (404).
        Conflict: It was already reviewed, a newer upload of its item replaced it, or the
            application is not collecting documents (409).
    """
    case_access.ensure_case_worker(actor)
    document = document_for(session, actor, document_id)
    application = document.application
    if document.state != DocumentState.UPLOADED.value:
        raise Conflict(f"document {document_id} was already {document.state}")
    if applications.latest_documents(application)[document.item_key] is not document:
        raise Conflict(f"a newer upload replaced document {document_id}: review that one")
    document.reviewed_at = utcnow()
    document.reviewed_by = actor.display_name
    detail: dict[str, object] = {"item": document.item_key, "document_id": document.id}
    if verdict.decision is ReviewDecision.ACCEPT:
        document.state = DocumentState.ACCEPTED.value
        kind = ApplicationEventKind.DOCUMENT_ACCEPTED
        complete = all_accepted(application)
        stage = documents_complete_stage(application.stage) if complete else None
    else:
        document.state = DocumentState.REJECTED.value
        document.rejection_reason = verdict.reason
        kind = ApplicationEventKind.DOCUMENT_REJECTED
        detail["reason"] = verdict.reason
        stage = None
    applications.append_entry(
        application,
        kind,
        touchpoint=Touchpoint.DESK,
        actor_kind=ActorKind.AGENT,
        actor=actor.display_name,
        detail=detail,
        stage=stage,
    )
    session.flush()
    return document_record(document)


def all_accepted(application: MortgageApplication) -> bool:
    """Whether every item on the application's checklist has an accepted document."""
    latest = applications.latest_documents(application)
    return bool(application.checklist) and all(
        requirement.key in latest and latest[requirement.key].state == DocumentState.ACCEPTED.value
        for requirement in application.checklist
    )


def document_for(session: Session, actor: Actor, document_id: int) -> ApplicationDocument:
    """The document, for a desk user who may see its application.

    Raises:
        NotFound: No such document, or the actor may not see its application (the same
            answer, so an id tells nothing).
    """
    document = session.get(ApplicationDocument, document_id)
    if document is None or not case_access.may_see(actor, document.application):
        raise NotFound(f"no document {document_id}")
    return document


def reference_of_document(session: Session, actor: Actor, document_id: int) -> str:
    """The reference of the document's application, for a case worker who may review it.

    Raises:
        NotFound: No such document, or the actor does not work on applications.
    """
    case_access.ensure_case_worker(actor)
    return document_for(session, actor, document_id).application.reference


def documents_of(application: MortgageApplication) -> list[DocumentRecord]:
    """Every upload of the application, oldest first like its timeline (for the case views)."""
    return [document_record(document) for document in application.documents]


def document_record(document: ApplicationDocument) -> DocumentRecord:
    """A document as the contract shows it."""
    return DocumentRecord(
        id=document.id,
        reference=document.application.reference,
        item=document.item_key,
        file_name=document.file_name,
        content_type=document.content_type,
        size_bytes=document.size_bytes,
        sha256=document.sha256,
        state=document.state,
        uploaded_at=document.uploaded_at,
        uploaded_via=document.uploaded_via,
        reviewed_at=document.reviewed_at,
        reviewed_by=document.reviewed_by,
        rejection_reason=document.rejection_reason,
    )
