"""Faults to inject into a running copy of the system (the chaos suite, `make chaos`).

Each is what goes wrong on a real machine, done for real: a process killed with SIGKILL (no
clean-up, no goodbye: the OOM killer, a power cut of one container), and a slow network hop
(`DelayProxy`, a TCP proxy that holds every chunk of the answers for a while). The duplicate
deliveries and the service restarts are in the suite itself (`tests/chaos/`), which knows what
to send twice and which private service to restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import Future

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


class DelayProxy:
    """A TCP proxy on a loopback port that delays what the upstream answers.

    It runs its own event loop in a thread, so it works the same under a synchronous test and
    beside the test's event loop. `delay_seconds` (0 at first) may be changed at any time; it
    applies to every chunk the upstream sends back, so each HTTP answer arrives that much later,
    the way a slow service or a congested link makes it. `upstream_port` may be set after the
    proxy started (the service behind it usually gets its port after its callers are set up).
    """

    def __init__(self, upstream_port: int | None = None) -> None:
        self.port = free_ports(1)[0]
        self.upstream_port = upstream_port
        self.delay_seconds = 0.0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DelayProxy:
        self._thread.start()
        started: Future[asyncio.AbstractServer] = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._connection, "127.0.0.1", self.port), self._loop
        )
        self._server = started.result(timeout=10)
        return self

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

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
