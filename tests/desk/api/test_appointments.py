"""The branch appointment routes: the bot's (bearer) and the case workers' (session)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from contract.appointments import MAX_SLOT_DAYS
from desk.app import MAX_BODY_BYTES
from desk.services.agents import create_agent
from desk.services.appointments import SLOT_TAKEN
from desk.services.branches import branches
from desk.store.database import Database
from desk.store.models import AgentRole, BranchAppointment, MortgageApplication
from desk.store.types import utcnow
from tests.desk.conftest import PASSWORD, Browser, post_application

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")

ONE_DESK = "manchester_king_street"
TWO_DESKS = "leeds_park_row"


async def ready_to_sign(bot: Browser, database: Database) -> str:
    """A new application whose documents are all accepted (set directly); its reference."""
    reference = await post_application(bot)
    with database.session(write=True) as session:
        session.execute(
            update(MortgageApplication)
            .where(MortgageApplication.reference == reference)
            .values(stage="ready_to_sign")
        )
    return reference


async def first_slots(client: Browser, branch: str = ONE_DESK, *, prefix: str = "/api") -> Any:
    """The branch's first free slots (default query)."""
    segment = "branches" if prefix == "/api" else "case-branches"
    status, body = await client.get(f"/api/{segment}/{branch}/slots")
    assert status == 200, body
    return body["slots"]


def appointment_count(database: Database) -> int:
    """How many appointment rows there are."""
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(BranchAppointment)) or 0


@pytest.fixture
def add_user(database: Database, browsers: Callable[..., Browser]) -> Callable[..., Any]:
    """Create a desk user and log them in."""

    async def add(username: str, **kwargs: Any) -> Browser:
        with database.session(write=True) as session:
            create_agent(
                session,
                username=username,
                display_name=username.title(),
                password=PASSWORD,
                **kwargs,
            )
        return await browsers().login(username)

    return add


@pytest.fixture
async def maya(add_user: Callable[..., Any]) -> Browser:
    """A mortgage advisor (queue mortgage_advisors), logged in."""
    browser: Browser = await add_user("maya", queues=("mortgage_advisors",))
    return browser


# --- Branches and slots (bot) ------------------------------------------------------------------


async def test_the_bot_lists_the_branches(bot: Browser) -> None:
    status, body = await bot.get("/api/branches")

    assert status == 200
    assert [branch["key"] for branch in body["branches"]] == list(branches())
    assert body["branches"][0] == {
        "key": TWO_DESKS,
        "name": "Leeds, Park Row",
        "address": "12 Park Row, Leeds LS1 5HD",
        "timezone": "Europe/London",
    }


async def test_the_slots_default_to_six_from_today_none_begun(bot: Browser) -> None:
    before = utcnow()
    status, body = await bot.get(f"/api/branches/{TWO_DESKS}/slots")

    assert status == 200
    assert body["branch"]["key"] == TWO_DESKS
    assert len(body["slots"]) == 6
    starts = [datetime.fromisoformat(slot["starts_at"]) for slot in body["slots"]]
    assert starts == sorted(starts)
    assert all(start > before for start in starts)
    assert starts[0] - before < timedelta(days=4)  # today or the next open day
    assert {slot["free_desks"] for slot in body["slots"]} == {2}


async def test_the_slots_query_picks_the_window(bot: Browser) -> None:
    day = utcnow().date() + timedelta(days=30)

    status, body = await bot.get(f"/api/branches/{ONE_DESK}/slots?from={day}&days=7&limit=50")

    assert status == 200
    local_days = {
        datetime.fromisoformat(slot["starts_at"]).astimezone(branches()[ONE_DESK].zone).date()
        for slot in body["slots"]
    }
    assert local_days and min(local_days) >= day and max(local_days) < day + timedelta(days=7)
    # Manchester opens on Monday, Wednesday, Friday and Saturday.
    assert {d.weekday() for d in local_days} == {0, 2, 4, 5}


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("from=tomorrow", "from"),
        ("from=2025-02-30", "from"),
        ("from=2025-1-1", "from"),
        ("days=abc", "days"),
        ("days=-1", "days"),
        ("days=0", "days"),
        (f"days={MAX_SLOT_DAYS + 1}", "days"),
        ("limit=1e3", "limit"),
        ("limit=51", "limit"),
        ("limit=99999999999999999999", "limit"),
        ("from=9999-12-31", "from"),
        ("from=%3Cscript%3E", "from"),
    ],
)
async def test_a_bad_slots_query_is_422_naming_the_parameter(
    bot: Browser, query: str, named: str
) -> None:
    status, body = await bot.get(f"/api/branches/{ONE_DESK}/slots?{query}")

    assert status == 422, body
    assert body["errors"][0].startswith(f"{named}: ")
    assert len(body["error"]) < 200


