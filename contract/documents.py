"""A mortgage application's documents: the checklist, the uploads and the advisor's review.

The checklist of an application is fixed when documents are first requested (from the
designers' `content/document_checklists.yml`, by employment type), and an advisor may add
items to it. Each item's state follows its latest upload (`DocumentState`).

Routes:
- `POST {desk}/chat/uploads` (the customer's web chat page; public, same-origin), with the
  chat's token in the `X-Chat-Token` header (`contract.webchat`; 401 without one that opens a
  chat): a multipart form with `reference`, `item` (a checklist key), `file` and optionally
  `session_id` (the chat's 32-hex id; 403 if it is not the token's chat). 201 with a
  `DocumentRecord`; 413 over `MAX_DOCUMENT_BYTES`; 415 a type not in
  `ALLOWED_CONTENT_TYPES` (judged by the content, never by the name or the header); 422 an
  empty or corrupt file, or an item not on the checklist; 403 when that chat is not linked to
  that application (someone else's application). Nothing is stored when refused.
- `GET {desk}/api/documents/{id}/content` (desk user who may see the application): the file,
  inline, with its detected type; `?download=1` as an attachment.
- `POST {desk}/api/documents/{id}/review` (desk user), body `DocumentReview`: 200 with the
  `DocumentRecord`; 409 if it was already reviewed.
- `POST {desk}/api/cases/{reference}/document-requests` (desk user), body
  `DocumentRequest`: 200 with the application's record; asks for (more) items.
The bot reads the checklist in the application's record (`GET /api/applications/{reference}`).

When the bot asks for a document, its message carries an `UploadPrompt` under
`metadata.document_upload` (like an agent's turn carries `metadata.handoff_agent`, see
`contract.webchat`): the web chat page shows its upload control for that item. After a stored
upload the desk runs `action_document_received` in that chat, and after a review
`action_document_reviewed` in the application's latest chat (`contract.bot_actions`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, Extra, Field, StrictStr, root_validator, validator

CHAT_UPLOADS_PATH: Final = "/chat/uploads"
DOCUMENTS_PATH: Final = "/api/documents"

#: The largest file a customer may send.
MAX_DOCUMENT_BYTES: Final = 10 * 1024 * 1024
#: What a document may be, judged by its content: detected type → file extension.
ALLOWED_CONTENT_TYPES: Final = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
}
#: The longest reason an advisor may give for a rejection.
MAX_REASON_CHARS: Final = 500
#: The longest original file name kept (after cleaning).
MAX_FILE_NAME_CHARS: Final = 120
#: The most items an advisor may add at once.
MAX_REQUESTED_ITEMS: Final = 20
#: Checklist keys, as in content/document_checklists.yml.
ITEM_KEY_PATTERN: Final = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"


#: The key of a bot message's metadata that asks the page for a file.
UPLOAD_METADATA_KEY: Final = "document_upload"


def document_content_path(document_id: int | str) -> str:
    """Where a desk user reads a document's file."""
    return f"{DOCUMENTS_PATH}/{document_id}/content"


def document_review_path(document_id: int | str) -> str:
    """Where a desk user accepts or rejects a document."""
    return f"{DOCUMENTS_PATH}/{document_id}/review"


def document_requests_path(reference: str) -> str:
    """Where a desk user asks for (more) documents of an application."""
    return f"/api/cases/{reference}/document-requests"


class DocumentState(str, enum.Enum):
    """The state of one checklist item: its latest upload decides it."""

    MISSING = "missing"
    UPLOADED = "uploaded"  # waiting for review
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class RequestedBy(str, enum.Enum):
    """Where a checklist item came from."""

    CHECKLIST = "checklist"  # the designers' checklist for the employment type
    ADVISOR = "advisor"  # added by an advisor


class _Body(BaseModel):
    class Config:
        extra = Extra.forbid
        allow_mutation = False


class ChecklistItem(_Body):
    """One document an application needs, and where it stands."""

    key: StrictStr
    title: StrictStr
    ask: StrictStr
    requested_by: StrictStr
    state: StrictStr
    #: The latest upload for the item, if any.
    document_id: int | None = None
    file_name: StrictStr | None = None
    rejection_reason: StrictStr | None = None
    updated_at: datetime | None = None

    @property
    def needs_upload(self) -> bool:
        """Whether the customer still has to send this item (missing, or rejected)."""
        return self.state in (DocumentState.MISSING.value, DocumentState.REJECTED.value)

    def to_evidence(self) -> dict[str, Any]:
        """The item for the handoff context (no file name: it may carry personal data)."""
        return {
            "key": self.key,
            "title": self.title,
            "state": self.state,
            "rejection_reason": self.rejection_reason,
        }


class DocumentRecord(_Body):
    """One stored upload: what it is (detected, not claimed), its fingerprint, its review."""

    id: int
    reference: StrictStr
    item: StrictStr
    file_name: StrictStr
    content_type: StrictStr
    size_bytes: int
    sha256: StrictStr
    state: StrictStr
    uploaded_at: datetime
    uploaded_via: StrictStr
    reviewed_at: datetime | None = None
    reviewed_by: StrictStr | None = None
    rejection_reason: StrictStr | None = None


class ReviewDecision(str, enum.Enum):
    """An advisor's verdict on one document."""

    ACCEPT = "accept"
    REJECT = "reject"


class DocumentReview(_Body):
    """`POST /api/documents/{id}/review`: accept, or reject with a reason the customer reads."""

    decision: ReviewDecision
    reason: StrictStr | None = Field(default=None, max_length=MAX_REASON_CHARS)

    @root_validator(skip_on_failure=True)
    def _reason_for_rejection(cls, values: dict[str, Any]) -> dict[str, Any]:
        reason = (values.get("reason") or "").strip()
        if values["decision"] is ReviewDecision.REJECT and not reason:
            raise ValueError("a rejection needs a reason the customer can act on")
        values["reason"] = reason or None
        return values


class RequestedItem(_Body):
    """One document asked for: a key from the designers' list, or a new one with its words."""

    key: StrictStr = Field(..., regex=ITEM_KEY_PATTERN, max_length=64)
    title: StrictStr | None = Field(default=None, min_length=1, max_length=100)
    ask: StrictStr | None = Field(default=None, min_length=1, max_length=200)


class DocumentRequest(_Body):
    """`POST /api/applications/{reference}/document-requests`: items to add to the checklist
    (none: the checklist for the employment type, as the bot would ask)."""

    items: tuple[RequestedItem, ...] = ()
    note: StrictStr | None = Field(default=None, max_length=MAX_REASON_CHARS)

    @validator("items")
    def _not_too_many(cls, items: tuple[RequestedItem, ...]) -> tuple[RequestedItem, ...]:
        if len(items) > MAX_REQUESTED_ITEMS:
            raise ValueError(f"at most {MAX_REQUESTED_ITEMS} items at once")
        return items


class UploadPrompt(_Body):
    """What the page needs to offer the upload of one checklist item."""

    reference: StrictStr
    item: StrictStr = Field(..., regex=ITEM_KEY_PATTERN, max_length=64)
    title: StrictStr
    max_bytes: int = MAX_DOCUMENT_BYTES
    accept: tuple[str, ...] = tuple(ALLOWED_CONTENT_TYPES)


def upload_metadata(prompt: UploadPrompt) -> dict[str, Any]:
    """The metadata of the bot message that asks for the item."""
    return {UPLOAD_METADATA_KEY: prompt.dict()}
