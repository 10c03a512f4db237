"""`GET /chat/history` after a reload: the latest unanswered request for a document carries
its upload prompt, so the chat page offers the upload again (desk/services/transcripts.py)."""

from __future__ import annotations

from tests.desk.api.test_pages import new_chat
from tests.desk.conftest import Browser
from tests.desk.rasa_stand_in import RasaStandIn

PROMPT = {
    "reference": "MTG-7K3Q9",
    "item": "bank_statements",
    "title": "Bank statements",
    "max_bytes": 10 * 1024 * 1024,
    "accept": ["application/pdf", "image/jpeg", "image/png"],
}


async def test_the_history_offers_the_latest_unanswered_request_again(
    anonymous: Browser, rasa: RasaStandIn
) -> None:
    session_id, opens = await new_chat(anonymous)
    rasa.conversation(session_id).events = [
        {"event": "user", "text": "which documents do you need?", "timestamp": 1.0},
        {
            "event": "bot",
            "text": "Please upload your payslips.",
            "timestamp": 2.0,
            "metadata": {"document_upload": {**PROMPT, "item": "payslips", "title": "Payslips"}},
        },
        # The customer sent them; the desk had the bot thank them and ask for the next one.
        {"event": "action", "name": "action_document_received", "timestamp": 3.0},
        {"event": "bot", "text": "Thanks, I've got your payslips.", "timestamp": 3.1},
        {
            "event": "bot",
            "text": "Please upload your bank statements.",
            "timestamp": 3.2,
            "metadata": {"document_upload": PROMPT},
        },
    ]

    status, history = await anonymous.get("/chat/history", headers=opens)

    assert status == 200
    assert [turn.get("document_upload") for turn in history["turns"]] == [
        None,
        None,  # answered by the upload
        None,
        PROMPT,
    ]
