"""The mortgage journey's speed: a customer's document reaching the advisor, and a returning
customer's first reply.

System
------
The same isolated system with the real desk as the desk benchmark (benchmarks/desk_latency.py),
run right after its rounds: the desk (its documents on a local directory of the run, its demo
one-time codes written to a file of the run), the action server and the Rasa server.

Clients
-------
In this process, on one asyncio event loop, every time taken with `time.perf_counter()`:
- the bot's calls to the desk (`Authorization: Bearer $HANDOFF_SECRET`) to open applications;
- Maya, a mortgage advisor, logged in to the desk with the console's websocket (`/api/live`)
  open for the whole run;
- the customer's page posting a document (`POST /chat/uploads`, multipart);
- a returning customer on Rasa's REST channel (`POST /webhooks/rest/webhook`), one keep-alive
  connection.

A round (each one a new application)
------------------------------------
1. The bot opens an application for a new chat (`POST /api/applications`); Maya records the
   advice outcome "proceed" (`POST /api/cases/{reference}/advice`), which asks for the
   documents of the applicant's employment type.
2. Upload -> screen-pop. t0 = `perf_counter()` just before the customer's page sends a 5 MB
   PDF for the first checklist item; the desk streams it, checks its content, hashes and
   stores it, records it on the timeline and tells the consoles (`application_changed`). On
   the arrival of that message on Maya's websocket, the benchmark does what the console's case
   panel does: `GET /api/cases/{reference}`. t1 = once that answer lists the document (were it
   not listed yet, the GET is repeated and the time includes it). Target: p95 <= 500 ms. The
   upload's own answer (201: stored and recorded) is reported too, for information.
3. Returning customer. A new conversation says it wants to continue its application, gives
   the reference and the e-mail on file; the desk "sends" a one-time code (the run's codes
   file). t0 = `perf_counter()` just before the customer sends the code; t1 = the REST answer,
   the bot's first reply to the returning customer: the desk has checked the code, linked the
   chat and the bot says where the application stands. Target: p95 <= 300 ms.
   For comparison in the same run, on the same connection: a "hi" from a new conversation
   (NLU and policies only) — the ratio shows what verification and the record cost.

`warmup` rounds are run first and thrown away; then `rounds` rounds.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TypeVar

import aiohttp

from benchmarks.desk_latency import AgentConsole, DeskMeasure, milliseconds_between, step
from benchmarks.turns import UnexpectedBehaviour
from contract.applications import APPLICATIONS_PATH, MortgageIntake, NewApplication
from contract.documents import CHAT_UPLOADS_PATH
from contract.webchat import TRANSCRIPT_TOKEN_HEADER, ChatGrant, new_chat, transcript_key
from harness.documents import pdf_of_size

T = TypeVar("T")

ADVISOR_USERNAME: Final = "maya"
DOCUMENT_BYTES: Final = 5 * 1024 * 1024
EMAIL: Final = "bench.customer@example.com"
#: What the returning customer says, in order, before the code.
RESUME_OPENING: Final = "I'd like to continue my mortgage application"
#: A fragment of the bot's reply that says where things stand (the reference).
STANDS_FRAGMENT: Final = "MTG-"

UPLOAD_TO_SCREEN_POP = DeskMeasure(
    "upload_to_screen_pop",
    "Customer's 5 MB upload -> the document in the advisor's screen-pop "
    "(application_changed + GET /api/cases/{ref})",
)
UPLOAD_STORED = DeskMeasure(
    "upload_stored", "Customer's 5 MB upload -> the desk's 201 (checked, hashed, stored)"
)
RETURNING_FIRST_REPLY = DeskMeasure(
    "returning_first_reply",
    "Returning customer's one-time code -> the bot's reply with where things stand (REST)",
)
BOT_ONLY_BASELINE = DeskMeasure(
    "bot_only_same_run", 'For comparison: "hi" from a new conversation (REST), same run'
)
MORTGAGE_MEASURES: tuple[DeskMeasure, ...] = (
    UPLOAD_TO_SCREEN_POP,
    UPLOAD_STORED,
    RETURNING_FIRST_REPLY,
    BOT_ONLY_BASELINE,
)


@dataclass
class MortgageSamples:
    """The measured rounds: every measure's samples (milliseconds), in round order."""

    milliseconds: dict[str, list[float]] = field(
        default_factory=lambda: {measure.key: [] for measure in MORTGAGE_MEASURES}
    )
    #: `GET /api/cases/{ref}` answers after application_changed without the document yet.
    stale_case_fetches: int = 0

    def add(self, times: Mapping[str, float], stale: int) -> None:
        """Record one round."""
        for key, samples in self.milliseconds.items():
            samples.append(times[key])
        self.stale_case_fetches += stale


