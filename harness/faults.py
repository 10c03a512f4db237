"""Faults to inject into a running copy of the system (the chaos suite, `make chaos`).

Each is what goes wrong on a real machine, done for real: a process killed with SIGKILL (no
clean-up, no goodbye: the OOM killer, a power cut of one container), a slow network hop
(`DelayProxy`, a TCP proxy that holds every chunk of the answers for a while), and an action
server that dies between two calls of one turn (`FailingActions`, in its place on its port,
passing only the named actions: the moment a SIGKILL hits only by chance). The duplicate
deliveries and the service restarts are in the suite itself (`tests/chaos/`), which knows what
to send twice and which private service to restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import threading
from collections.abc import Collection, Coroutine, Iterator
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from harness.loopback import free_ports
from launcher.stack import Stack

#: How much of a stream the proxy moves at once.
CHUNK_BYTES = 65_536


def kill_hard(stack: Stack, name: str) -> None:
    """SIGKILL a running service's whole process group, then forget it (`Stack.stop` reaps it
    and closes its log); start it again with `Stack.start`. The killed process's log is kept
    beside the new one (`<name>.log.killed-<n>`): the restart would overwrite it."""
    running = stack.running[name]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(running.process.pid, signal.SIGKILL)
    stack.stop(name)
    log = running.log_path
    kept = len(list(log.parent.glob(f"{log.name}.killed-*")))
    log.rename(log.with_name(f"{log.name}.killed-{kept + 1}"))


T = TypeVar("T")


class _OwnLoop:
    """An event loop of its own in a daemon thread, so a fault works the same under a
    synchronous test and beside the test's event loop."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Runs `coroutine` on the loop (started on first use) and returns its result."""
        if not self._thread.is_alive():
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def close(self, closing: Coroutine[Any, Any, None]) -> None:
        """Runs `closing`, cancels what is left on the loop, and ends the thread."""

        async def close() -> None:
            await closing
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        self.run(close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


class DelayProxy:
    """A TCP proxy on a loopback port that delays what the upstream answers.

    It runs on an event loop of its own (`_OwnLoop`). `delay_seconds` (0 at first) may be
    changed at any time; it applies to every chunk the upstream sends back, so each HTTP answer
    arrives that much later, the way a slow service or a congested link makes it.
    `upstream_port` may be set after the proxy started (the service behind it usually gets its
    port after its callers are set up).
    """

    def __init__(self, upstream_port: int | None = None) -> None:
        self.port = free_ports(1)[0]
        self.upstream_port = upstream_port
        self.delay_seconds = 0.0
        self._own_loop = _OwnLoop()
        self._server: asyncio.AbstractServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DelayProxy:
        self._server = self._own_loop.run(
            asyncio.start_server(self._connection, "127.0.0.1", self.port)
        )
        return self

    def stop(self) -> None:
        async def close_server() -> None:
            if self._server is not None:
                self._server.close()

        self._own_loop.close(close_server())

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.upstream_port is None:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()  # the service is down: the caller sees a refused/closed connection
            return
        await asyncio.gather(
            self._pipe(reader, up_writer, delayed=False),
            self._pipe(up_reader, writer, delayed=True),
            return_exceptions=True,
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, delayed: bool
    ) -> None:
        try:
            while chunk := await reader.read(CHUNK_BYTES):
                if delayed and self.delay_seconds > 0:
                    await asyncio.sleep(self.delay_seconds)  # the fault itself
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


@contextlib.contextmanager
def delay_proxy(upstream_port: int | None = None) -> Iterator[DelayProxy]:
    """A started `DelayProxy`, always stopped afterwards."""
    proxy = DelayProxy(upstream_port).start()
    try:
        yield proxy
    finally:
        proxy.stop()


class FailingActions:
    """An HTTP proxy in the action server's place (on `port`, where Rasa calls it) that passes
    the actions named in `passing` on to the action server at `upstream_url` and answers every
    other with HTTP 500, as Rasa sees an action server that died. So an action server dying
    between two calls of one turn (a form's validation, then the lookup) happens every time,
    not only when a SIGKILL lands at that moment."""

    def __init__(self, port: int, upstream_url: str, passing: Collection[str]) -> None:
        self.port = port
        self.upstream_url = upstream_url
        self.passing = frozenset(passing)
        #: The actions failed so far, in order.
        self.failed: list[str] = []
        self._own_loop = _OwnLoop()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> FailingActions:
        self._own_loop.run(self._serve())
        return self

    def stop(self) -> None:
        self._own_loop.close(self._close())

    async def _serve(self) -> None:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._call)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _call(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        action = None
        with contextlib.suppress(ValueError, AttributeError):
            action = json.loads(body).get("next_action")
        if action is not None and action not in self.passing:
            self.failed.append(action)
            return web.Response(status=500, text="the action server is down")
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        async with self._session.request(
            request.method,
            self.upstream_url.rstrip("/") + request.rel_url.path_qs,
            data=body,
            headers=headers,
        ) as answer:
            return web.Response(
                status=answer.status, body=await answer.read(), content_type=answer.content_type
            )


#: Headers that belong to one connection, not to the request the proxy passes on.
_HOP_BY_HOP = frozenset({"host", "connection", "content-length", "transfer-encoding"})


@contextlib.contextmanager
def failing_actions(
    port: int, upstream_url: str, passing: Collection[str]
) -> Iterator[FailingActions]:
    """A started `FailingActions`, always stopped afterwards."""
    proxy = FailingActions(port, upstream_url, passing).start()
    try:
        yield proxy
    finally:
        proxy.stop()
