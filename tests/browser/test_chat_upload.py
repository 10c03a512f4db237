"""The chat page's upload control in headless chromium (Debian's), against a stand-in desk.

The stand-in serves the real page (desk/web/chat.html and its static files) with a history whose
latest bot turn asks for a document, as `GET /chat/history` gives it after a reload, and answers
`POST /chat/uploads` as the contract says (`contract.documents`): 201 for a PDF, 415 with the
desk's `error` for anything else. The Rasa server is not needed for the control: the page's
socket only fails to connect. Screenshots: test-artifacts/browser/upload-*.png.

(a) the control is shown under the request, labelled, with the prompt's `accept`;
(b) a file over the limit is refused on the page: a clear message, nothing sent;
(c) a refused file shows the desk's error and the control stays for another try;
(d) an accepted file shows "Received: <name>" and the control is disabled.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.sync_api import expect

from contract.documents import CHAT_UPLOADS_PATH, MAX_DOCUMENT_BYTES
from contract.webchat import TRANSCRIPT_TOKEN_HEADER
from launcher.stack import PROJECT_ROOT
from tests.browser.conftest import Actor

pytestmark = pytest.mark.e2e

WEB = PROJECT_ROOT / "desk" / "web"
SESSION = "0123456789abcdef0123456789abcdef"
#: The chat's token, as the page stored it when the desk started the chat.
TOKEN = "v1.0123456789abcdef0123456789abcdef.9999999999.sig"
PROMPT = {
    "reference": "MTG-7K3Q9",
    "item": "payslips",
    "title": "Last 3 payslips",
    "max_bytes": MAX_DOCUMENT_BYTES,
    "accept": ["application/pdf", "image/jpeg", "image/png"],
}
REFUSED = "This file is not a PDF, JPEG or PNG (it looks like text/plain)."


class StandInDesk:
    """The desk's chat routes on a loopback port, in a thread of its own."""

    def __init__(self) -> None:
        self.uploads: list[dict[str, Any]] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _start(self) -> None:
        app = web.Application(client_max_size=2 * MAX_DOCUMENT_BYTES)
        app.router.add_get("/chat", lambda _: web.FileResponse(WEB / "chat.html"))
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/chat/config", self._config)
        app.router.add_get("/chat/history", self._history)
        app.router.add_post(CHAT_UPLOADS_PATH, self._upload)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _static(self, request: web.Request) -> web.StreamResponse:
        path = WEB / Path(request.match_info["name"]).name
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    async def _config(self, request: web.Request) -> web.Response:
        # Nothing listens on the discard port: the page's socket only fails to connect.
        return web.json_response({"rasa_url": "http://127.0.0.1:9"})

    async def _history(self, request: web.Request) -> web.Response:
        if request.headers.get(TRANSCRIPT_TOKEN_HEADER) != TOKEN:
            return web.json_response({"error": "the chat's token is missing"}, status=401)
        turns = [
            {"role": "customer", "text": "which documents do you need?", "timestamp": 1.0},
            {"role": "bot", "text": "Still needed: last 3 payslips.", "timestamp": 2.0},
            {
                "role": "bot",
                "text": "Please upload your last 3 payslips.",
                "timestamp": 2.0,
                "document_upload": PROMPT,
            },
        ]
        return web.json_response({"session_id": SESSION, "turns": turns, "handoff": None})

    async def _upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["file"]
        assert isinstance(upload, web.FileField)
        received = {
            "token": request.headers.get(TRANSCRIPT_TOKEN_HEADER),
            "fields": sorted(form),
            "reference": form["reference"],
            "item": form["item"],
            "file_name": upload.filename,
            "content": upload.file.read(),
        }
        self.uploads.append(received)
        if not received["content"].startswith(b"%PDF-"):
            return web.json_response({"error": REFUSED}, status=415)
        return web.json_response({"file_name": upload.filename, "state": "uploaded"}, status=201)


@pytest.fixture
def desk() -> Iterator[StandInDesk]:
    running = StandInDesk()
    running.start()
    yield running
    running.stop()


def test_the_upload_control_refuses_then_sends_a_document(
    desk: StandInDesk, actors: Any, tmp_path: Path
) -> None:
    customer: Actor = actors("customer-upload")
    page = customer.page
    # A returning customer: the page reads the conversation's history.
    page.add_init_script(
        f"window.localStorage.setItem('support-chat.session-id', '{SESSION}');"
        f"window.localStorage.setItem('support-chat.token', '{TOKEN}');"
    )
    page.goto(f"{desk.url}/chat")

    # (a) The latest request carries the control.
    request = page.locator("li.msg-bot", has_text="Please upload your last 3 payslips")
    control = request.locator("form.upload")
    expect(control).to_have_count(1)
    expect(page.locator("form.upload")).to_have_count(1)
    file_input = control.get_by_label("Last 3 payslips (PDF, JPEG, PNG, up to 10 MB)")
    expect(file_input).to_have_attribute("accept", "application/pdf,image/jpeg,image/png")
    customer.shot("upload-1-control-offered")

    # (b) Too big: refused on the page, nothing sent.
    too_big = tmp_path / "payslips-huge.pdf"
    too_big.write_bytes(b"%PDF-" + b"0" * MAX_DOCUMENT_BYTES)
    file_input.set_input_files(str(too_big))
    control.get_by_role("button", name="Send").click()
    status = control.locator(".upload-status")
    expect(status).to_contain_text("more than the 10 MB we can take")
    assert desk.uploads == []
    customer.shot("upload-2-too-big")

    # (c) Refused by the desk: its words, and the control stays for another try.
    text_file = tmp_path / "payslips.pdf"
    text_file.write_bytes(b"just some text, not a PDF")
    file_input.set_input_files(str(text_file))
    control.get_by_role("button", name="Send").click()
    expect(status).to_have_text(REFUSED)
    expect(control).to_have_attribute("data-state", "error")
    expect(file_input).to_be_enabled()
    customer.shot("upload-3-refused-by-the-desk")

    # (d) Accepted: received, and the control is done.
    pdf = tmp_path / "payslips-oct-dec.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% three payslips\n%%EOF\n")
    file_input.set_input_files(str(pdf))
    control.get_by_role("button", name="Send").click()
    expect(status).to_have_text("Received: payslips-oct-dec.pdf")
    expect(file_input).to_be_disabled()
    expect(control.get_by_role("button", name="Send")).to_be_disabled()
    customer.shot("upload-4-received")

    sent = desk.uploads[-1]
    # The chat's token names the chat, in a header; the form carries no session id.
    assert (sent["token"], sent["reference"], sent["item"]) == (TOKEN, "MTG-7K3Q9", "payslips")
    assert sent["fields"] == ["file", "item", "reference"]
    assert sent["file_name"] == "payslips-oct-dec.pdf"
    assert len(desk.uploads) == 2  # the oversized file never left the page