async def test_an_unknown_branch_is_404(bot: Browser) -> None:
    status, body = await bot.get("/api/branches/" + "x%27%3B--" * 50 + "/slots")

    assert status == 404
    assert body["error"].startswith("no branch")
    assert len(body["error"]) < 100


@pytest.mark.parametrize(
    "path", ["/api/branches", f"/api/branches/{ONE_DESK}/slots", "/api/case-branches"]
)
async def test_the_branch_routes_need_credentials(anonymous: Browser, path: str) -> None:
    assert (await anonymous.get(path))[0] == 401


# --- Booking (bot) -----------------------------------------------------------------------------


async def test_the_bot_books_a_slot_for_the_customer(bot: Browser, database: Database) -> None:
    reference = await ready_to_sign(bot, database)
    slot = (await first_slots(bot))[0]

    status, body = await bot.post(
        f"/api/applications/{reference.lower()}/appointment",
        json={"branch": ONE_DESK, "starts_at": slot["starts_at"]},
    )

    assert status == 201, body
    assert body["reference"] == reference
    assert body["stage"] == "appointment_booked"
    appointment = body["appointment"]
    assert (appointment["branch"], appointment["state"], appointment["label"]) == (
        ONE_DESK,
        "booked",
        slot["label"],
    )
    assert appointment["branch_name"] == "Manchester, King Street"
    entry = body["events"][-1]
    assert (entry["kind"], entry["touchpoint"], entry["actor_kind"], entry["actor"]) == (
        "appointment_booked",
        "web_chat",
        "customer",
        None,
    )
    # The slot is gone from the list (one desk).
    assert slot["starts_at"] not in [s["starts_at"] for s in await first_slots(bot)]


async def test_two_customers_racing_for_the_last_desk_one_gets_201_the_other_409(
    bot: Browser, database: Database
) -> None:
    first, second = [await ready_to_sign(bot, database) for _ in range(2)]
    slot = (await first_slots(bot))[0]
    chosen = {"branch": ONE_DESK, "starts_at": slot["starts_at"]}

    answers = await asyncio.gather(
        bot.post(f"/api/applications/{first}/appointment", json=chosen),
        bot.post(f"/api/applications/{second}/appointment", json=chosen),
    )

    assert sorted(status for status, _ in answers) == [201, 409]
    (refused,) = [body for status, body in answers if status == 409]
    assert refused == {"error": SLOT_TAKEN}
    assert appointment_count(database) == 1


async def test_booking_before_ready_to_sign_is_409_and_writes_nothing(
    bot: Browser, database: Database
) -> None:
    reference = await post_application(bot)  # still at intake
    slot = (await first_slots(bot))[0]

    status, body = await bot.post(
        f"/api/applications/{reference}/appointment",
        json={"branch": ONE_DESK, "starts_at": slot["starts_at"]},
    )

    assert status == 409
    assert "stage intake" in body["error"]
    assert appointment_count(database) == 0


