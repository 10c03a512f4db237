"""The supervisors' analytics routes (session cookie, supervisors only): the dashboard's report,
its tables alone as JSON or CSV (the BI exports), and a build on demand.

- `GET /api/analytics/report?start=&end=&grain=&journey=&queue=&reason_code=&channel=`: the
  `contract.analytics_report.Report` of a period (inclusive local dates, ANALYTICS_TIMEZONE; by
  default the last 30 days ending today) and its cuts;
- `GET /api/analytics/tables/{table}?format=json|csv&...`: one table of that report
  (`TABLE_COLUMNS` names them): JSON `{"table", "columns", "rows"}` (each row an object with
  those keys), or a CSV attachment `<table>-<start>-<end>.csv` with those columns as its header;
- `GET /api/analytics/journey-map?start=&end=&journey=&queue=&outcome=`: the
  `contract.analytics_report.JourneyMap` of one journey over the units started in the period
  (a `PlanningQuery`: the journey is required, one of the stage catalog's; the queue one of
  the routing file's; the outcome one of `Outcome`);
- `GET /api/analytics/blueprint?...&format=json|svg`: the `Blueprint` of the same query, or
  its SVG drawing as an attachment `blueprint-<journey>-<start>-<end>.svg`;
- `GET /api/analytics/fmea?start=&end=&format=json|csv`: the handoff FMEA of a period
  (`contract.analytics_report.Fmea`), or its modes as a CSV attachment
  `fmea-<start>-<end>.csv` with the columns `FMEA_COLUMNS` (lists joined with `;`);
- `POST /api/analytics/build`: fold what is new into the facts now; answers the build's counts.

Agents and branch staff get a 403, no session a 401 (the middleware). A query that is not one
(a bad date or one outside EARLIEST..LATEST, end before start, a period over MAX_PERIOD_DAYS,
an unknown grain, a cut that is not a plain name, an unknown or repeated parameter) gets a 400
naming the parameter.

A CSV cell is opened by spreadsheets as a formula when it starts with `=`, `+`, `-`, `@`, a tab
or a carriage return; such text cells get a leading `'` (OWASP's advice). Numbers are written as
they are: a negative number is a number, not a formula.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, Final

from aiohttp import web
from multidict import MultiMapping
from pydantic import BaseModel

from analytics.blueprint_svg import render
from analytics.stages import stage_catalog
from contract.analytics_report import (
    FMEA_COLUMNS,
    TABLE_COLUMNS,
    Grain,
    Outcome,
    PlanningQuery,
    Report,
    ReportQuery,
)
from desk.api.runtime import ANALYTICS, BadRequest, actor_of, respond
from desk.services.errors import PermissionDenied
from desk.services.queues import QUEUES
from sqlsupport.types import utcnow

#: The default period: this many local days, ending today.
DEFAULT_DAYS: Final = 30
#: The longest period one report covers (a leap year).
MAX_PERIOD_DAYS: Final = 366
#: The dates a query may name: the report counts back a whole period before its start and
#: steps a day past its end, which the calendar's ends (years 1 and 9999) do not allow.
EARLIEST: Final = date(1970, 1, 1)
LATEST: Final = date(9998, 12, 31)
#: A cut's value: a plain name as the bot and the desk write them (queue, journey, reason code,
#: channel), never free text.
CUT_VALUE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CUTS: Final = ("journey", "queue", "reason_code", "channel")
QUERY_PARAMETERS: Final = frozenset({"start", "end", "grain", *CUTS})
FMEA_PARAMETERS: Final = frozenset({"start", "end", "format"})
FORMATS: Final = ("json", "csv")
PLANNING_PARAMETERS: Final = frozenset({"start", "end", "journey", "queue", "outcome"})
BLUEPRINT_FORMATS: Final = ("json", "svg")
#: Text that a spreadsheet would run as a formula.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")

#: Where each table of TABLE_COLUMNS is in a report.
TABLE_ROWS: Final[Mapping[str, Callable[[Report], Sequence[BaseModel]]]] = {
    "kpis": lambda report: report.kpis,
    "trends": lambda report: report.trends,
    "wait_distribution": lambda report: report.wait_distribution,
    "handoffs_by_reason": lambda report: report.handoffs_by_reason,
    "handoffs_by_journey": lambda report: report.handoffs_by_journey,
    "handle_time_by_agent": lambda report: report.handle_time_by_agent,
    "handle_time_by_queue": lambda report: report.handle_time_by_queue,
    "csat": lambda report: report.csat,
    "wait_outcomes": lambda report: [report.wait_outcomes],
    "fallback_intents": lambda report: report.failures.fallback_intents,
    "troubleshooting_steps": lambda report: report.failures.troubleshooting_steps,
    "form_reasks": lambda report: report.failures.form_reasks,
    "repeat_fields": lambda report: report.repeats.fields,
    "repeat_examples": lambda report: report.repeats.examples,
}
assert set(TABLE_ROWS) == set(TABLE_COLUMNS), "every exported table has its rows"


class BadQuery(BadRequest):
    """A query string that is not a report query: 400 (the error middleware answers
    `{"error": message}`)."""


def ensure_supervisor(request: web.Request) -> None:
    """Refuse anyone but a supervisor.

    Raises:
        PermissionDenied: An agent or branch staff.
    """
    if not actor_of(request).is_supervisor:
        raise PermissionDenied("the analytics are for supervisors")


def report_query(
    parameters: MultiMapping[str], today: date, *, allowed: frozenset[str] = QUERY_PARAMETERS
) -> ReportQuery:
    """The report query of a query string (see the module doc); `today` is the local date.

    Raises:
        BadQuery: An unknown or repeated parameter, or a value that does not fit.
    """
    values = _values(parameters, allowed)
    start, end = _period(values, today)
    grain = values.get("grain") or Grain.DAY.value
    if grain not in {g.value for g in Grain}:
        raise BadQuery(f"grain must be one of {', '.join(g.value for g in Grain)}")
    cuts: dict[str, str | None] = {}
    for name in CUTS:
        value = values.get(name) or None
        if value is not None and not CUT_VALUE.match(value):
            raise BadQuery(
                f"{name} must be a name of letters, digits, '_', '.' or '-' (at most 64)"
            )
        cuts[name] = value
    return ReportQuery(start=start, end=end, grain=Grain(grain), **cuts)


def planning_query(
    parameters: MultiMapping[str],
    today: date,
    *,
    journeys: Collection[str],
    allowed: frozenset[str] = PLANNING_PARAMETERS,
) -> PlanningQuery:
    """The planning query of a query string: the period as `report_query` reads it, a journey
    of `journeys` (required), a known queue, an outcome (default all).

    Raises:
        BadQuery: An unknown or repeated parameter, or a value that does not fit.
    """
    values = _values(parameters, allowed)
    start, end = _period(values, today)
    journey = values.get("journey", "")
    if journey not in journeys:
        raise BadQuery(f"journey must be one of {', '.join(journeys)}")
    queue = values.get("queue") or None
    if queue is not None and queue not in QUEUES:
        raise BadQuery(f"queue must be one of {', '.join(QUEUES)}")
    outcome = values.get("outcome") or Outcome.ALL.value
    if outcome not in {o.value for o in Outcome}:
        raise BadQuery(f"outcome must be one of {', '.join(o.value for o in Outcome)}")
    return PlanningQuery(
        start=start, end=end, journey=journey, queue=queue, outcome=Outcome(outcome)
    )


def _values(parameters: MultiMapping[str], allowed: frozenset[str]) -> dict[str, str]:
    """Each parameter's one value.

    Raises:
        BadQuery: An unknown or repeated parameter.
    """
    for name in parameters:
        if name not in allowed:
            raise BadQuery(f"unknown parameter {name[:64]!r}; known: {', '.join(sorted(allowed))}")
    values: dict[str, str] = {}
    for name in set(parameters):
        given = parameters.getall(name)
        if len(given) > 1:
            raise BadQuery(f"{name} is given more than once")
        values[name] = given[0]
    return values


def _period(values: Mapping[str, str], today: date) -> tuple[date, date]:
    """start and end (by default the DEFAULT_DAYS ending today).

    Raises:
        BadQuery: A bad date, end before start, or a period over MAX_PERIOD_DAYS.
    """
    end = _date(values, "end") or today
    start = _date(values, "start") or end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise BadQuery(f"end ({end}) is before start ({start})")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise BadQuery(f"the period is longer than {MAX_PERIOD_DAYS} days")
    return start, end


def _date(values: Mapping[str, str], name: str) -> date | None:
    text = values.get(name)
    if not text:
        return None
    try:
        if not _ISO_DATE.match(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise BadQuery(f"{name} must be a date as YYYY-MM-DD") from None
    if not EARLIEST <= day <= LATEST:
        raise BadQuery(f"{name} must be a date from {EARLIEST} to {LATEST}")
    return day


def _today(request: web.Request) -> date:
    """Today in the reporting time zone."""
    return utcnow().astimezone(request.app[ANALYTICS].settings.zone).date()


async def _report(request: web.Request, allowed: frozenset[str]) -> Report:
    ensure_supervisor(request)
    query = report_query(request.query, _today(request), allowed=allowed)
    return await request.app[ANALYTICS].report(query, utcnow())


async def report(request: web.Request) -> web.Response:
    """The report of the period and cuts the query names."""
    return respond(await _report(request, QUERY_PARAMETERS))


async def table(request: web.Request) -> web.Response:
    """One table of the report, as JSON or as a CSV attachment."""
    ensure_supervisor(request)
    name = request.match_info["table"]
    if name not in TABLE_ROWS:
        return web.json_response(
            {"error": f"no table {name[:64]!r}", "tables": list(TABLE_ROWS)}, status=404
        )
    output = request.query.get("format", "json")
    if output not in FORMATS:
        raise BadQuery(f"format must be one of {', '.join(FORMATS)}")
    full = await _report(request, QUERY_PARAMETERS | {"format"})
    columns = TABLE_COLUMNS[name]
    rows = [_plain(row) for row in TABLE_ROWS[name](full)]
    if output == "json":
        return web.json_response({"table": name, "columns": list(columns), "rows": rows})
    filename = f"{name}-{full.period.start.isoformat()}-{full.period.end.isoformat()}.csv"
    return _csv_attachment(filename, columns, rows)


def _csv_attachment(
    filename: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> web.Response:
    return web.Response(
        body=table_csv(columns, rows).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def fmea(request: web.Request) -> web.Response:
    """The handoff FMEA of the period the query names, as JSON or as a CSV attachment."""
    ensure_supervisor(request)
    query = report_query(request.query, _today(request), allowed=FMEA_PARAMETERS)
    output = request.query.get("format", "json")
    if output not in FORMATS:
        raise BadQuery(f"format must be one of {', '.join(FORMATS)}")
    found = await request.app[ANALYTICS].fmea(query.start, query.end, utcnow())
    if output == "json":
        return respond(found)
    rows = [
        {key: ";".join(value) if isinstance(value, list) else value for key, value in row.items()}
        for row in (_plain(mode) for mode in found.modes)
    ]
    filename = f"fmea-{query.start.isoformat()}-{query.end.isoformat()}.csv"
    return _csv_attachment(filename, FMEA_COLUMNS, rows)


def _plain(row: BaseModel) -> dict[str, Any]:
    """A row as JSON types (dates and times as ISO text)."""
    plain: dict[str, Any] = json.loads(row.json())
    return plain


def table_csv(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    """The CSV text of rows (objects with `columns`), header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(column)) for column in columns])
    return buffer.getvalue()


