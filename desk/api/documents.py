"""Routes of documents (`contract.documents`): the customer's upload, and reading and
reviewing a document at the desk.

- `POST /chat/uploads` (public: the customer's web chat page, same-origin like every browser
  POST; the credential is the chat's token in the `X-Chat-Token` header, as for
  /chat/history, checked before the body is read: 401 without one that opens a chat, and
  nothing is read or stored; the chat id alone, which logs carry, is no credential): a
  `multipart/form-data` form with `reference`, `item`, `file` and optionally `session_id`
  (older pages send it: it must then be the chat the token opens, else 403), read as a
  stream and never buffered beyond `MAX_DOCUMENT_BYTES`. 201 with the `DocumentRecord`; 400 a
  bad session id or a form that cannot be read; 413 too large; 415 not a multipart form, or a
  file that is not a PDF, JPEG or PNG; 422 empty, corrupt, a name with path tricks, an item
  not on the checklist; 403 a chat not linked to the application (or no such application);
  409 an application not collecting documents.
- `GET /api/documents/{id}/content` (desk user who may see the application): the file with
  its detected type, inline (`?download=1`: as an attachment), sandboxed and never cached.
- `POST /api/documents/{id}/review` (desk user who works applications), body
  `DocumentReview`: 200 with the `DocumentRecord`; 409 when already reviewed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage
from sqlalchemy.orm import Session

from contract.documents import (
    CHAT_UPLOADS_PATH,
    MAX_DOCUMENT_BYTES,
    DocumentReview,
    document_content_path,
    document_review_path,
)
from desk.api.middleware import json_error, public
from desk.api.pages import SESSION_ID, chat_of_token
from desk.api.runtime import DESK, BadRequest, actor_of, in_unit, parse, respond
from desk.document_store import DocumentStore, StoredFileMissing
from desk.services import documents
from desk.services.documents import FileTooLarge, RefusedFile, too_large_message
from desk.services.errors import InvalidInput, NotFound, PermissionDenied
from desk.workflows.documents import review_document, upload_document

LOGGER = logging.getLogger(__name__)

#: The documents' store of the application (`desk.app.create_app` builds it).
DOCUMENT_STORE: Final = web.AppKey("document_store", DocumentStore)

#: The form's text fields (`session_id` optional: the token names the chat), and the file's.
TEXT_FIELDS: Final = ("session_id", "reference", "item")
REQUIRED_FIELDS: Final = ("reference", "item")
FILE_FIELD: Final = "file"
#: The longest text field (a session id is 32 characters, an item key 64).
MAX_FIELD_BYTES: Final = 256
#: Room for the text fields and the multipart framing around the largest file: a body
#: declared larger than the file limit plus this is refused before anything is read.
FORM_OVERHEAD_BYTES: Final = 64 * 1024
#: How much of the stream is read at a time.
_CHUNK_BYTES: Final = 64 * 1024
#: Document ids are 32-bit integers in every database.
_MAX_DOCUMENT_ID: Final = 2**31 - 1
#: What the content route adds to every file: nothing in it runs, nothing of it is cached.
CONTENT_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox",
    "Cache-Control": "no-store",
}


class NotMultipart(RefusedFile):
    """The upload is not a `multipart/form-data` body."""

    status = 415


@dataclass(frozen=True)
class UploadForm:
    """The fields of an upload, as sent."""

    session_id: str | None
    reference: str
    item: str
    file_name: str | None
    data: bytes


@public
async def post_chat_upload(request: web.Request) -> web.Response:
    """Store a file for a checklist item of the chat the token opens: 201, its `DocumentRecord`."""
    session_id = chat_of_token(request)
    try:
        form = await read_upload_form(request)
        if form.session_id not in (None, session_id):
            raise PermissionDenied("session_id is not the chat this token opens")
        record = await upload_document(
            request.app[DESK],
            request.app[DOCUMENT_STORE],
            form.reference,
            sender_id=session_id,
            item=form.item,
            file_name=form.file_name,
            data=form.data,
        )
    except RefusedFile as refused:
        return json_error(refused.status, refused.message, errors=refused.errors)
    return respond(record, status=201)


async def read_upload_form(request: web.Request) -> UploadForm:
    """The upload's fields, read as a stream.

    Raises:
        NotMultipart: Not a multipart form (415).
        FileTooLarge: The file (or the declared body) is over the limit (413); reading stops.
        BadRequest: The form cannot be read, or the session id is malformed (400).
        InvalidInput: A field is missing, given twice, unknown or not text (422).
    """
    if request.content_type != "multipart/form-data":
        raise NotMultipart(
            "send the file as a multipart/form-data form with reference, item and file"
        )
    declared = request.content_length
    if declared is not None and declared > MAX_DOCUMENT_BYTES + FORM_OVERHEAD_BYTES:
        raise FileTooLarge(too_large_message())
    try:
        fields, file_name, data = await _read_parts(request)
    except (
        ValueError,
        AssertionError,
        RuntimeError,
        web.RequestPayloadError,
        BadHttpMessage,  # a part's headers that are not headers (found by the fuzzer)
    ) as error:
        # aiohttp's multipart reader reports a broken form with any of these.
        raise BadRequest(f"the form cannot be read: {str(error)[:200]}") from None
    missing = [name for name in REQUIRED_FIELDS if name not in fields]
    if missing or data is None:
        absent = [*missing, *([FILE_FIELD] if data is None else [])]
        raise InvalidInput([f"/{name}: missing from the form" for name in absent])
    session_id = fields.get("session_id")
    if session_id is not None and not SESSION_ID.match(session_id):
        raise BadRequest("session_id must be 32 lowercase hexadecimal characters")
    return UploadForm(session_id, fields["reference"], fields["item"], file_name, bytes(data))


async def _read_parts(request: web.Request) -> tuple[dict[str, str], str | None, bytearray | None]:
    reader = await request.multipart()
    fields: dict[str, str] = {}
    file_name: str | None = None
    data: bytearray | None = None
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise InvalidInput(["a nested multipart form is not accepted"])
        name = part.name or ""
        if name in fields or (name == FILE_FIELD and data is not None):
            raise InvalidInput([f"/{name}: given more than once"])
        if name == FILE_FIELD:
            file_name = part.filename
            data = await _read_limited(part, MAX_DOCUMENT_BYTES, FileTooLarge(too_large_message()))
        elif name in TEXT_FIELDS:
            too_long = InvalidInput([f"/{name}: longer than {MAX_FIELD_BYTES} bytes"])
            fields[name] = _text(name, await _read_limited(part, MAX_FIELD_BYTES, too_long))
        else:
            raise InvalidInput([f"unexpected field {name[:40]!r}: send reference, item and file"])
    return fields, file_name, data


async def _read_limited(part: BodyPartReader, limit: int, too_much: Exception) -> bytearray:
    """The part's bytes; `too_much` as soon as it is longer than `limit` (reading stops)."""
    content = bytearray()
    while chunk := await part.read_chunk(_CHUNK_BYTES):
        if len(content) + len(chunk) > limit:
            raise too_much
        content.extend(chunk)
    return content


