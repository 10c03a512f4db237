"""What the resume workflows publish, through the real app (`desk.workflows.resume`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from contract.resume import MAX_FAILED_ATTEMPTS
from desk.settings import DeskSettings
from tests.desk.api.test_resume import confirm, sent_codes, start
from tests.desk.conftest import Browser, post_application
from tests.desk.workflows.test_events_published import record

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")


@pytest.fixture
def codes_file(tmp_path: Path) -> Path:
    """Where the demo outbox appends the codes it sends."""
    return tmp_path / "codes.jsonl"


@pytest.fixture
def settings(settings: DeskSettings, codes_file: Path) -> DeskSettings:
    """The test settings with the demo codes file set."""
    return settings.copy(update={"demo_codes_file": codes_file})


async def test_failures_the_lock_and_the_resume_are_each_published(
    server: TestServer, bot: Browser, codes_file: Path
) -> None:
    reference = await post_application(bot)
    published = record(server)

    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        await start(bot, reference, email="mallory@example.com")
    await start(bot, reference)
    (sent,) = sent_codes(codes_file)
    await confirm(bot, reference, "000000" if sent["code"] != "000000" else "111111")

    kinds = [event.payload()["kind"] for event in published]
    assert kinds == ["verification_failed"] * MAX_FAILED_ATTEMPTS + ["resume_locked"]
    assert {event.payload()["reference"] for event in published} == {reference}


async def test_a_resume_is_published(server: TestServer, bot: Browser, codes_file: Path) -> None:
    reference = await post_application(bot)
    await start(bot, reference)
    published = record(server)

    status, _ = await confirm(bot, reference, sent_codes(codes_file)[0]["code"])

    assert status == 200
    assert [(e.payload()["kind"], e.payload()["actor_kind"]) for e in published] == [
        ("resumed", "customer")
    ]


async def test_an_unknown_reference_publishes_nothing(server: TestServer, bot: Browser) -> None:
    published = record(server)

    await start(bot, "MTG-00000")
    await confirm(bot, "MTG-00000", "123456")

    assert published == []