def csv_cell(value: Any) -> str | int | float:
    """A value as a CSV cell: empty for none, true/false, numbers as they are, text guarded
    against formula injection."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _planning_query(request: web.Request, allowed: frozenset[str]) -> PlanningQuery:
    ensure_supervisor(request)
    journeys = list(stage_catalog().journeys)
    return planning_query(request.query, _today(request), journeys=journeys, allowed=allowed)


async def journey_map(request: web.Request) -> web.Response:
    """The journey map of the query's journey, period and filters."""
    query = _planning_query(request, PLANNING_PARAMETERS)
    return respond(await request.app[ANALYTICS].journey_map(query))


async def blueprint(request: web.Request) -> web.Response:
    """The service blueprint of the query's journey, as JSON or as an SVG attachment."""
    query = _planning_query(request, PLANNING_PARAMETERS | {"format"})
    output = request.query.get("format", "json")
    if output not in BLUEPRINT_FORMATS:
        raise BadQuery(f"format must be one of {', '.join(BLUEPRINT_FORMATS)}")
    drawn = await request.app[ANALYTICS].blueprint(query)
    if output == "json":
        return respond(drawn)
    filename = f"blueprint-{query.journey}-{query.start.isoformat()}-{query.end.isoformat()}.svg"
    return web.Response(
        body=render(drawn).encode("utf-8"),
        content_type="image/svg+xml",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def build(request: web.Request) -> web.Response:
    """Fold new events into the facts now; what the build read and wrote."""
    ensure_supervisor(request)
    done = await request.app[ANALYTICS].build()
    return web.json_response(dataclasses.asdict(done))


def add_routes(app: web.Application) -> None:
    """Register the analytics routes."""
    app.router.add_get("/api/analytics/report", report)
    app.router.add_get("/api/analytics/tables/{table}", table)
    app.router.add_get("/api/analytics/fmea", fmea)
    app.router.add_post("/api/analytics/build", build)
    app.router.add_get("/api/analytics/journey-map", journey_map)
    app.router.add_get("/api/analytics/blueprint", blueprint)
