"""Resuming with verification: the e-mail on file, a one-time code, failures and the lock."""

from __future__ import annotations

import hashlib
import json
import logging
import stat
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from contract.resume import (
    CODE_TTL_MINUTES,
    LOCKOUT_MINUTES,
    MAX_FAILED_ATTEMPTS,
    ResumeGranted,
    VerificationConfirm,
    VerificationRefused,
    VerificationStart,
)
from desk.code_sender import LogCodeSender
from desk.services import applications, verification
from desk.services.verification import EXPIRED_CODE, WRONG_CODE, ResumeLocked
from desk.store.database import Database
from desk.store.models import ApplicationEvent, MortgageApplication, ResumeCode
from logsupport.masking import mask_email
from tests.support.applications import mortgage_intake

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")

NOW = datetime(2025, 3, 14, 10, 0, tzinfo=timezone.utc)
EMAIL = "Jane.Smith@Example.com"
NEW_CHAT = "web-new-device"


@dataclass
class SentCode:
    """One code as the sender was given it."""

    reference: str
    email: str
    code: str
    sent_at: datetime


@dataclass
class RecordingSender:
    """A `CodeSender` that keeps what it was asked to send."""

    sent: list[SentCode] = field(default_factory=list)

    def send(self, *, reference: str, email: str, code: str, sent_at: datetime) -> None:
        """Keep the code."""
        self.sent.append(SentCode(reference, email, code, sent_at))


@pytest.fixture
def sender() -> RecordingSender:
    """Records the codes sent."""
    return RecordingSender()


@pytest.fixture
def reference(database: Database) -> str:
    """An application whose e-mail on file is EMAIL."""
    with database.session(write=True) as session:
        record = applications.create_application(
            session, mortgage_intake(email=EMAIL), origin_channel="rest", origin_sender_id="web-1"
        )
    return record.reference


def start(
    db: Database,
    reference: str,
    sender: RecordingSender,
    *,
    email: str = EMAIL,
    chat: str = NEW_CHAT,
    now: datetime = NOW,
) -> Any:
    """Start a verification."""
    with db.session(write=True) as session:
        return verification.start(
            session,
            reference,
            VerificationStart(email=email, sender_id=chat),
            sender=sender,
            now=now,
        )


def confirm(
    db: Database, reference: str, code: str, *, chat: str = NEW_CHAT, now: datetime = NOW
) -> ResumeGranted | VerificationRefused:
    """Confirm a code."""
    with db.session(write=True) as session:
        return verification.confirm(
            session, reference, VerificationConfirm(code=code, sender_id=chat), now=now
        )


def state(db: Database, reference: str) -> tuple[int, datetime | None, list[str], bool]:
    """(failures, locked until, timeline kinds, NEW_CHAT linked)."""
    with db.session() as session:
        application = applications.load(session, reference)
        return (
            application.failed_verifications,
            application.resume_locked_until,
            [event.kind for event in application.events],
            applications.is_linked(application, NEW_CHAT),
        )


def full_width(text: str) -> str:
    """`text` (ASCII letters and digits) in full-width forms, as some keyboards type them."""
    return "".join(chr(ord(char) + 0xFEE0) for char in text)


