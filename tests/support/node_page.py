"""A customer's page running the npm registry's socket.io-client in node, for end-to-end tests.

`tests/support/node/page.mjs` connects with the client's default settings (long-polling
first, then whatever upgrade the server offers), as a web page or a stock Rasa widget does, or
over the transports a test names.
This class starts it, sends it commands and reads the events it reports (see page.mjs).
`make node-clients` installs its packages (`npm ci` in tests/support/node).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

NODE_DIR: Final = Path(__file__).resolve().parent / "node"
PAGE_SCRIPT: Final = NODE_DIR / "page.mjs"
EVENT_TIMEOUT: Final = 30.0


class NodePage:
    """One socket.io-client page in a node process; `received` keeps what arrived, in order."""

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self.received: list[tuple[str, Any]] = []
        self._read: dict[str, int] = {}  # per event: how far `next` has looked
        self._arrived = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None

    @staticmethod
    def available() -> str | None:
        """Why the page cannot run here, or None when it can."""
        if shutil.which("node") is None:
            return "node is not installed"
        if not (NODE_DIR / "node_modules" / "socket.io-client").is_dir():
            return "socket.io-client is not installed: run `make node-clients`"
        return None

    async def open(
        self,
        rasa_url: str,
        session_id: str,
        transports: Sequence[str] = (),
        token: str | None = None,
    ) -> NodePage:
        """Start the page; it connects (with the client's default transports, or only over
        `transports`) and asks for the chat `session_id` with `token` (none: the channel
        starts a new chat, whose id `session_confirm` brings; the page then speaks in it)."""
        env = {**os.environ, **({"CHAT_TOKEN": token} if token else {})}
        self.process = await asyncio.create_subprocess_exec(
            "node",
            str(PAGE_SCRIPT),
            rasa_url,
            session_id,
            *([",".join(transports)] if transports else []),
            cwd=NODE_DIR,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.get_running_loop().create_task(self._read_events())
        return self

    async def _read_events(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for line in self.process.stdout:
            message = json.loads(line)
            async with self._arrived:
                self.received.append((message["event"], message.get("data")))
                self._arrived.notify_all()

    async def send(self, **command: Any) -> None:
        """Send one command (see page.mjs)."""
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        await self.process.stdin.drain()

    async def say(self, text: str) -> None:
        """The customer types `text` (`user_uttered`)."""
        await self.send(say=text)

    async def next(self, event: str, matches: Callable[[Any], bool] = lambda _: True) -> Any:
        """The data of the next `event` that `matches`, after the ones of that event handed out
        or passed over before (each event has its own place: a status that came before a bot
        message is still found after it)."""

        def found() -> tuple[Any] | None:
            position = self._read.get(event, 0)
            while position < len(self.received):
                name, data = self.received[position]
                position += 1
                if name == event and matches(data):
                    self._read[event] = position
                    return (data,)
            return None

        async with self._arrived:
            hit = await asyncio.wait_for(self._arrived.wait_for(found), EVENT_TIMEOUT)
        return hit[0]

    async def stats(self) -> dict[str, Any]:
        """The page's HTTP request count so far and the transport it is on now."""
        count_before = sum(1 for name, _ in self.received if name == "stats")
        await self.send(stats=True)
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(
                    lambda: sum(1 for name, _ in self.received if name == "stats") > count_before
                ),
                EVENT_TIMEOUT,
            )
        stats: dict[str, Any] = [data for name, data in self.received if name == "stats"][-1]
        return stats

    async def requests(self) -> int:
        """How many HTTP requests the page has made so far."""
        return int((await self.stats())["requests"])

    def events(self, event: str) -> list[Any]:
        """Every `event` received so far."""
        return [data for name, data in self.received if name == event]

    async def close(self) -> None:
        """Disconnect and end the node process."""
        if self.process is None:
            return
        if self.process.returncode is None:
            try:
                await self.send(close=True)
                await asyncio.wait_for(self.process.wait(), 10)
            except (ConnectionError, asyncio.TimeoutError):
                self.process.kill()
                await self.process.wait()
        if self._reader is not None:
            await self._reader
