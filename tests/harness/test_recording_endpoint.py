"""The recording endpoint run as a separate process, as the end-to-end test runs it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from actions.handoff.delivery import DeliveryStatus, HandoffClient
from actions.handoff.routing import HandoffRouter
from actions.journeys import JOURNEYS
from actions.settings import PROJECT_ROOT
from tests.support.handoff_examples import ROUTING_PATH, order_delayed_context

READY_PREFIX = "recording endpoint listening on "


async def test_standalone_endpoint_records_accepted_handoffs(tmp_path: Path) -> None:
    record_file = tmp_path / "handoffs.jsonl"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "harness.recording_endpoint",
        "--port",
        "0",
        "--secret",
        "s3cret",
        "--record-file",
        str(record_file),
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    client: HandoffClient | None = None
    try:
        ready = (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode()
        assert ready.startswith(READY_PREFIX), ready
        url = ready.removeprefix(READY_PREFIX).strip()
        context = order_delayed_context(HandoffRouter.load(ROUTING_PATH, JOURNEYS))
        client = HandoffClient(
            url=url, secret="s3cret", timeout_seconds=5, attempts=1, backoff_seconds=0
        )

        first = await client.deliver_handoff(context)
        again = await client.deliver_handoff(context)
        intruder = HandoffClient(
            url=url, secret="guess", timeout_seconds=5, attempts=1, backoff_seconds=0
        )
        refused = await intruder.deliver_handoff(context)
        await intruder.close()
    finally:
        if client is not None:
            await client.close()
        process.terminate()
        exit_code = await asyncio.wait_for(process.wait(), timeout=30)

    assert (first.status_code, again.status_code) == (201, 200)
    assert (refused.status, refused.status_code) == (DeliveryStatus.FAILED, 401)
    lines = record_file.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [json.loads(context.json())]
    assert exit_code == 0