def _text(name: str, raw: bytearray) -> str:
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InvalidInput([f"/{name}: not UTF-8 text"]) from None
    if "\x00" in text:
        raise InvalidInput([f"/{name}: holds a NUL character"])
    return text


async def get_document_content(request: web.Request) -> web.Response:
    """The document's file, with its detected type; 404 unless the user may see it."""
    actor = actor_of(request)
    document_id = _document_id(request)
    store = request.app[DOCUMENT_STORE]

    def read(session: Session) -> tuple[str, str, bytes]:
        document = documents.document_for(session, actor, document_id)
        return document.content_type, document.file_name, store.get(document.storage_key)

    try:
        content_type, file_name, data = await in_unit(request, read)
    except StoredFileMissing:
        LOGGER.error("the file of document %s is missing from the store", document_id)
        raise NotFound(f"the file of document {document_id} is missing") from None
    disposition = "attachment" if request.query.get("download") == "1" else "inline"
    headers = {
        **CONTENT_HEADERS,
        "Content-Disposition": content_disposition(disposition, file_name),
    }
    return web.Response(body=data, content_type=content_type, headers=headers)


def content_disposition(disposition: str, file_name: str) -> str:
    """`inline` or `attachment` with the file's name: an ASCII fallback without quotes or
    backslashes, and the name itself in RFC 5987's `filename*`."""
    fallback = "".join(
        character if " " <= character <= "~" and character not in '"\\' else "_"
        for character in file_name
    )
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


async def post_document_review(request: web.Request) -> web.Response:
    """Accept or reject a document: 200 with its `DocumentRecord`."""
    # The body is judged before the id, as for any route: a bad one is refused the same way.
    verdict = await parse(request, DocumentReview)
    document_id = _document_id(request)
    record = await review_document(request.app[DESK], actor_of(request), document_id, verdict)
    return respond(record)


def _document_id(request: web.Request) -> int:
    """The `{document_id}` of the path; NotFound when it cannot be one."""
    typed = request.match_info["document_id"]
    if not typed.isascii() or not typed.isdigit() or int(typed) > _MAX_DOCUMENT_ID:
        raise NotFound(f"no document {typed[:20]}")
    return int(typed)


def add_routes(app: web.Application) -> None:
    """Register the document routes."""
    app.router.add_post(CHAT_UPLOADS_PATH, post_chat_upload)
    app.router.add_get(document_content_path("{document_id}"), get_document_content)
    app.router.add_post(document_review_path("{document_id}"), post_document_review)
