"""Documents for tests: small valid files made in code, hostile ones, and an application that
is collecting documents."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image
from sqlalchemy.orm import Session

from contract.applications import ActorKind, ApplicationEventKind, Touchpoint
from contract.documents import RequestedBy
from desk.services import applications
from desk.store.models import ChecklistRequirement
from tests.support.applications import mortgage_intake

#: The checklist items of `collecting_application`, in asking order.
ITEMS: tuple[str, ...] = ("proof_of_identity", "payslips")
#: A chat id as the web chat page makes it (32 lowercase hex).
CHAT_ID = "0123456789abcdef0123456789abcdef"
OTHER_CHAT_ID = "fedcba9876543210fedcba9876543210"


def minimal_pdf(text: str = "Payslip") -> bytes:
    """A one-page PDF with a correct cross-reference table and trailer."""
    stream = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    body = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, content)
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(body)


def padded_pdf(total_bytes: int) -> bytes:
    """`minimal_pdf()` grown to exactly `total_bytes` by a comment after its header (readers
    skip it; the cross-reference offsets no longer match, which the desk does not check)."""
    pdf = minimal_pdf()
    header = b"%PDF-1.4\n"
    padding = total_bytes - len(pdf) - 2  # "%" and "\n" around the padding
    return header + b"%" + b"0" * padding + b"\n" + pdf[len(header) :]


def image_bytes(image_format: str = "PNG", size: tuple[int, int] = (40, 30)) -> bytes:
    """A small picture encoded as `image_format` (PNG or JPEG)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, image_format)
    return buffer.getvalue()


def png_bytes() -> bytes:
    """A small valid PNG."""
    return image_bytes("PNG")


def jpeg_bytes() -> bytes:
    """A small valid JPEG."""
    return image_bytes("JPEG")


#: A Windows program (its "MZ" header and DOS stub), as if renamed payslips.pdf.
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 240
#: A web page with a script, as if renamed scan.png.
HTML_BYTES = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def collecting_application(
    session: Session, *, sender_id: str = CHAT_ID, items: Sequence[str] = ITEMS
) -> str:
    """A new application started in the chat `sender_id`, asked for `items` (stage documents);
    its reference."""
    record = applications.create_application(
        session, mortgage_intake(), origin_channel="socketio", origin_sender_id=sender_id
    )
    application = applications.load(session, record.reference)
    for position, key in enumerate(items):
        application.checklist.append(
            ChecklistRequirement(
                key=key,
                title=key.replace("_", " ").capitalize(),
                ask=f"Please send your {key.replace('_', ' ')}.",
                requested_by=RequestedBy.CHECKLIST.value,
                position=position,
            )
        )
    applications.append_entry(
        application,
        ApplicationEventKind.DOCUMENTS_REQUESTED,
        touchpoint=Touchpoint.WEB_CHAT,
        actor_kind=ActorKind.BOT,
        detail={"items": list(items)},
    )
    session.flush()
    return record.reference
