"""The advisor's mortgage case in the console's screen pop, in headless chromium.

The desk runs alone here (its aiohttp app on a loopback port, in a thread, with the Rasa
stand-in of the desk tests): the case needs no bot. An application and a mortgage handoff
that names it are delivered as the bot would; Maya (a mortgage advisor) logs in, claims the
chat, and the screen pop shows the case: its stage and timeline, no checklist yet. She records
"proceed": the checklist for the employment type appears, each item missing, and the timeline
grows (the console refreshes on `application_changed`). She adds a note with markup (shown as
text) and sees an upload with view, download, accept and reject; asks for an extra document,
and hands back with the next step for the bot.
Screenshots: test-artifacts/browser/advisor-*.png.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.sync_api import Route, expect

from desk.app import create_app
from desk.seed import seed_demo_agents
from desk.services import applications
from desk.services.branches import branches
from desk.settings import DeskSettings
from desk.store.database import Database
from desk.store.models import ApplicationDocument
from desk.store.types import utcnow
from tests.browser.conftest import Actor
from tests.desk.conftest import make_context
from tests.desk.rasa_stand_in import RASA_TOKEN, RasaStandIn
from tests.support.applications import new_application_body

pytestmark = pytest.mark.e2e

SECRET = "browser-handoff-secret"
PASSWORD = "advisor browser password"


class LoopbackDesk:
    """The desk app and a Rasa stand-in served from one event loop in a thread."""

    def __init__(self, root: Path) -> None:
        self.database_url = f"sqlite:///{root / 'desk.db'}"
        self.documents_dir = root / "documents"
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._rasa = RasaStandIn()

    def start(self) -> None:
        database = Database(self.database_url)
        database.migrate()
        seed_demo_agents(database, PASSWORD)
        database.dispose()
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)

    async def _start(self) -> None:
        await self._rasa.start()
        settings = DeskSettings(
            database_url=self.database_url,
            handoff_secret=SECRET,
            rasa_auth_token=RASA_TOKEN,
            rasa_url=self._rasa.url,
            rasa_timeout_seconds=2.0,
            average_handle_seconds=240.0,
            documents_dir=self.documents_dir,
        )
        app = create_app(settings)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        async def stop() -> None:
            if self._runner is not None:
                await self._runner.cleanup()
            await self._rasa.close()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def set_stage(self, reference: str, stage: str) -> None:
        """Move the application on as the documents part would (all accepted: ready to sign)."""
        database = Database(self.database_url)
        try:
            with database.session(write=True) as session:
                applications.load(session, reference).stage = stage
        finally:
            database.dispose()

    def store_upload(self, reference: str, item: str, file_name: str) -> int:
        """An upload waiting for review, as the documents part stores it; its id."""
        database = Database(self.database_url)
        try:
            with database.session(write=True) as session:
                application = applications.load(session, reference)
                document = ApplicationDocument(
                    item_key=item,
                    file_name=file_name,
                    content_type="application/pdf",
                    size_bytes=48_213,
                    sha256="b" * 64,
                    storage_key=f"{reference}/{item}",
                    state="uploaded",
                    uploaded_at=utcnow(),
                    uploaded_via="web_chat",
                )
                application.documents.append(document)
                session.flush()
                return document.id
        finally:
            database.dispose()

    def bot_get(self, path: str) -> dict[str, Any]:
        """GET as the bot (the bearer secret); the decoded answer."""
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"Bearer {SECRET}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer

    def bot_post(self, path: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
        """POST as the bot (the bearer secret); the decoded answer."""
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode("utf-8"),
            headers={
                "Authorization": f"Bearer {SECRET}",
                "Content-Type": "application/json",
                **headers,
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[LoopbackDesk]:
    running = LoopbackDesk(tmp_path)
    running.start()
    yield running
    running.stop()


def deliver_mortgage_handoff(desk: LoopbackDesk) -> tuple[str, str]:
    """An application and a handoff to the mortgage advisors naming it: (reference, id)."""
    reference = desk.bot_post("/api/applications", new_application_body())["reference"]
    context = make_context(queue="mortgage_advisors", sender_id=f"web-{uuid.uuid4().hex[:8]}")
    context["evidence"]["mortgage_application"] = {
        "reference": reference,
        "status": "advice",
        "currency": "GBP",
    }
    answer = desk.bot_post(
        "/api/handoffs", context, **{"Idempotency-Key": str(context["handoff_id"])}
    )
    return reference, str(answer["handoff_id"])


def test_an_advisor_works_the_case_from_the_screen_pop(desk: LoopbackDesk, actors: Any) -> None:
    reference, handoff_id = deliver_mortgage_handoff(desk)
    maya: Actor = actors("advisor-maya")
    page = maya.page
    page.goto(f"{desk.url}/login")
    page.locator("#username").fill("maya")
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-button").click()
    expect(page).to_have_url(re.compile(r"/console$"))
    expect(page.locator("#live-status")).to_have_text("Live")

    waiting = page.locator(f"li[data-handoff-id='{handoff_id}']")
    waiting.locator("button[data-action=claim]").click()
    case = page.locator("#case")
    expect(case).to_be_visible()
    expect(page.locator("#case-title")).to_have_text(f"Mortgage application {reference}")
    expect(page.locator("#case-stage")).to_have_text("Advice")
    expect(page.locator("#case-checklist")).to_contain_text("No documents requested yet.")
    timeline = page.locator("#case-timeline li")
    expect(timeline).to_have_count(3)
    expect(timeline.last).to_have_attribute("data-kind", "handed_to_advisor")
    expect(page.locator("#next-step-row")).to_be_visible()
    maya.shot("advisor-1-case-in-the-screen-pop")

    page.locator("#case-outcome").select_option("proceed")
    page.locator("#case-advice-note").fill("Fixed for 5 years suits her.")
    page.locator("#case-advice-form button[type=submit]").click()
    expect(page.locator("#case-stage")).to_have_text("Collecting documents")
    rows = page.locator("#case-checklist tr[data-item]")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("Proof of identity")
    expect(rows.first).to_have_attribute("data-state", "missing")
    expect(page.locator("#case-timeline li[data-kind=advice_outcome]")).to_contain_text(
        "Fixed for 5 years suits her."
    )
    maya.shot("advisor-2-advice-recorded-checklist")

    document_id = desk.store_upload(reference, "payslips", "<img src=x>.pdf")
    markup = "<b>not bold</b> & <script>alert(1)</script>"
    page.locator("#case-note").fill(markup)
    page.locator("#case-note-form button[type=submit]").click()
    note = page.locator("#case-timeline li[data-kind=advisor_note]")
    expect(note).to_contain_text(markup)  # as text, never as markup
    expect(note.locator("b, script")).to_have_count(0)
    upload = page.locator(f"#case-documents li[data-document-id='{document_id}']")
    expect(upload).to_contain_text("Last 3 payslips")
    expect(upload).to_contain_text("<img src=x>.pdf")
    expect(upload.locator("img")).to_have_count(0)
    content = f"/api/documents/{document_id}/content"
    expect(upload.get_by_role("link", name="View")).to_have_attribute("href", content)
    expect(upload.get_by_role("link", name="Download")).to_have_attribute(
        "href", content + "?download=1"
    )
    expect(upload.get_by_role("button", name="Accept")).to_be_visible()
    upload.get_by_role("button", name="Reject…").click()
    expect(upload.locator(".reject-form input")).to_be_focused()
    upload.locator(".reject-form input").fill("The scan is blurry")
    expect(page.locator("#case-checklist tr[data-item=payslips]")).to_have_attribute(
        "data-state", "uploaded"
    )
    maya.shot("advisor-3-an-upload-to-review")

    page.locator("#case-request-item").select_option("pension_statement")
    page.locator("#case-request-form button[type=submit]").click()
    expect(rows).to_have_count(5)
    expect(rows.last).to_contain_text("Pension statement")
    # The case was shown again; the reason being typed was kept.
    expect(upload.locator(".reject-form input")).to_have_value("The scan is blurry")

    page.locator("#next-step").select_option("collect_documents")
    page.locator("#resolve-form button[type=submit]").click()
    handed_back = page.locator("#case-timeline li[data-kind=handed_back]")
    expect(handed_back).to_contain_text("next step: collect documents")
    maya.shot("advisor-4-handed-back-with-next-step")
    assert [e for e in maya.errors if "Failed to load resource" not in e] == []


def test_a_late_answer_for_an_earlier_day_never_replaces_the_chosen_days_slots(
    desk: LoopbackDesk, actors: Any
) -> None:
    """The slot lists asked for on opening the case (today) answer only after Maya has chosen
    a Monday ahead: the list shows the Monday's slots alone. (It once appended the late
    answers' slots first, and a CI run's advisor saw tomorrow's slot at the top.)"""
    reference, handoff_id = deliver_mortgage_handoff(desk)
    desk.set_stage(reference, "ready_to_sign")
    maya: Actor = actors("advisor-maya-late-slots")
    page = maya.page
    leeds = branches()["leeds_park_row"]
    today = date.today()
    monday = today + timedelta(days=7 + (7 - today.weekday()) % 7)
    held: list[Route] = []
    page.route("**/api/case-branches/*/slots*", lambda route: held.append(route))  # answered later
    page.goto(f"{desk.url}/login")
    page.locator("#username").fill("maya")
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-button").click()
    page.locator(f"li[data-handoff-id='{handoff_id}'] button[data-action=claim]").click()
    expect(page.locator("#case-branch option")).to_have_count(len(branches()))
    page.locator("#case-branch").select_option("leeds_park_row")
    chosen = f"from={monday.isoformat()}"
    page.locator("#case-day").fill(monday.isoformat())  # fires the day's change event
    deadline = time.monotonic() + 5
    while not any(chosen in route.request.url for route in held):
        assert time.monotonic() < deadline, "the Monday's slots were never asked for"
        page.evaluate("1")  # a round trip to the browser, which delivers the route's callback

    earlier = [route for route in held if chosen not in route.request.url]
    latest = [route for route in held if chosen in route.request.url]
    assert earlier and len(latest) == 1
    for route in earlier:  # the earlier answers arrive first, while the Monday's is awaited
        with page.expect_response(lambda response, url=route.request.url: response.url == url):
            route.continue_()
    for route in latest:
        route.continue_()

    first = page.locator("#case-slot option").first
    expect(first).to_have_text(leeds.label(leeds.slots_on(monday)[0]))
    starts = page.locator("#case-slot option").evaluate_all("os => os.map(o => o.value)")
    assert starts and all(start[:10] >= monday.isoformat() for start in starts), starts
    assert [e for e in maya.errors if "Failed to load resource" not in e] == []


