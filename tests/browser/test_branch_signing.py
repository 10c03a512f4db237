"""Branch staff sign a customer at the branch, through the branch page in headless chromium.

Only the desk runs (`python -m desk` on a free port, its own migrated and seeded SQLite
database): the branch page needs neither Rasa nor the action server. The case is made in the
desk's database first (`tests.support.mortgage_cases`: advice given, every document accepted,
an appointment at Leeds, Park Row today); then Bea (seeded branch staff at Leeds) logs in,
lands on the branch page, opens the case, sees its whole timeline, records the identity check
and the signing, and sees the application signed. Screenshots of each step go to
test-artifacts/browser/.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timezone
from pathlib import Path
from typing import Any, Final

import pytest
from playwright.sync_api import Page, expect

from contract.applications import ApplicationStage
from desk.seed import prepare_demo_desk
from desk.services.branches import branches
from desk.store.database import Database
from desk.store.models import MortgageApplication
from harness.loopback import free_ports, sqlite_url
from launcher.stack import desk_server, running_stack
from tests.browser.conftest import ARTIFACTS
from tests.support.mortgage_cases import application_at

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*"),
]

SCREENSHOTS: Final = ARTIFACTS  # with the other pages' screenshots
BEA: Final = "Bea (Leeds branch)"
APPLICANT: Final = "Priya Raman"


@dataclass(frozen=True)
class BranchDesk:
    """The running desk and how to reach it."""

    url: str
    database_url: str
    password: str


@pytest.fixture(scope="module")
def branch_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BranchDesk]:
    """The desk alone, with fresh secrets, port and database (seeded with the demo users)."""
    root = tmp_path_factory.mktemp("branch")
    port, unused_rasa_port = free_ports(2)
    database_url = sqlite_url(root / "desk.db")
    password = secrets.token_urlsafe(16)
    prepare_demo_desk(database_url, password)
    env = {
        **os.environ,
        "DESK_PORT": str(port),
        "DESK_URL": f"http://127.0.0.1:{port}",
        "DESK_DATABASE_URL": database_url,
        "DESK_DEMO_PASSWORD": password,
        "HANDOFF_SECRET": secrets.token_urlsafe(24),
        "RASA_AUTH_TOKEN": secrets.token_urlsafe(24),
        # Nothing listens there: the branch's steps never talk to Rasa.
        "RASA_URL": f"http://127.0.0.1:{unused_rasa_port}",
    }
    with running_stack([desk_server(port)], root / "logs", env):
        yield BranchDesk(f"http://127.0.0.1:{port}", database_url, password)


def booked_today(database_url: str) -> str:
    """A case with every document accepted and an appointment at Leeds today; its reference."""
    leeds = branches()["leeds_park_row"]
    today = datetime.now(leeds.zone).date()
    starts_at = datetime.combine(today, time(12), tzinfo=leeds.zone).astimezone(timezone.utc)
    database = Database(database_url)
    try:
        with database.session(write=True) as session:
            application = application_at(
                session,
                ApplicationStage.APPOINTMENT_BOOKED,
                starts_at=starts_at,
                applicant_name=APPLICANT,
            )
            return application.reference
    finally:
        database.dispose()


def stored(database_url: str, reference: str) -> tuple[str, list[tuple[str, str, str | None]]]:
    """The application's stage and timeline (kind, actor kind, actor), read from the desk."""
    database = Database(database_url)
    try:
        with database.session() as session:
            application = session.query(MortgageApplication).filter_by(reference=reference).one()
            events = [(e.kind, e.actor_kind, e.actor) for e in application.events]
            return application.stage, events
    finally:
        database.dispose()


def shot(page: Page, step: str) -> Path:
    """A full-page screenshot in test-artifacts/browser/branch-signing-<step>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"branch-signing-{step}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_branch_staff_check_identity_and_record_the_signing(
    branch_desk: BranchDesk, actors: Any
) -> None:
    reference = booked_today(branch_desk.database_url)
    bea = actors("bea")
    page = bea.page

    page.goto(f"{branch_desk.url}/branch")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.fill("#username", "bea")
    page.fill("#password", branch_desk.password)
    page.click("#login-button")
    expect(page).to_have_url(re.compile(r"/branch$"))
    expect(page.locator("#me")).to_have_text(BEA)
    expect(page.locator("#branch-name")).to_have_text("Leeds, Park Row (Europe/London)")

    appointment = page.locator("button[data-appointment]").filter(has_text=APPLICANT)
    expect(appointment).to_have_count(1)
    expect(appointment).to_contain_text("12:00")
    expect(appointment).to_contain_text("documents 4/4 accepted")
    shot(page, "1-day")
    appointment.click()

    expect(page.locator("#case-applicant")).to_have_text(APPLICANT)
    expect(page.locator("#case-reference")).to_have_text(reference)
    expect(page.locator("#case-stage")).to_have_text("appointment booked")
    timeline = page.locator("#timeline li")
    # Everything before the branch: chat, advice, documents, booking.
    for kind in ["chat_started", "handed_to_advisor", "advisor_note", "document_accepted"]:
        expect(page.locator(f'#timeline li[data-kind="{kind}"]').first).to_be_visible()
    expect(timeline.last).to_have_attribute("data-kind", "appointment_booked")
    expect(page.locator('#checklist tbody tr[data-item="payslips"]')).to_contain_text("accepted")
    expect(page.locator('#checklist a:text("View")')).to_have_count(4)
    expect(page.locator("#record-signing")).to_be_disabled()  # identity first
    expect(page.locator("#identity-state")).to_have_text("Identity not checked yet.")
    shot(page, "2-case")

    page.select_option("#identity-document", "driving_licence")
    page.check("#identity-matches")
    page.click("#identity-checked")

    expect(page.locator("#identity-state")).to_have_text("Identity matched (driving licence).")
    checked = page.locator('#timeline li[data-kind="identity_checked"]')
    expect(checked).to_contain_text(f"by {BEA} (branch staff)")
    expect(checked).to_contain_text("document: driving_licence")
    expect(page.locator("#record-signing")).to_be_enabled()
    shot(page, "3-identity-checked")

    page.click("#record-signing")

    expect(page.locator("#case-stage")).to_have_text("signed")
    expect(page.locator("#flash")).to_have_text("Signing recorded: the application is signed.")
    expect(timeline.last).to_have_attribute("data-kind", "signed")
    expect(timeline.last).to_contain_text("at branch")
    expect(timeline.last).to_contain_text(f"by {BEA} (branch staff)")
    expect(page.locator("#record-signing")).to_be_disabled()
    expect(appointment).to_contain_text("signed")
    shot(page, "4-signed")

    stage, events = stored(branch_desk.database_url, reference)
    assert stage == "signed"
    assert events[-2:] == [
        ("identity_checked", "branch_staff", BEA),
        ("signed", "branch_staff", BEA),
    ]
    assert bea.errors == []


def test_branch_staff_are_sent_to_their_page_from_the_console(
    branch_desk: BranchDesk, actors: Any
) -> None:
    page = actors("ravi").page
    page.goto(f"{branch_desk.url}/login")
    page.fill("#username", "ravi")
    page.fill("#password", branch_desk.password)
    page.click("#login-button")
    expect(page).to_have_url(re.compile(r"/branch$"))

    page.goto(f"{branch_desk.url}/console")

    expect(page).to_have_url(re.compile(r"/branch$"))
    expect(page.locator("#branch-name")).to_have_text("Manchester, King Street (Europe/London)")
    expect(page.locator("#appointments-empty")).to_be_visible()
