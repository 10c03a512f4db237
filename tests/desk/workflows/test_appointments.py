"""What the appointment workflows publish, through the real app (`desk.workflows.appointments`)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer

from desk.store.database import Database
from tests.desk.api.test_appointments import ONE_DESK, first_slots, ready_to_sign
from tests.desk.conftest import Browser
from tests.desk.workflows.test_events_published import record

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")


async def test_booking_moving_and_cancelling_each_publish_their_entry(
    server: TestServer, bot: Browser, database: Database
) -> None:
    reference = await ready_to_sign(bot, database)
    first, second = (await first_slots(bot))[:2]
    path = f"/api/applications/{reference}/appointment"
    published = record(server)

    await bot.post(path, json={"branch": ONE_DESK, "starts_at": first["starts_at"]})
    await bot.request("PUT", path, json={"branch": ONE_DESK, "starts_at": second["starts_at"]})
    await bot.request("DELETE", path)

    assert [(e.payload()["kind"], e.payload()["stage"]) for e in published] == [
        ("appointment_booked", "appointment_booked"),
        ("appointment_rescheduled", "appointment_booked"),
        ("appointment_cancelled", "ready_to_sign"),
    ]
    assert {e.payload()["reference"] for e in published} == {reference}
    assert {(e.payload()["touchpoint"], e.payload()["actor_kind"]) for e in published} == {
        ("web_chat", "customer")
    }


async def test_a_refused_booking_publishes_nothing(
    server: TestServer, bot: Browser, database: Database
) -> None:
    taken, late = [await ready_to_sign(bot, database) for _ in range(2)]
    slot = (await first_slots(bot))[0]
    chosen = {"branch": ONE_DESK, "starts_at": slot["starts_at"]}
    await bot.post(f"/api/applications/{taken}/appointment", json=chosen)
    published = record(server)

    status, _ = await bot.post(f"/api/applications/{late}/appointment", json=chosen)

    assert status == 409
    assert published == []