@pytest.mark.parametrize(
    ("booking", "status", "fragment"),
    [
        ({"branch": ONE_DESK, "starts_at": "2020-01-06T09:30:00+00:00"}, 422, "already begun"),
        ({"branch": ONE_DESK, "starts_at": "2099-01-05T09:31:00+00:00"}, 422, "not one of"),
        ({"branch": ONE_DESK, "starts_at": "2099-01-05T09:30:00"}, 422, "time zone"),
        ({"branch": ONE_DESK, "starts_at": "soon"}, 422, "/starts_at"),
        ({"branch": "atlantis", "starts_at": "2099-01-05T09:30:00+00:00"}, 404, "no branch"),
        ({"branch": "<b>x</b>' OR 1=1 --", "starts_at": "2099-01-05T09:30:00Z"}, 404, "no branch"),
        ({"branch": "x" * 65, "starts_at": "2099-01-05T09:30:00Z"}, 422, "/branch"),
        ({"branch": ONE_DESK}, 422, "/starts_at"),
        ({"branch": ONE_DESK, "starts_at": "2099-01-05T09:30:00Z", "desk": 1}, 422, "/desk"),
    ],
)
async def test_a_bad_booking_is_refused_and_writes_nothing(
    bot: Browser, database: Database, booking: dict[str, Any], status: int, fragment: str
) -> None:
    reference = await ready_to_sign(bot, database)

    answer, body = await bot.post(f"/api/applications/{reference}/appointment", json=booking)

    assert answer == status, body
    assert fragment in body["error"] or any(fragment in e for e in body.get("errors", []))
    assert appointment_count(database) == 0
    assert (await bot.get(f"/api/applications/{reference}"))[1]["stage"] == "ready_to_sign"


async def test_a_huge_booking_body_is_413_and_writes_nothing(
    bot: Browser, database: Database
) -> None:
    reference = await ready_to_sign(bot, database)

    status, _ = await bot.post(
        f"/api/applications/{reference}/appointment",
        json={"branch": ONE_DESK, "starts_at": "x" * MAX_BODY_BYTES},
    )

    assert status == 413
    assert appointment_count(database) == 0


async def test_booking_for_an_unknown_application_is_404(bot: Browser) -> None:
    status, body = await bot.post(
        "/api/applications/MTG-00000/appointment",
        json={"branch": ONE_DESK, "starts_at": "2099-01-05T09:30:00Z"},
    )

    assert status == 404
    assert "MTG-00000" in body["error"]


async def test_the_bot_moves_then_cancels_the_appointment(bot: Browser, database: Database) -> None:
    reference = await ready_to_sign(bot, database)
    first, second = (await first_slots(bot))[:2]
    path = f"/api/applications/{reference}/appointment"
    assert (await bot.post(path, json={"branch": ONE_DESK, "starts_at": first["starts_at"]}))[
        0
    ] == 201

    moved_status, moved = await bot.request(
        "PUT", path, json={"branch": ONE_DESK, "starts_at": second["starts_at"]}
    )
    cancelled_status, cancelled = await bot.request("DELETE", path)

    assert moved_status == 200, moved
    assert (moved["stage"], moved["appointment"]["label"]) == (
        "appointment_booked",
        second["label"],
    )
    assert moved["events"][-1]["kind"] == "appointment_rescheduled"
    assert moved["events"][-1]["detail"]["from"]["label"] == first["label"]
    assert cancelled_status == 200, cancelled
    assert (cancelled["stage"], cancelled["appointment"]) == ("ready_to_sign", None)
    assert cancelled["events"][-1]["kind"] == "appointment_cancelled"
    assert first["starts_at"] in [s["starts_at"] for s in await first_slots(bot)]


async def test_moving_to_a_full_slot_is_409_and_keeps_the_booking(
    bot: Browser, database: Database
) -> None:
    mine, theirs = [await ready_to_sign(bot, database) for _ in range(2)]
    first, second = (await first_slots(bot))[:2]
    await bot.post(
        f"/api/applications/{mine}/appointment",
        json={"branch": ONE_DESK, "starts_at": first["starts_at"]},
    )
    await bot.post(
        f"/api/applications/{theirs}/appointment",
        json={"branch": ONE_DESK, "starts_at": second["starts_at"]},
    )
    before = (await bot.get(f"/api/applications/{mine}"))[1]

    status, body = await bot.request(
        "PUT",
        f"/api/applications/{mine}/appointment",
        json={"branch": ONE_DESK, "starts_at": second["starts_at"]},
    )

    assert (status, body) == (409, {"error": SLOT_TAKEN})
    assert (await bot.get(f"/api/applications/{mine}"))[1] == before