def test_an_advisor_books_a_branch_slot_for_the_customer(desk: LoopbackDesk, actors: Any) -> None:
    reference, handoff_id = deliver_mortgage_handoff(desk)
    desk.set_stage(reference, "ready_to_sign")
    maya: Actor = actors("advisor-maya-booking")
    page = maya.page
    page.goto(f"{desk.url}/login")
    page.locator("#username").fill("maya")
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-button").click()
    page.locator(f"li[data-handoff-id='{handoff_id}'] button[data-action=claim]").click()

    form = page.locator("#case-book-form")
    expect(form).to_be_visible()
    expect(page.locator("#case-advice-form")).to_be_hidden()  # the advice is over
    expect(page.locator("#case-branch option")).to_have_count(len(branches()))
    page.locator("#case-branch").select_option("leeds_park_row")
    leeds = branches()["leeds_park_row"]
    today = date.today()
    monday = today + timedelta(days=7 + (7 - today.weekday()) % 7)  # a Monday ahead
    first_start = leeds.slots_on(monday)[0]
    page.locator("#case-day").fill(monday.isoformat())
    page.locator("#case-day").dispatch_event("change")
    slot = page.locator("#case-slot option").first
    expect(slot).to_have_text(leeds.label(first_start))  # the desk's free slots, Leeds' time
    maya.shot("advisor-5-booking-a-slot")
    page.locator("#case-book").click()
    expect(page.locator("#flash")).to_have_text("Appointment booked.")

    record = desk.bot_get(f"/api/applications/{reference}")
    appointment = record["appointment"]
    assert (record["stage"], appointment["branch"]) == ("appointment_booked", "leeds_park_row")
    assert datetime.fromisoformat(appointment["starts_at"]) == first_start
    booked = record["events"][-1]
    assert (booked["kind"], booked["touchpoint"], booked["actor_kind"]) == (
        "appointment_booked",
        "desk",
        "agent",
    )
