"""The whole system on loopback for the end-to-end tests: one stack shared by the session.

`launcher.stack` starts the same processes `make run` does: the recording endpoint standing in
for the desk, the rasa-sdk action server and the Rasa server with the trained model. They run
in an isolated environment (see `environment.py`); their logs go to `<tmp>/logs`, and a failed
start shows the log tail. Everything is stopped at the end of the session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from pathlib import Path

import pytest

from launcher.stack import Stack, running_stack
from tests.e2e.client import BotClient
from tests.e2e.desk_system import Agent, DeskStack, SocketCustomer, running_desk_stack
from tests.e2e.environment import MODEL_PATH, E2EEnvironment, build_environment
from tests.e2e.scaled_system import ScaledSystem


@pytest.fixture(scope="session")
def e2e_env(tmp_path_factory: pytest.TempPathFactory) -> E2EEnvironment:
    """Free ports, fresh migrated and seeded app database, fresh tracker store, new secrets."""
    if not MODEL_PATH.exists():
        pytest.fail(f"{MODEL_PATH} is missing: run `make train` first")
    root: Path = tmp_path_factory.mktemp("e2e")
    return build_environment(root)


@pytest.fixture(scope="session")
def stack(e2e_env: E2EEnvironment) -> Iterator[Stack]:
    """The running system; stopped (whatever happened) when the session ends."""
    with running_stack(e2e_env.services(), e2e_env.log_dir, e2e_env.env) as running:
        yield running


@pytest.fixture(scope="session")
def bot(stack: Stack, e2e_env: E2EEnvironment) -> Iterator[BotClient]:
    """Talks to the running system over HTTP."""
    client = BotClient(
        rasa_url=e2e_env.rasa_url,
        rasa_auth_token=e2e_env.rasa_auth_token,
        handoff_url=e2e_env.handoff_url,
        handoff_secret=e2e_env.handoff_secret,
        record_file=e2e_env.handoff_record_file,
    )
    yield client
    client.http.close()


@pytest.fixture(scope="session")
def desk_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskStack]:
    """The system with the real desk (see `desk_system.py`), shared by the session."""
    if not MODEL_PATH.exists():
        pytest.fail(f"{MODEL_PATH} is missing: run `make train` first")
    with running_desk_stack(tmp_path_factory.mktemp("desk-stack")) as system:
        yield system


@pytest.fixture
async def agents(desk_stack: DeskStack) -> AsyncIterator[Callable[[str], Awaitable[Agent]]]:
    """Log agents in to the shared desk (`await agents("olivia")`); logged out afterwards."""
    made: list[Agent] = []

    async def login(username: str) -> Agent:
        agent = Agent(desk_stack)
        made.append(agent)
        return await agent.login(username)

    yield login
    for agent in made:
        await agent.close()


@pytest.fixture
async def customers(
    desk_stack: DeskStack,
) -> AsyncIterator[Callable[[str], Awaitable[SocketCustomer]]]:
    """Connect customers to the web chat (`await customers("prefix")`); closed afterwards."""
    made: list[SocketCustomer] = []

    async def connect(prefix: str) -> SocketCustomer:
        customer = SocketCustomer(desk_stack, prefix)
        made.append(customer)
        return await customer.connect()

    yield connect
    for customer in made:
        await customer.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    """A failed end-to-end test shows the tail of every running service's log."""
    outcome = yield
    report = outcome.get_result()
    funcargs = getattr(item, "funcargs", {})
    stacks = [funcargs.get("stack")]
    for system in funcargs.values():
        if isinstance(system, DeskStack):
            stacks.append(system.stack)
        elif isinstance(system, ScaledSystem):
            stacks.append(system.copy.stack)
    if report.failed:
        for stack in stacks:
            if isinstance(stack, Stack):
                for name, running in stack.running.items():
                    report.sections.append((f"{name} log (tail)", running.log_tail(30)))