async def test_cancelling_with_nothing_booked_is_409(bot: Browser, database: Database) -> None:
    reference = await ready_to_sign(bot, database)

    status, body = await bot.request("DELETE", f"/api/applications/{reference}/appointment")

    assert status == 409
    assert "cancel the appointment" in body["error"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_the_booking_routes_need_the_bearer(
    anonymous: Browser, bot: Browser, database: Database, method: str
) -> None:
    reference = await ready_to_sign(bot, database)

    status, _ = await anonymous.request(
        method,
        f"/api/applications/{reference}/appointment",
        json={"branch": ONE_DESK, "starts_at": "2099-01-05T09:30:00Z"},
        headers={"Authorization": "Bearer not-the-secret"},
    )

    assert status == 401
    assert appointment_count(database) == 0


# --- The case workers' routes ------------------------------------------------------------------


async def test_an_advisor_sees_branches_and_slots_and_books_for_the_customer(
    bot: Browser, database: Database, maya: Browser
) -> None:
    reference = await ready_to_sign(bot, database)
    status, listed = await maya.get("/api/case-branches")
    slot = (await first_slots(maya, TWO_DESKS, prefix="/case"))[0]

    booked_status, body = await maya.post(
        f"/api/cases/{reference}/appointment",
        json={"branch": TWO_DESKS, "starts_at": slot["starts_at"]},
    )

    assert status == 200
    assert [branch["key"] for branch in listed["branches"]] == list(branches())
    assert booked_status == 201, body
    assert body["appointment"]["label"] == slot["label"]
    entry = body["events"][-1]
    assert (entry["kind"], entry["touchpoint"], entry["actor_kind"], entry["actor"]) == (
        "appointment_booked",
        "desk",
        "agent",
        "Maya",
    )


async def test_a_supervisor_may_book_for_the_customer(
    bot: Browser, database: Database, sam: Browser
) -> None:
    reference = await ready_to_sign(bot, database)
    slot = (await first_slots(sam, prefix="/case"))[0]

    status, body = await sam.post(
        f"/api/cases/{reference}/appointment",
        json={"branch": ONE_DESK, "starts_at": slot["starts_at"]},
    )

    assert status == 201, body
    assert body["events"][-1]["actor"] == "Sam"


@pytest.mark.parametrize("who", ["olivia", "branch"])
async def test_desk_users_who_do_not_work_cases_get_404(
    bot: Browser, database: Database, olivia: Browser, add_user: Callable[..., Any], who: str
) -> None:
    user = olivia
    if who == "branch":
        user = await add_user("bea", role=AgentRole.BRANCH_STAFF, branch=ONE_DESK)
    reference = await ready_to_sign(bot, database)
    slot = (await first_slots(bot))[0]

    answers = [
        await user.get("/api/case-branches"),
        await user.get(f"/api/case-branches/{ONE_DESK}/slots"),
        await user.post(
            f"/api/cases/{reference}/appointment",
            json={"branch": ONE_DESK, "starts_at": slot["starts_at"]},
        ),
    ]

    assert [status for status, _ in answers] == [404, 404, 404]
    assert appointment_count(database) == 0


async def test_the_case_routes_need_a_session_not_the_bearer(
    bot: Browser, anonymous: Browser, database: Database
) -> None:
    reference = await ready_to_sign(bot, database)
    body = {"branch": ONE_DESK, "starts_at": "2099-01-05T09:30:00Z"}

    assert (await bot.post(f"/api/cases/{reference}/appointment", json=body))[0] == 401
    assert (await anonymous.post(f"/api/cases/{reference}/appointment", json=body))[0] == 401
    assert (await bot.get(f"/api/case-branches/{ONE_DESK}/slots"))[0] == 401
    assert appointment_count(database) == 0


async def test_a_case_booking_from_another_site_is_refused(
    bot: Browser, database: Database, maya: Browser
) -> None:
    reference = await ready_to_sign(bot, database)
    slot = (await first_slots(bot))[0]

    status, _ = await maya.post(
        f"/api/cases/{reference}/appointment",
        json={"branch": ONE_DESK, "starts_at": slot["starts_at"]},
        headers={"Origin": "https://evil.example"},
    )

    assert status == 403
    assert appointment_count(database) == 0
