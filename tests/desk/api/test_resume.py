"""The resume routes: start a verification (202), confirm its code (200, 401, 423)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from contract.resume import CODE_TTL_MINUTES, MAX_FAILED_ATTEMPTS
from desk.app import MAX_BODY_BYTES
from desk.settings import DeskSettings
from desk.store.database import Database
from desk.store.models import ApplicationChat, ApplicationEvent, ResumeCode
from tests.desk.conftest import Browser, post_application

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")

EMAIL = "jane@example.com"  # the e-mail of tests.support.applications.mortgage_intake
NEW_CHAT = "web-new-device"
STARTED = {"expires_in_seconds": CODE_TTL_MINUTES * 60}


@pytest.fixture
def codes_file(tmp_path: Path) -> Path:
    """Where the demo outbox appends the codes it sends."""
    return tmp_path / "outbox" / "codes.jsonl"


@pytest.fixture
def settings(settings: DeskSettings, codes_file: Path) -> DeskSettings:
    """The test settings with the demo codes file set, as the end-to-end tests run it."""
    return settings.copy(update={"demo_codes_file": codes_file})


def sent_codes(codes_file: Path) -> list[dict[str, Any]]:
    """The codes the demo outbox wrote, oldest first."""
    if not codes_file.exists():
        return []
    return [json.loads(line) for line in codes_file.read_text(encoding="utf-8").splitlines()]


def rows(database: Database) -> tuple[int, int, int]:
    """How many timeline entries, codes and linked chats there are."""
    with database.session() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in (ApplicationEvent, ResumeCode, ApplicationChat)
        )


async def start(bot: Browser, reference: str, email: str = EMAIL) -> tuple[int, Any]:
    """POST the verification."""
    return await bot.post(
        f"/api/applications/{reference}/verification",
        json={"email": email, "sender_id": NEW_CHAT},
    )


async def confirm(bot: Browser, reference: str, code: str) -> tuple[int, Any]:
    """POST the code."""
    return await bot.post(
        f"/api/applications/{reference}/verification/confirm",
        json={"code": code, "sender_id": NEW_CHAT},
    )


async def test_the_right_email_and_code_resume_with_the_record(
    bot: Browser, codes_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reference = await post_application(bot)

    with caplog.at_level(logging.INFO, logger="desk.demo_outbox"):
        started = await start(bot, reference.lower(), email=" JANE@example.COM")
    (sent,) = sent_codes(codes_file)
    status, body = await confirm(bot, reference, sent["code"])

    assert started == (202, STARTED)
    assert sent["reference"] == reference
    assert sent["code"] in caplog.text and "j***@e***.com" in caplog.text
    assert "jane@" not in caplog.text.lower()
    assert status == 200, body
    assert body["application"]["reference"] == reference
    assert body["application"]["events"][-1]["kind"] == "resumed"


async def test_a_wrong_email_and_an_unknown_reference_get_the_same_202(
    bot: Browser, database: Database, codes_file: Path
) -> None:
    reference = await post_application(bot)
    before = rows(database)

    answers = [
        await start(bot, reference, email="mallory@example.com"),
        await start(bot, "MTG-00000"),
        await start(bot, "<script>alert(1)<script>"),
        await start(bot, "x" * 2000),
    ]

    assert answers == [(202, STARTED)] * 4
    assert sent_codes(codes_file) == []
    assert rows(database) == (before[0] + 1, 0, before[2])  # one failure, for the real one


async def test_a_wrong_code_is_401_with_the_attempts_left(bot: Browser) -> None:
    reference = await post_application(bot)
    await start(bot, reference)

    status, body = await confirm(bot, reference, "not-a-code")

    assert status == 401
    assert body == {
        "error": "that code is not right",
        "attempts_left": MAX_FAILED_ATTEMPTS - 1,
        "locked_until": None,
    }


async def test_a_code_for_an_unknown_reference_is_the_same_401(bot: Browser) -> None:
    status, body = await confirm(bot, "MTG-00000", "123456")

    assert status == 401
    assert body["attempts_left"] == MAX_FAILED_ATTEMPTS - 1


async def test_after_five_failures_both_routes_answer_423_with_the_time(
    bot: Browser, database: Database, codes_file: Path
) -> None:
    reference = await post_application(bot)
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        assert (await start(bot, reference, email="mallory@example.com"))[0] == 202
    await start(bot, reference)
    (sent,) = sent_codes(codes_file)

    fifth = await confirm(bot, reference, "000000" if sent["code"] != "000000" else "111111")
    right_code = await confirm(bot, reference, sent["code"])
    again = await start(bot, reference)

    assert fifth[0] == 423
    assert fifth[1]["attempts_left"] == 0
    assert fifth[1]["locked_until"] is not None
    assert "locked" in fifth[1]["error"]
    assert right_code == (423, fifth[1])
    assert again == (423, fifth[1])
    assert len(sent_codes(codes_file)) == 1
    with database.session() as session:
        linked = session.scalars(select(ApplicationChat.sender_id)).all()
    assert NEW_CHAT not in linked


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("verification", {"email": "<b>@x", "sender_id": ""}, "/sender_id"),
        ("verification", {"email": "a" * 321, "sender_id": NEW_CHAT}, "/email"),
        ("verification", {"email": 5, "sender_id": NEW_CHAT}, "/email"),
        ("verification", {"sender_id": NEW_CHAT}, "/email"),
        ("verification", {"email": EMAIL, "sender_id": NEW_CHAT, "dob": "1990"}, "/dob"),
        ("verification/confirm", {"code": "1" * 33, "sender_id": NEW_CHAT}, "/code"),
        ("verification/confirm", {"code": 123456, "sender_id": NEW_CHAT}, "/code"),
    ],
)
async def test_a_malformed_body_is_422_and_counts_nothing(
    bot: Browser, database: Database, path: str, body: dict[str, Any], field: str
) -> None:
    reference = await post_application(bot)
    before = rows(database)

    status, answer = await bot.post(f"/api/applications/{reference}/{path}", json=body)

    assert status == 422
    assert any(error.startswith(field) for error in answer["errors"])
    assert rows(database) == before


async def test_sql_and_markup_in_the_email_are_just_a_wrong_email(
    bot: Browser, database: Database, codes_file: Path
) -> None:
    reference = await post_application(bot)

    for email in ("' OR '1'='1", "jane@example.com'; DROP TABLE resume_codes; --", "<img src=x>"):
        assert await start(bot, reference, email=email) == (202, STARTED)

    assert sent_codes(codes_file) == []
    _, record = await bot.get(f"/api/applications/{reference}")
    failed = [e for e in record["events"] if e["kind"] == "verification_failed"]
    assert len(failed) == 3
    assert all(e["detail"].keys() == {"step", "failures"} for e in failed)
    assert rows(database)[1] == 0  # the table is still there, and empty


async def test_a_huge_body_is_413_and_counts_nothing(bot: Browser, database: Database) -> None:
    reference = await post_application(bot)
    before = rows(database)

    status, _ = await bot.post(
        f"/api/applications/{reference}/verification",
        json={"email": "x" * MAX_BODY_BYTES, "sender_id": NEW_CHAT},
    )

    assert status == 413
    assert rows(database) == before


@pytest.mark.parametrize("path", ["verification", "verification/confirm"])
async def test_the_resume_routes_need_the_bearer(
    anonymous: Browser, sam: Browser, bot: Browser, database: Database, path: str
) -> None:
    reference = await post_application(bot)
    before = rows(database)
    body = {"email": EMAIL, "code": "123456", "sender_id": NEW_CHAT}

    for client in (anonymous, sam):  # a desk session is not the bot
        status, _ = await client.post(f"/api/applications/{reference}/{path}", json=body)
        assert status == 401

    assert rows(database) == before