def new_application(sender_id: str) -> NewApplication:
    """An employed applicant's completed intake, made in the chat `sender_id`."""
    intake = MortgageIntake(
        applicant_name="Bench Customer",
        email=EMAIL,
        property_value=Decimal("300000.00"),
        deposit_amount=Decimal("60000.00"),
        loan_amount=Decimal("240000.00"),
        term_years=25,
        annual_income=Decimal("70000.00"),
        employment_type="employed",
    )
    return NewApplication(intake=intake, origin_channel="socketio", origin_sender_id=sender_id)


class Advisor(AgentConsole):
    """Maya's console: the case routes and the live messages about applications."""

    async def next_application_change(self, reference: str, kind: str) -> float:
        """When the console was told of a `kind` entry on the application."""
        while True:
            arrived, message = await self.received.get()
            if (
                message.get("type") == "application_changed"
                and message.get("reference") == reference
                and message.get("kind") == kind
            ):
                return arrived

    async def case_lists(self, reference: str, document_id: int) -> tuple[float, int]:
        """`GET /api/cases/{ref}` until it lists the document: when, and the stale answers."""
        stale = 0
        while True:
            status, body = await self.call("GET", f"/api/cases/{reference}")
            done = time.perf_counter()
            if status != 200:
                raise UnexpectedBehaviour(f"mortgage benchmark: case {status} {body}")
            if any(doc.get("id") == document_id for doc in body.get("documents", [])):
                return done, stale
            stale += 1

    async def advise_proceed(self, reference: str) -> dict[str, Any]:
        """Record the advice "proceed": the checklist is asked for."""
        status, body = await self.call(
            "POST", f"/api/cases/{reference}/advice", json={"outcome": "proceed"}
        )
        if status != 200:
            raise UnexpectedBehaviour(f"mortgage benchmark: advice {status} {body}")
        record: dict[str, Any] = body
        return record


class Bench:
    """The clients of one run."""

    def __init__(self, desk_url: str, rasa_url: str, secret: str, codes_file: Path) -> None:
        """Not connected yet."""
        self.desk_url = desk_url
        self.rasa_url = rasa_url
        self.secret = secret
        self.codes_file = codes_file
        self.advisor = Advisor(desk_url)
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        self.document = pdf_of_size(DOCUMENT_BYTES)

    async def open_application(self, sender_id: str) -> str:
        """The bot opens an application for the chat; its reference."""
        body = new_application(sender_id).json()
        async with self.http.post(
            self.desk_url + APPLICATIONS_PATH,
            data=body,
            headers={"Authorization": f"Bearer {self.secret}", "Content-Type": "application/json"},
        ) as response:
            answer = await response.json()
            if response.status != 201:
                raise UnexpectedBehaviour(f"mortgage benchmark: open {response.status} {answer}")
            return str(answer["reference"])

    async def upload(self, chat: ChatGrant, reference: str, item: str) -> tuple[float, int]:
        """The customer's page posts the document (with its chat's token): when the 201 was
        read, and the document id."""
        form = aiohttp.FormData()
        form.add_field("reference", reference)
        form.add_field("item", item)
        form.add_field(
            "file", self.document, filename="payslips.pdf", content_type="application/pdf"
        )
        headers = {TRANSCRIPT_TOKEN_HEADER: chat.token}
        async with self.http.post(
            self.desk_url + CHAT_UPLOADS_PATH, data=form, headers=headers
        ) as response:
            answer = await response.json()
            done = time.perf_counter()
            if response.status != 201:
                raise UnexpectedBehaviour(f"mortgage benchmark: upload {response.status} {answer}")
            return done, int(answer["id"])

    async def say(self, sender: str, text: str) -> list[str]:
        """One REST turn: the texts of the bot's replies."""
        async with self.http.post(
            self.rasa_url + "/webhooks/rest/webhook", json={"sender": sender, "message": text}
        ) as response:
            if response.status != 200:
                raise UnexpectedBehaviour(f"mortgage benchmark: turn {response.status}")
            return [str(reply.get("text") or "") for reply in await response.json()]

    def code_for(self, reference: str) -> str | None:
        """The latest one-time code the desk "sent" for the application."""
        if not self.codes_file.is_file():
            return None
        codes = [
            json.loads(line) for line in self.codes_file.read_text().splitlines() if line.strip()
        ]
        mine = [entry["code"] for entry in codes if entry.get("reference") == reference]
        return str(mine[-1]) if mine else None

    async def close(self) -> None:
        """Close every connection."""
        await self.advisor.close()
        await self.http.close()


