"""Documents through the bot in headless chromium, against the real system.

The customer applies in the chat page, asks for advice and is handed to Maya; Maya (the desk's
JSON API, as her console calls it) records the advice and hands back with the next step
"collect documents". In the page, the customer rates the help, and the bot's request for the
first document carries the upload control: a file that is not what it claims is refused with
the desk's words, a real PDF is received and stored, and the next document is asked for. Maya
rejects it with a reason, and the customer's page shows the reason with a control to send it
again. Screenshots: test-artifacts/browser/mortgage-*.png.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from harness.documents import pdf_of_size
from tests.browser.conftest import Actor, DeskStack
from tests.e2e.scripts import APPLICATION_REFERENCE, MORTGAGE_ANSWERS

pytestmark = pytest.mark.e2e

REJECTION = "The scan is cut off at the bottom; please send the whole page."


class Advisor:
    """Maya's session at the desk (the calls her console makes)."""

    def __init__(self, system: DeskStack) -> None:
        self.url = system.desk_url
        self.http = requests.Session()
        answer = self.http.post(
            f"{self.url}/api/login", json={"username": "maya", "password": system.password}
        )
        assert answer.status_code == 200, answer.text

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.http.request(method, self.url + path, timeout=10, **kwargs)
        assert answer.status_code < 300, (path, answer.status_code, answer.text)
        return answer.json()

    def waiting_handoff(self) -> str:
        queues = self.call("GET", "/api/queues")["queues"]
        waiting = [w for q in queues if q["name"] == "mortgage_advisors" for w in q["waiting"]]
        assert len(waiting) == 1, queues
        return str(waiting[0]["handoff_id"])


def say(page: Any, text: str) -> None:
    page.locator("#message").fill(text)
    page.locator("#message").press("Enter")
    expect(page.locator("li.msg-customer").last).to_contain_text(text)


def answer(page: Any, text: str) -> None:
    """Say `text` and wait for the bot's reply to it (the next question)."""
    replies = page.locator("li.msg-bot").count()
    say(page, text)
    expect(page.locator("li.msg-bot")).not_to_have_count(replies, timeout=15_000)


def bot_says(page: Any, text: str | re.Pattern[str]) -> Any:
    message = page.locator("li.msg-bot", has_text=text).last
    expect(message).to_be_visible(timeout=15_000)
    return message


def test_the_customer_sends_documents_from_the_chat_page(
    desk_stack: DeskStack, actors: Any, tmp_path: Path
) -> None:
    customer: Actor = actors("customer-mortgage")
    page = customer.page
    session = uuid.uuid4().hex
    page.add_init_script(f"window.localStorage.setItem('support-chat.session-id', '{session}')")
    page.goto(f"{desk_stack.desk_url}/chat")
    expect(page.locator("#connection")).to_have_text("Connected")

    # The intake, then advice the bot must not give.
    answer(page, "I want to apply for a mortgage")
    for reply in MORTGAGE_ANSWERS:
        answer(page, reply)
    saved = bot_says(page, APPLICATION_REFERENCE).inner_text()
    found = APPLICATION_REFERENCE.search(saved)
    assert found is not None
    reference = found.group(0)
    say(page, "should I go for a fixed or a variable rate?")
    bot_says(page, "mortgage advisors")
    customer.shot("mortgage-1-handed-to-an-advisor")

    # Maya advises and hands back: the bot's next step is to collect the documents.
    maya = Advisor(desk_stack)
    handoff_id = maya.waiting_handoff()
    maya.call("POST", f"/api/handoffs/{handoff_id}/claim")
    maya.call("POST", f"/api/cases/{reference}/advice", json={"outcome": "proceed"})
    maya.call(
        "POST",
        f"/api/handoffs/{handoff_id}/resolve",
        json={"disposition": "resolved", "slots": {"mortgage_next_step": "collect_documents"}},
    )
    rating = bot_says(page, "How would you rate")
    rating.locator(".quick-replies button", has_text="5").click()
    bot_says(page, "Anything you'd like to add")
    say(page, "no")

    # The first request carries the upload control.
    request = bot_says(page, "Please upload a photo or scan of your passport")
    control = request.locator("form.upload")
    expect(control).to_have_count(1)
    file_input = control.locator("input[type=file]")
    customer.shot("mortgage-2-upload-offered")

    # Not what its name says: the desk refuses it, the control stays.
    fake = tmp_path / "passport.pdf"
    fake.write_bytes(b"<html><script>alert(1)</script></html>")
    file_input.set_input_files(str(fake))
    control.get_by_role("button", name="Send").click()
    status = control.locator(".upload-status")
    expect(status).to_contain_text("PDF")
    expect(control).to_have_attribute("data-state", "error")
    customer.shot("mortgage-3-refused")

    # A real PDF: received and stored; the bot thanks and asks for the next document.
    passport = tmp_path / "passport-scan.pdf"
    passport.write_bytes(pdf_of_size(60_000))
    file_input.set_input_files(str(passport))
    control.get_by_role("button", name="Send").click()
    expect(status).to_have_text("Received: passport-scan.pdf")
    bot_says(page, "Thanks, I've got your proof of identity")
    expect(page.locator("form.upload[data-state=ready]")).to_have_count(1)
    customer.shot("mortgage-4-received-next-asked")

    case = maya.call("GET", f"/api/cases/{reference}")
    (document,) = case["documents"]
    assert (document["item"], document["content_type"]) == ("proof_of_identity", "application/pdf")
    assert document["size_bytes"] == 60_000

    # Maya rejects it: the customer reads why, and can send it again from the page.
    maya.call(
        "POST",
        f"/api/documents/{document['id']}/review",
        json={"decision": "reject", "reason": REJECTION},
    )
    rejected = bot_says(page, REJECTION)
    again = rejected.locator("form.upload")
    expect(again).to_have_count(1)
    expect(again).to_have_attribute("data-item", "proof_of_identity")
    customer.shot("mortgage-5-rejected-asked-again")
    # The browser logs the refused upload's answer; nothing else went wrong on the page.
    assert [e for e in customer.errors if "status of 415" not in e] == []