def wrong_code(code: str) -> str:
    """Another code than `code`."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_the_right_email_and_code_resume_and_link_the_new_chat(
    database: Database, reference: str, sender: RecordingSender
) -> None:
    answer = start(database, reference, sender, email="  jane.smith@EXAMPLE.com ")

    (sent,) = sender.sent
    assert answer.expires_in_seconds == CODE_TTL_MINUTES * 60
    assert (sent.reference, sent.email, sent.sent_at) == (reference, EMAIL, NOW)
    assert len(sent.code) == 6 and sent.code.isdigit()

    granted = confirm(database, reference, sent.code, now=NOW + timedelta(minutes=9))

    assert isinstance(granted, ResumeGranted)
    assert granted.application.reference == reference
    resumed = granted.application.events[-1]
    assert (resumed.kind, resumed.touchpoint, resumed.actor_kind) == (
        "resumed",
        "web_chat",
        "customer",
    )
    failures, locked_until, _, linked = state(database, reference)
    assert (failures, locked_until, linked) == (0, None, True)


def test_the_email_is_compared_in_its_unicode_normal_form(
    database: Database, reference: str, sender: RecordingSender
) -> None:
    # Full-width letters and a trailing space, as a phone keyboard may send them.
    start(database, reference, sender, email=full_width("jane") + ".smith@example.com ")

    assert len(sender.sent) == 1


def test_only_the_digest_of_the_code_is_stored_bound_to_the_chat(
    database: Database, reference: str, sender: RecordingSender
) -> None:
    start(database, reference, sender)

    with database.session() as session:
        (code,) = session.scalars(select(ResumeCode)).all()
    sent = sender.sent[0].code
    assert code.code_digest == hashlib.sha256(sent.encode()).hexdigest()
    assert sent not in code.code_digest
    assert code.sender_id == NEW_CHAT
    assert code.expires_at == NOW + timedelta(minutes=CODE_TTL_MINUTES)


def test_a_code_typed_with_spaces_or_full_width_digits_works(
    database: Database, reference: str, sender: RecordingSender
) -> None:
    start(database, reference, sender)
    code = sender.sent[0].code
    typed = " " + code[:3] + " " + full_width(code[3:])

    assert isinstance(confirm(database, reference, typed), ResumeGranted)


def test_a_wrong_email_sends_nothing_and_counts_a_failure_without_the_typed_email(
    database: Database, reference: str, sender: RecordingSender
) -> None:
    answer = start(database, reference, sender, email="mallory@example.com")

    assert answer == verification.started()
    assert sender.sent == []
    failures, _, kinds, linked = state(database, reference)
    assert (failures, kinds[-1], linked) == (1, "verification_failed", False)
    with database.session() as session:
        entry = session.scalars(
            select(ApplicationEvent).order_by(ApplicationEvent.id.desc())
        ).first()
    assert entry is not None
    assert (entry.touchpoint, entry.actor_kind) == ("web_chat", "customer")
    assert entry.detail == {"step": "email", "failures": 1}
    assert "mallory" not in json.dumps(entry.detail)


def test_an_unknown_reference_is_answered_like_a_wrong_email_and_touches_no_application(
    database: Database, reference: str, sender: RecordingSender
) -> None:
    def counts() -> tuple[int, int]:
        with database.session() as session:
            return (
                session.scalar(select(func.count()).select_from(ApplicationEvent)) or 0,
                session.scalar(select(func.count()).select_from(ResumeCode)) or 0,
            )

    before = counts()
    unknown = start(database, "MTG-00000", sender)
    garbage = start(database, "<script>' OR 1=1 --", sender)
    wrong_email = start(database, reference, sender, email="mallory@example.com")

    assert unknown == garbage == wrong_email
    assert sender.sent == []
    assert counts() == (before[0] + 1, 0)  # only the wrong e-mail's failure
    # Counted alike: a wrong e-mail, then a wrong code, on either.
    assert confirm(database, "MTG-00000", "123456") == VerificationRefused(
        error=WRONG_CODE, attempts_left=MAX_FAILED_ATTEMPTS - 2
    )
    assert confirm(database, reference, "123456") == VerificationRefused(
        error=WRONG_CODE, attempts_left=MAX_FAILED_ATTEMPTS - 2
    )


def test_a_wrong_code_is_refused_with_the_attempts_left(
    database: Database, reference: str, sender: RecordingSender
) -> None:
    start(database, reference, sender)

    refused = confirm(database, reference, wrong_code(sender.sent[0].code))

    assert refused == VerificationRefused(error=WRONG_CODE, attempts_left=MAX_FAILED_ATTEMPTS - 1)
    failures, _, kinds, linked = state(database, reference)
    assert (failures, kinds[-1], linked) == (1, "verification_failed", False)


def test_an_expired_code_is_refused_and_counts(
    database: Database, reference: str, sender: RecordingSender
) -> None:
    start(database, reference, sender)

    refused = confirm(
        database, reference, sender.sent[0].code, now=NOW + timedelta(minutes=CODE_TTL_MINUTES)
    )

    assert refused == VerificationRefused(error=EXPIRED_CODE, attempts_left=MAX_FAILED_ATTEMPTS - 1)
    assert state(database, reference)[3] is False


def test_a_code_works_only_in_the_chat_it_was_sent_for(
    database: Database, reference: str, sender: RecordingSender
) -> None:
    start(database, reference, sender)

    refused = confirm(database, reference, sender.sent[0].code, chat="web-someone-else")

    assert isinstance(refused, VerificationRefused)
    assert refused.error == WRONG_CODE
    with database.session() as session:
        application = applications.load(session, reference)
        assert not applications.is_linked(application, "web-someone-else")


def test_a_code_works_once(database: Database, reference: str, sender: RecordingSender) -> None:
    start(database, reference, sender)
    code = sender.sent[0].code
    assert isinstance(confirm(database, reference, code), ResumeGranted)

    again = confirm(database, reference, code)

    assert isinstance(again, VerificationRefused)


def test_a_new_code_replaces_the_one_sent_before(
    database: Database,
    reference: str,
    sender: RecordingSender,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codes = iter(["111111", "222222"])  # random codes could, rarely, be equal
    monkeypatch.setattr(verification, "new_code", lambda: next(codes))
    start(database, reference, sender)
    start(database, reference, sender)
    first, second = (sent.code for sent in sender.sent)

    assert isinstance(confirm(database, reference, first), VerificationRefused)
    assert isinstance(confirm(database, reference, second), ResumeGranted)


def test_five_failures_in_a_row_lock_resuming_for_fifteen_minutes(
    database: Database, reference: str, sender: RecordingSender
) -> None:
    start(database, reference, sender)
    wrong = wrong_code(sender.sent[0].code)
    answers = [
        confirm(database, reference, wrong, now=NOW + timedelta(seconds=i))
        for i in range(MAX_FAILED_ATTEMPTS)
    ]

    assert [a.attempts_left for a in answers if isinstance(a, VerificationRefused)] == [
        4,
        3,
        2,
        1,
        0,
    ]
    locked_at = NOW + timedelta(seconds=MAX_FAILED_ATTEMPTS - 1)
    until = locked_at + timedelta(minutes=LOCKOUT_MINUTES)
    last = answers[-1]
    assert isinstance(last, VerificationRefused)
    assert last.locked_until == until
    failures, locked_until, kinds, _ = state(database, reference)
    assert (failures, locked_until) == (MAX_FAILED_ATTEMPTS, until)
    assert kinds[-2:] == ["verification_failed", "resume_locked"]

    # While locked even the right code and the right e-mail are refused, and nothing counts.
    for attempt in (
        lambda: confirm(database, reference, sender.sent[0].code, now=until - timedelta(seconds=1)),
        lambda: start(database, reference, sender, now=until - timedelta(seconds=1)),
    ):
        with pytest.raises(ResumeLocked) as locked:
            attempt()
        assert locked.value.locked_until == until
        assert locked.value.refusal().locked_until == until
    assert state(database, reference)[:3] == (failures, locked_until, kinds)
    assert len(sender.sent) == 1

    # Once the lock has run out, a new code works and the count starts again.
    start(database, reference, sender, now=until)
    granted = confirm(database, reference, sender.sent[-1].code, now=until)
    assert isinstance(granted, ResumeGranted)
    assert state(database, reference)[:2] == (0, None)


def test_wrong_emails_and_wrong_codes_count_together(
    database: Database, reference: str, sender: RecordingSender
) -> None:
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        start(database, reference, sender, email="mallory@example.com")
    start(database, reference, sender)

    last = confirm(database, reference, wrong_code(sender.sent[0].code))

    assert isinstance(last, VerificationRefused)
    assert last.locked_until == NOW + timedelta(minutes=LOCKOUT_MINUTES)


def test_a_success_resets_the_count(
    database: Database, reference: str, sender: RecordingSender
) -> None:
    start(database, reference, sender, email="mallory@example.com")
    start(database, reference, sender)
    assert isinstance(confirm(database, reference, sender.sent[0].code), ResumeGranted)

    assert state(database, reference)[0] == 0


def test_the_demo_outbox_logs_the_code_with_the_email_masked(
    database: Database, reference: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    codes_file = tmp_path / "codes" / "resume-codes.jsonl"
    outbox = LogCodeSender(codes_file)

    with (
        caplog.at_level(logging.INFO, logger="desk.demo_outbox"),
        database.session(write=True) as session,
    ):
        verification.start(
            session,
            reference,
            VerificationStart(email=EMAIL, sender_id=NEW_CHAT),
            sender=outbox,
            now=NOW,
        )

    (line,) = json.loads("[" + codes_file.read_text(encoding="utf-8").strip() + "]")
    assert line == {"reference": reference, "code": line["code"], "sent_at": NOW.isoformat()}
    assert stat.S_IMODE(codes_file.stat().st_mode) == 0o600  # codes: its owner alone reads them
    (logged,) = [r.getMessage() for r in caplog.records if r.name == "desk.demo_outbox"]
    assert line["code"] in logged
    assert reference in logged
    assert "J***@E***.com" in logged
    assert "Jane" not in logged and "Smith" not in logged and "Example" not in logged
    assert isinstance(confirm(database, reference, line["code"]), ResumeGranted)


def test_the_demo_outbox_without_a_file_only_logs(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    with caplog.at_level(logging.INFO, logger="desk.demo_outbox"):
        LogCodeSender().send(reference="MTG-1", email="a@b.c", code="012345", sent_at=NOW)

    assert "012345" in caplog.text
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("jane.smith@example.com", "j***@e***.com"),
        ("x@localhost", "x***@l***"),
        ("not-an-email", "***@n***"),
        ("", "***@***"),
    ],
)
def test_mask_email_keeps_only_a_hint(email: str, masked: str) -> None:
    assert mask_email(email) == masked


def test_every_application_row_is_untouched_by_an_unknown_reference(database: Database) -> None:
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(MortgageApplication)) == 0
    assert confirm(database, "MTG-00000", "000000") == VerificationRefused(
        error=WRONG_CODE, attempts_left=MAX_FAILED_ATTEMPTS - 1
    )
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(MortgageApplication)) == 0


def test_guesses_at_an_unknown_reference_count_and_lock_like_a_real_one(
    database: Database, reference: str, sender: RecordingSender
) -> None:
    real, made_up = [], []
    for attempt in range(MAX_FAILED_ATTEMPTS):
        later = NOW + timedelta(seconds=attempt)
        real.append(confirm(database, reference, "000000", now=later))
        made_up.append(confirm(database, "MTG-ZZZZZ", "000000", now=later))

    assert made_up == real
    assert [answer.attempts_left for answer in real] == [4, 3, 2, 1, 0]
    assert real[-1].locked_until == NOW + timedelta(seconds=4, minutes=LOCKOUT_MINUTES)
    for guessed in (reference, "MTG-ZZZZZ"):
        with pytest.raises(ResumeLocked):
            start(database, guessed, sender, now=NOW + timedelta(minutes=1))
    after_the_lock = NOW + timedelta(minutes=LOCKOUT_MINUTES, seconds=5)
    assert confirm(database, "MTG-ZZZZZ", "000000", now=after_the_lock).attempts_left == 4


def _at_once(count: int, attempt: Callable[[], Any]) -> list[Any]:
    """Run `attempt` in `count` threads released together; each outcome (or its exception)."""
    release = threading.Barrier(count)

    def run() -> Any:
        release.wait(timeout=30)
        try:
            return attempt()
        except ResumeLocked as locked:
            return locked

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: run(), range(count)))


def test_parallel_guesses_cannot_slip_past_the_lockout(any_database: Database) -> None:
    sender = RecordingSender()
    with any_database.session(write=True) as session:
        reference = applications.create_application(
            session, mortgage_intake(email=EMAIL), origin_channel="rest", origin_sender_id="web-1"
        ).reference
    start(any_database, reference, sender)
    wrong = wrong_code(sender.sent[0].code)

    outcomes = _at_once(8, lambda: confirm(any_database, reference, wrong))

    refused = [o for o in outcomes if isinstance(o, VerificationRefused)]
    locked = [o for o in outcomes if isinstance(o, ResumeLocked)]
    assert sorted(o.attempts_left for o in refused) == [0, 1, 2, 3, 4]
    assert len(locked) == 3
    assert state(any_database, reference)[0] == MAX_FAILED_ATTEMPTS


def test_one_code_confirmed_twice_at_once_resumes_once(any_database: Database) -> None:
    sender = RecordingSender()
    with any_database.session(write=True) as session:
        reference = applications.create_application(
            session, mortgage_intake(email=EMAIL), origin_channel="rest", origin_sender_id="web-1"
        ).reference
    start(any_database, reference, sender)
    code = sender.sent[0].code

    outcomes = _at_once(2, lambda: confirm(any_database, reference, code))

    assert sorted(type(o).__name__ for o in outcomes) == ["ResumeGranted", "VerificationRefused"]
    assert state(any_database, reference)[3] is True