async def _eventually(what: str, check: Callable[[], T | None]) -> T:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while loop.time() < deadline:
        found = check()
        if found:
            return found
        await asyncio.sleep(0.02)  # polling a file the desk appends to, bounded
    raise UnexpectedBehaviour(f"mortgage benchmark: {what}: nothing within 30s")


async def run_round(bench: Bench) -> tuple[dict[str, float], int]:
    """One application from its documents to the customer's return (see the module doc)."""
    # A chat as the desk starts one (POST /chat/sessions): its id and the token its page sends.
    chat = new_chat(transcript_key(bench.secret))
    reference = await step("open an application", bench.open_application(chat.session_id))
    record = await step("advice proceed", bench.advisor.advise_proceed(reference))
    checklist = record.get("record", record).get("checklist") or []
    if not checklist:
        raise UnexpectedBehaviour(f"mortgage benchmark: no checklist after advice: {record}")
    item = str(checklist[0]["key"])
    bench.advisor.drain()

    sent = time.perf_counter()
    stored, document_id = await step("upload", bench.upload(chat, reference, item))
    await step(
        "application_changed",
        bench.advisor.next_application_change(reference, "document_uploaded"),
    )
    listed, stale = await step(
        "the document in the case", bench.advisor.case_lists(reference, document_id)
    )

    returning = f"bench-return-{uuid.uuid4().hex}"
    await step("resume: opening", bench.say(returning, RESUME_OPENING))
    await step("resume: reference", bench.say(returning, reference))
    await step("resume: e-mail", bench.say(returning, EMAIL))
    code = await _eventually("the one-time code", lambda: bench.code_for(reference))
    asked = time.perf_counter()
    replies = await step("resume: code", bench.say(returning, code))
    answered = time.perf_counter()
    if not any(STANDS_FRAGMENT in text for text in replies):
        raise UnexpectedBehaviour(f"mortgage benchmark: the returning customer got {replies}")

    greeted = time.perf_counter()
    await step("baseline hi", bench.say(f"bench-hi-{uuid.uuid4().hex}", "hi"))
    baseline_done = time.perf_counter()

    times = {
        UPLOAD_TO_SCREEN_POP.key: milliseconds_between(sent, listed),
        UPLOAD_STORED.key: milliseconds_between(sent, stored),
        RETURNING_FIRST_REPLY.key: milliseconds_between(asked, answered),
        BOT_ONLY_BASELINE.key: milliseconds_between(greeted, baseline_done),
    }
    return times, stale


async def measure_mortgage(
    desk_url: str,
    rasa_url: str,
    password: str,
    secret: str,
    codes_file: Path,
    rounds: int,
    warmup: int,
    on_measuring: Callable[[], None] | None = None,
) -> MortgageSamples:
    """`warmup` discarded rounds, then `rounds` measured ones, with Maya online throughout.

    `on_measuring` is called between the two (e.g. to start measuring the machine's noise).
    """
    bench = Bench(desk_url, rasa_url, secret, codes_file)
    samples = MortgageSamples()
    try:
        await step("the advisor logs in", bench.advisor.open(ADVISOR_USERNAME, password))
        for _ in range(warmup):
            await run_round(bench)
        if on_measuring is not None:
            on_measuring()
        for number in range(1, rounds + 1):
            times, stale = await run_round(bench)
            samples.add(times, stale)
            if number % 10 == 0 or number == rounds:
                print(f"  measured {number}/{rounds} mortgage rounds", flush=True)
    finally:
        await bench.close()
    return samples


def run_mortgage_rounds(
    desk_url: str,
    rasa_url: str,
    password: str,
    secret: str,
    codes_file: Path,
    rounds: int,
    warmup: int,
    on_measuring: Callable[[], None] | None = None,
) -> MortgageSamples:
    """`measure_mortgage` on a new event loop."""
    return asyncio.run(
        measure_mortgage(
            desk_url, rasa_url, password, secret, codes_file, rounds, warmup, on_measuring
        )
    )
