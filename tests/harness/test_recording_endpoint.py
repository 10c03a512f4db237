"""The recording endpoint run as a separate process, as the end-to-end test runs it."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from actions.desk_client import DeskCallFailed, DeskClient
from actions.handoff.delivery import DeliveryStatus, HandoffClient
from actions.handoff.routing import HandoffRouter
from actions.journeys import JOURNEYS
from actions.settings import PROJECT_ROOT
from contract.applications import ApplicationEventRequest
from harness.recording_endpoint import RecordingEndpoint
from tests.support.applications import new_application
from tests.support.handoff_examples import ROUTING_PATH, order_delayed_context

READY_PREFIX = "recording endpoint listening on "


async def test_standalone_endpoint_records_accepted_handoffs(tmp_path: Path) -> None:
    record_file = tmp_path / "handoffs.jsonl"
    record_file.touch(mode=0o644)  # as an older run left it
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "harness.recording_endpoint",
        "--port",
        "0",
        "--record-file",
        str(record_file),
        cwd=PROJECT_ROOT,
        env={**os.environ, "HANDOFF_SECRET": "s3cret"},
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    client: HandoffClient | None = None
    try:
        ready = (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode()
        command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes()
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
    # The secret is nowhere `ps` shows it, and the customer's data is the owner's alone.
    assert b"s3cret" not in command_line
    assert stat.S_IMODE(record_file.stat().st_mode) == 0o600


def test_standalone_endpoint_without_a_secret_says_which_variable_to_set() -> None:
    env = {key: value for key, value in os.environ.items() if key != "HANDOFF_SECRET"}
    completed = subprocess.run(
        [sys.executable, "-m", "harness.recording_endpoint", "--port", "0"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 2
    assert "set HANDOFF_SECRET" in completed.stderr


async def test_the_endpoint_stands_in_for_the_desks_applications() -> None:
    async with RecordingEndpoint(secret="s3cret") as endpoint:
        client = DeskClient(url=endpoint.url, secret="s3cret", timeout_seconds=5)
        intruder = DeskClient(url=endpoint.url, secret="guess", timeout_seconds=5)
        try:
            created = await client.create_application(new_application())
            noted = await client.record_application_event(
                created.reference, ApplicationEventRequest(touchpoint="desk", kind="note")
            )
            read = await client.get_application(created.reference.lower())
            missing = await client.get_application("MTG-00000")
            with pytest.raises(DeskCallFailed) as refused:
                await intruder.get_application(created.reference)
            status, _ = await client.send(
                "POST", endpoint.url.replace("handoffs", "applications"), "[]"
            )
        finally:
            await client.close()
            await intruder.close()

        assert read == noted == endpoint.application(created.reference)
        assert [event.kind for event in noted.events] == ["chat_started", "form_completed", "note"]
        assert missing is None
        assert refused.value.status == 401
        assert status == 422
