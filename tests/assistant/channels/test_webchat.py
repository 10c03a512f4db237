"""The web chat channel, served by a real Sanic server on loopback and driven by a real
python-socketio client, over long-polling unless a test says websocket.

The server registers the channel exactly as `rasa run` does (`rasa.core.channels.channel.
register`, under `/webhooks/`), with a message handler that echoes the text back through the
channel's output channel in place of the model. The desk is a `RecordingDesk` on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import InputChannel, UserMessage, register
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.core.run import create_http_input_channels
from rasa.shared.core.events import BotUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.io import read_config_file
from rasa_sdk.executor import CollectingDispatcher
from sanic import Sanic
from sqlalchemy.exc import OperationalError

from assistant.apology import APOLOGY
from assistant.channels.edge import MAX_TEXT_CHARS
from assistant.channels.webchat import (
    MAX_NOTIFY_BYTES,
    REFUSED_EVENT,
    HandoffStatusNotice,
    WebChatInput,
    WebChatOutput,
    bearer_token_matches,
)
from assistant.desk_events import mask_sender
from contract.documents import MAX_DOCUMENT_BYTES, UploadPrompt, upload_metadata
from contract.handoff_opened import HANDOFF_OPENED_PATH
from contract.webchat import (
    CHAT_TOKEN_EVENT,
    transcript_key,
    transcript_session,
    transcript_token,
)
from harness.chat_client import ChatClient
from tests.assistant.test_desk_events import SECRET, RecordingDesk, eventually

PROJECT_ROOT = Path(__file__).resolve().parents[3]
NOTIFY_TOKEN = "rasa-t0ken"


def signed(session_id: str, valid_for: float = 3600.0, secret: str = SECRET) -> str:
    """The token that opens `session_id` (as the desk's `POST /chat/sessions` signs it)."""
    return transcript_token(transcript_key(secret), session_id, int(time.time() + valid_for))


class ChatServer:
    """A Sanic app with the channel registered as Rasa registers it, listening on loopback.

    Set `failure` to make handling a message raise it, as Rasa's agent raises a store error.
    """

    def __init__(self, channel: InputChannel) -> None:
        self.channel = channel
        self.messages: list[UserMessage] = []
        self.failure: Exception | None = None
        self.app = Sanic(f"webchat_test_{uuid.uuid4().hex}", configure_logging=False)
        register([channel], self.app, route="/webhooks/")
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        self._server: Any = None
        self.app.ctx.agent = self  # `register` hands messages to app.ctx.agent.handle_message

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def notify_url(self) -> str:
        return f"{self.url}/webhooks/socketio/notify"

    async def handle_message(self, message: UserMessage) -> None:
        """Stands in for Rasa's agent: answers through the channel's output channel."""
        self.messages.append(message)
        if self.failure is not None:
            raise self.failure
        assert message.output_channel is not None
        await message.output_channel.send_text_message(message.sender_id, f"echo: {message.text}")

    async def start(self) -> None:
        self._server = await self.app.create_server(
            sock=self._socket, return_asyncio_server=True, access_log=False
        )
        await self._server.startup()
        await self._server.before_start()
        await self._server.after_start()

    async def stop(self) -> None:
        await self._server.before_stop()
        self._server.close()
        await self._server.wait_closed()
        await self._server.after_stop()
        self._socket.close()


def webchat(desk_url: str | None, **overrides: Any) -> WebChatInput:
    credentials = {
        "user_message_evt": "user_uttered",
        "bot_message_evt": "bot_uttered",
        "session_persistence": True,
        "desk_url": desk_url,
        "handoff_secret": SECRET,
        "notify_token": NOTIFY_TOKEN,
        **overrides,
    }
    channel = WebChatInput.from_credentials(credentials)
    assert isinstance(channel, WebChatInput)
    return channel


@pytest.fixture
async def desk() -> AsyncIterator[RecordingDesk]:
    async with RecordingDesk() as running:
        yield running


async def serve(channel: WebChatInput) -> ChatServer:
    server = ChatServer(channel)
    await server.start()
    return server


@pytest.fixture
async def chat(desk: RecordingDesk) -> AsyncIterator[ChatServer]:
    server = await serve(webchat(desk.url))
    yield server
    await server.stop()


@pytest.fixture
async def client() -> AsyncIterator[ChatClient]:
    page = ChatClient()
    yield page
    await page.close()


async def notify(
    server: ChatServer, body: Any, token: str | None = NOTIFY_TOKEN, raw: bytes | None = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as http,
        http.post(server.notify_url, data=data, headers=headers) as response,
    ):
        return response.status, await response.json(content_type=None)


def status_notice(sender_id: str, status: str = "waiting", **details: Any) -> dict[str, Any]:
    return {"sender_id": sender_id, "type": "handoff_status", "status": status, **details}


# --- Configuration --------------------------------------------------------------------------------


def test_the_channel_keeps_rasas_socketio_name() -> None:
    channel = webchat("http://127.0.0.1:9")

    assert WebChatInput.name() == "socketio"
    assert channel.url_prefix() == "socketio"
    assert channel.session_persistence is True
    assert channel.notify_token == NOTIFY_TOKEN


def test_rasa_builds_the_channel_from_the_projects_credentials_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DESK_URL", "http://127.0.0.1:8080")
    monkeypatch.setenv("HANDOFF_SECRET", SECRET)
    monkeypatch.setenv("RASA_AUTH_TOKEN", NOTIFY_TOKEN)

    channels = create_http_input_channels(None, str(PROJECT_ROOT / "credentials.yml"))

    webchats = [channel for channel in channels if isinstance(channel, WebChatInput)]
    assert len(webchats) == 1
    (channel,) = webchats
    assert channel.session_persistence is True
    assert channel.user_message_evt == "user_uttered"
    assert channel.bot_message_evt == "bot_uttered"
    assert channel.notify_token == NOTIFY_TOKEN
    assert channel.typing_forwarder is not None
    assert channel.typing_forwarder.url == "http://127.0.0.1:8080/api/conversation-events"
    assert sorted(channel.name() for channel in channels) == ["rest", "socketio"]
    assert "socketio" not in read_config_file(str(PROJECT_ROOT / "credentials.yml"))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"Bearer {NOTIFY_TOKEN}", True),
        (f"bearer {NOTIFY_TOKEN}", True),
        (f"Bearer {NOTIFY_TOKEN}x", False),
        (NOTIFY_TOKEN, False),
        (f"Basic {NOTIFY_TOKEN}", False),
        ("Bearer ", False),
        (None, False),
    ],
)
def test_bearer_tokens(header: str | None, expected: bool) -> None:
    assert bearer_token_matches(header, NOTIFY_TOKEN) is expected
    assert bearer_token_matches(header, "") is False


def test_the_notice_model_passes_unknown_details_through() -> None:
    notice = HandoffStatusNotice.parse_obj(status_notice("c", "waiting", position=2, queue="x"))

    assert notice.dict(exclude_unset=True) == status_notice("c", "waiting", position=2, queue="x")


# --- The transport: long-polling with the upgrade to websocket ------------------------------------


async def test_the_handshake_offers_the_upgrade_to_websocket(chat: ChatServer) -> None:
    """A standard client (socket.io-client, rasa-webchat) starts on polling and upgrades."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{chat.url}/socket.io/", params={"EIO": "4", "transport": "polling"}) as answer,
    ):
        text = await answer.text()

    assert answer.status == 200
    assert text.startswith("0")  # engine.io's "open" packet
    assert json.loads(text[1:])["upgrades"] == ["websocket"]


async def test_a_websocket_first_client_gets_its_session_and_answers(
    chat: ChatServer, client: ChatClient
) -> None:
    await client.sio.connect(chat.url, transports=["websocket"], socketio_path="/socket.io")
    await client.sio.emit(
        "session_request", {"session_id": "over-websocket", "token": signed("over-websocket")}
    )
    assert await client.next("session_confirm") == "over-websocket"
    client.session_id = "over-websocket"

    await client.say("hello")

    assert client.sio.transport() == "websocket"
    assert (await client.next("bot_uttered"))["text"] == "echo: hello"


# --- The standard protocol still works ------------------------------------------------------------


async def test_session_request_and_messages_work_as_with_rasas_channel(
    chat: ChatServer, client: ChatClient
) -> None:
    await client.connect(chat.url, "session-a", signed("session-a"))

    await client.sio.emit("user_uttered", {"message": "hi", "session_id": "session-a"})

    assert await client.next("bot_uttered") == {"text": "echo: hi"}
    (message,) = chat.messages
    assert message.sender_id == "session-a"
    assert message.input_channel == "socketio"


# --- The chat token: an id alone neither reads nor speaks ----------------------------------------


async def test_a_session_request_with_the_chats_token_joins_that_chat(
    chat: ChatServer, client: ChatClient
) -> None:
    joined = await client.connect(chat.url, "session-a", signed("session-a"))

    await client.say("hi")

    assert joined == "session-a"
    assert await client.next("bot_uttered") == {"text": "echo: hi"}
    assert [message.sender_id for message in chat.messages] == ["session-a"]
    assert client.drain(CHAT_TOKEN_EVENT) == []


@pytest.mark.parametrize(
    "token",
    [
        None,  # a stock widget, or someone with an id from a log
        signed("session-a", valid_for=-1),  # expired
        signed("session-a", secret="another-secret"),  # forged
        signed("session-b"),  # another chat's
        "v1.session-a.9999999999.bm90LWEtc2lnbmF0dXJl",
    ],
    ids=["no token", "expired", "forged", "another chat's", "made up"],
)
async def test_an_id_without_its_token_gets_a_new_chat_not_that_one(
    chat: ChatServer, client: ChatClient, token: str | None
) -> None:
    customer = ChatClient()
    await customer.connect(chat.url, "session-a", signed("session-a"))

    joined = await client.connect(chat.url, "session-a", token)

    # A new chat, with a token that opens it (for the page to keep).
    assert joined != "session-a" and len(joined) == 32
    assert client.token is not None
    assert transcript_session(transcript_key(SECRET), client.token, time.time()) == joined
    # The customer's replies and notices do not reach the other socket.
    await customer.say("my account number is 12345678")
    assert await customer.next("bot_uttered") == {"text": "echo: my account number is 12345678"}
    assert (await notify(chat, status_notice("session-a", "agent_joined", agent_name="Sam")))[
        0
    ] == 202
    assert (await customer.next("handoff_status"))["agent_name"] == "Sam"
    await client.nothing("bot_uttered", wait=0.2)
    await client.nothing("handoff_status", wait=0.1)
    # Its own chat works.
    await client.say("hello")
    assert await client.next("bot_uttered") == {"text": "echo: hello"}
    assert [message.sender_id for message in chat.messages] == ["session-a", joined]
    await customer.close()


async def test_a_socket_cannot_speak_or_type_in_a_chat_it_has_not_joined(
    chat: ChatServer, client: ChatClient, desk: RecordingDesk
) -> None:
    customer = ChatClient()
    await customer.connect(chat.url, "session-a", signed("session-a"))
    refusals = RefusalRecorder(client)
    await client.connect(chat.url, "session-a")  # no token: a chat of its own

    await client.sio.emit("user_uttered", {"message": "send it to me", "session_id": "session-a"})
    await client.sio.emit("user_typing", {"session_id": "session-a", "typing": True})

    assert await refusals.next() == refusal(
        "user_uttered",
        "session_id: is not the chat this connection joined; send session_request first",
    )
    await customer.nothing("bot_uttered", wait=0.2)
    assert chat.messages == []
    # Typing signals are relayed in order: the foreign one had its turn before this one.
    await client.typing(True)
    posts = await desk.wait_for_accepted(1)
    assert [post.sender_id for post in posts] == [client.session_id]
    await customer.close()


async def test_a_token_that_is_not_a_string_is_refused(
    chat: ChatServer, client: ChatClient
) -> None:
    refusals = await open_page(chat, client)

    await client.sio.emit("session_request", {"session_id": "session-a", "token": 7})

    assert await refusals.next() == refusal(
        "session_request", "token: must be a string, not a number"
    )
    await client.nothing("session_confirm", wait=0.2)


# --- The channel edge: payloads are checked before Rasa's handlers -------------------------------


class RefusalRecorder:
    """Records the `input_refused` events one page receives."""

    def __init__(self, page: ChatClient) -> None:
        self.received: asyncio.Queue[Any] = asyncio.Queue()
        page.sio.on(REFUSED_EVENT, self.received.put)

    async def next(self, timeout: float = 5.0) -> Any:
        return await asyncio.wait_for(self.received.get(), timeout)

    async def nothing(self, wait: float = 0.3) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            data = await asyncio.wait_for(self.received.get(), wait)
            raise AssertionError(f"unexpected {REFUSED_EVENT}: {data!r}")


async def open_page(server: ChatServer, page: ChatClient) -> RefusalRecorder:
    """A connected page that has not asked for a session yet."""
    refusals = RefusalRecorder(page)
    await page.sio.connect(server.url, transports=["polling"], socketio_path="/socket.io")
    return refusals


def refusal(event: str, error: str) -> dict[str, str]:
    return {"event": event, "field": error.split(":", 1)[0], "error": error}


async def test_a_session_request_for_an_invalid_id_is_refused_to_that_socket_only(
    chat: ChatServer, client: ChatClient
) -> None:
    other = ChatClient()
    other_refusals = RefusalRecorder(other)
    await other.connect(chat.url, "session-b", signed("session-b"))
    refusals = await open_page(chat, client)

    await client.sio.emit("session_request", {"session_id": "\ud800web"})

    assert await refusals.next() == refusal(
        "session_request", "session_id: contains a lone surrogate (invalid Unicode) (U+D800)"
    )
    await client.nothing("session_confirm", wait=0.2)
    await other_refusals.nothing()
    # The socket can still ask for a valid session.
    await client.sio.emit(
        "session_request", {"session_id": "session-a", "token": signed("session-a")}
    )
    assert await client.next("session_confirm") == "session-a"
    await other.close()


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ("session-a", "payload: must be an object, not a string"),
        ([1], "payload: must be an object, not an array"),
        (("a", "b"), "payload: must be one object, not several arguments"),
        ({"session_id": 5}, "session_id: must be a string, not a number"),
        ({"session_id": ""}, "session_id: must not be empty"),
        ({"session_id": "a\x00b"}, "session_id: contains a control character (U+0000)"),
        ({"session_id": "x" * 256}, "session_id: must be at most 255 characters"),
    ],
)
async def test_invalid_session_requests_are_refused(
    chat: ChatServer, client: ChatClient, payload: Any, error: str
) -> None:
    refusals = await open_page(chat, client)

    await client.sio.emit("session_request", payload)

    assert await refusals.next() == refusal("session_request", error)
    await client.nothing("session_confirm", wait=0.2)


@pytest.mark.parametrize("payload", [None, {}, {"session_id": None}])
async def test_a_session_request_without_an_id_still_gets_a_new_one(
    chat: ChatServer, client: ChatClient, payload: Any
) -> None:
    refusals = await open_page(chat, client)

    await client.sio.emit("session_request", payload)

    session_id = await client.next("session_confirm")
    assert isinstance(session_id, str) and len(session_id) == 32
    await refusals.nothing(wait=0.1)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (None, "payload: is missing"),
        ("hi", "payload: must be an object, not a string"),
        ({"session_id": "session-a"}, "message: is missing"),
        ({"message": 5, "session_id": "session-a"}, "message: must be a string, not a number"),
        (
            {"message": "a" * (MAX_TEXT_CHARS + 1), "session_id": "session-a"},
            f"message: must be at most {MAX_TEXT_CHARS} characters",
        ),
        ({"message": "hi"}, "session_id: is missing"),
        (
            {"message": "hi", "session_id": "\ud800web"},
            "session_id: contains a lone surrogate (invalid Unicode) (U+D800)",
        ),
        (
            {"message": "hi", "session_id": "session-a", "metadata": "{oops"},
            "metadata: is a string but not JSON",
        ),
        (
            {"message": "hi", "session_id": "session-a", "metadata": [1]},
            "metadata: must be a JSON object, not an array",
        ),
        (
            {"message": "hi", "session_id": "session-a", "metadata": {"name": "\udfff"}},
            "metadata: contains a lone surrogate (invalid Unicode)",
        ),
    ],
)
async def test_invalid_messages_are_refused_and_never_reach_rasa(
    chat: ChatServer, client: ChatClient, payload: Any, error: str
) -> None:
    refusals = RefusalRecorder(client)
    await client.connect(chat.url, "session-a", signed("session-a"))

    await client.sio.emit("user_uttered", payload)

    assert await refusals.next() == refusal("user_uttered", error)
    await client.say("and now?")
    assert await client.next("bot_uttered") == {"text": "echo: and now?"}
    assert [message.text for message in chat.messages] == ["and now?"]


async def test_a_text_is_repaired_and_metadata_may_be_a_json_string(
    chat: ChatServer, client: ChatClient
) -> None:
    await client.connect(chat.url, "session-a", signed("session-a"))

    await client.sio.emit(
        "user_uttered",
        {"message": "ORD\x00-1\ud800", "session_id": "session-a", "metadata": '{"page": "/x"}'},
    )

    assert await client.next("bot_uttered") == {"text": "echo: ORD -1\ufffd"}
    (message,) = chat.messages
    assert message.metadata == {"page": "/x"}


async def test_a_failing_turn_sends_the_apology_to_the_conversations_room(
    chat: ChatServer, client: ChatClient, caplog: pytest.LogCaptureFixture
) -> None:
    other = ChatClient()
    await other.connect(chat.url, "session-b", signed("session-b"))
    await client.connect(chat.url, "session-a", signed("session-a"))
    chat.failure = OperationalError("INSERT ...", ("session-a", "my secret"), Exception("down"))

    await client.say("my secret")

    assert await client.next("bot_uttered") == {"text": APOLOGY}
    await other.nothing("bot_uttered", wait=0.2)
    assert mask_sender("session-a") in caplog.text
    assert "my secret" not in caplog.text
    chat.failure = None
    await client.say("again")
    assert await client.next("bot_uttered") == {"text": "echo: again"}
    await other.close()


# --- Desk → customer: POST /webhooks/socketio/notify ------------------------------------------


async def test_a_notice_reaches_only_the_customers_room(chat: ChatServer) -> None:
    customer, other = ChatClient(), ChatClient()
    await customer.connect(chat.url, "session-a", signed("session-a"))
    await other.connect(chat.url, "session-b", signed("session-b"))
    body = status_notice("session-a", "waiting", position=2, estimated_wait_seconds=90)

    status, answer = await notify(chat, body)

    assert (status, answer) == (202, {"status": "accepted"})
    assert await customer.next("handoff_status") == body
    await other.nothing("handoff_status")
    for page in (customer, other):
        await page.close()


async def test_every_status_with_its_details_is_emitted(
    chat: ChatServer, client: ChatClient
) -> None:
    await client.connect(chat.url, "session-a", signed("session-a"))
    notices = [
        status_notice("session-a", "waiting", position=0, estimated_wait_seconds=12.5),
        status_notice("session-a", "agent_joined", agent_name="Sam"),
        status_notice("session-a", "agent_typing", typing=True, agent_name="Sam"),
        status_notice("session-a", "agent_left", agent_name="Sam"),
        status_notice("session-a", "back_with_bot"),
        status_notice(
            "session-a",
            "timeout_choice",
            choices=[
                {"title": "Keep waiting", "payload": "/keep_waiting"},
                {"title": "Leave a message", "payload": "/leave_message"},
            ],
        ),
    ]

    for body in notices:
        assert (await notify(chat, body))[0] == 202

    assert [await client.next("handoff_status") for _ in notices] == notices


async def test_a_notice_for_a_room_nobody_is_in_is_accepted(chat: ChatServer) -> None:
    status, _ = await notify(chat, status_notice("nobody-here", "agent_left"))

    assert status == 202


@pytest.mark.parametrize("token", [None, "wrong", NOTIFY_TOKEN + "x", ""])
async def test_a_notice_without_the_token_is_refused(
    chat: ChatServer, client: ChatClient, token: str | None
) -> None:
    await client.connect(chat.url, "session-a", signed("session-a"))

    status, answer = await notify(chat, status_notice("session-a"), token=token)

    assert status == 401
    assert answer == {"error": "missing or wrong bearer token"}
    await client.nothing("handoff_status")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "body is not JSON"),
        (b"\xff\xfe", "body is not JSON"),
        (b"[1, 2]", "body must be a JSON object"),
        (b"", "body is not JSON"),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_a_400(
    chat: ChatServer, raw: bytes, message: str
) -> None:
    status, answer = await notify(chat, None, raw=raw)

    assert status == 400
    assert answer["error"].startswith(message)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "handoff_status", "status": "waiting"}, "sender_id"),
        (status_notice(""), "sender_id"),
        ({**status_notice("c"), "sender_id": 42}, "sender_id"),
        ({**status_notice("c"), "type": "other"}, "type"),
        (status_notice("c", "closed"), "status"),
        (status_notice("c", position=-1), "position"),
        (status_notice("c", position="2"), "position"),
        (status_notice("c", position=1.5), "position"),
        (status_notice("c", estimated_wait_seconds="soon"), "estimated_wait_seconds"),
        (status_notice("c", estimated_wait_seconds=-3), "estimated_wait_seconds"),
        (status_notice("c", "agent_typing", typing="yes"), "typing"),
        (status_notice("c", "agent_joined", agent_name=7), "agent_name"),
        (status_notice("c", "timeout_choice", choices=[{"title": "x"}]), "choices.0.payload"),
        (status_notice("c", "timeout_choice", choices="leave"), "choices"),
    ],
)
async def test_invalid_fields_are_a_400_naming_them(
    chat: ChatServer, client: ChatClient, body: dict[str, Any], field: str
) -> None:
    await client.connect(chat.url, "c", signed("c"))

    status, answer = await notify(chat, body)

    assert status == 400, answer
    assert answer["error"] == "invalid handoff status"
    assert any(error.startswith(f"{field}:") for error in answer["errors"]), answer
    await client.nothing("handoff_status", wait=0.2)


async def test_an_oversized_body_is_a_413(chat: ChatServer) -> None:
    body = status_notice("c", note="x" * MAX_NOTIFY_BYTES)

    status, _ = await notify(chat, body)

    assert status == 413


async def test_without_a_notify_token_the_route_is_closed() -> None:
    server = await serve(webchat(None, notify_token=None))
    try:
        status, answer = await notify(server, status_notice("c"))
        unauthenticated, _ = await notify(server, status_notice("c"), token=None)
    finally:
        await server.stop()

    assert status == unauthenticated == 503
    assert "not configured" in answer["error"]


async def test_without_session_persistence_the_socket_id_is_the_room(
    desk: RecordingDesk,
) -> None:
    server = await serve(webchat(desk.url, session_persistence=False))
    client = ChatClient()
    try:
        await client.connect(server.url, "ignored")
        sid = client.sio.get_sid()
        assert sid is not None
        await client.sio.emit("user_typing", {"typing": True})
        status, _ = await notify(server, status_notice(sid, "agent_joined", agent_name="Sam"))

        assert status == 202
        assert (await client.next("handoff_status"))["agent_name"] == "Sam"
        posts = await desk.wait_for_accepted(1)
        assert posts[0].sender_id == sid
    finally:
        await client.close()
        await server.stop()


# --- Customer → desk: user_typing -----------------------------------------------------------------


async def test_typing_is_relayed_to_the_desk(
    chat: ChatServer, client: ChatClient, desk: RecordingDesk
) -> None:
    await client.connect(chat.url, "session-a", signed("session-a"))
    before = time.time()

    await client.sio.emit("user_typing", {"session_id": "session-a", "typing": True})
    await desk.wait_for_accepted(1)
    await client.sio.emit("user_typing", {"session_id": "session-a", "typing": False})
    posts = await desk.wait_for_accepted(2)

    assert [post.sender_id for post in posts] == ["session-a", "session-a"]
    assert [post.event["typing"] for post in posts] == [True, False]
    assert {post.event["event"] for post in posts} == {"user_typing"}
    assert before <= posts[0].event["timestamp"] <= time.time()
    assert set(posts[0].event) == {"event", "typing", "timestamp"}
    assert {post.authorization for post in posts} == {f"Bearer {SECRET}"}


@pytest.mark.parametrize(
    "data",
    [
        {"session_id": "session-b", "typing": True},  # a session this socket did not join
        {"session_id": "session-a", "typing": "yes"},
        {"session_id": "session-a"},
        {"typing": True},
        {"session_id": "\ud800", "typing": True},
        {"session_id": 7, "typing": True},
        "typing",
        None,
    ],
)
async def test_malformed_or_foreign_typing_is_not_relayed(
    chat: ChatServer, client: ChatClient, desk: RecordingDesk, data: Any
) -> None:
    await client.connect(chat.url, "session-a", signed("session-a"))

    await client.sio.emit("user_typing", data)
    await client.sio.emit("user_uttered", {"message": "still here", "session_id": "session-a"})

    assert await client.next("bot_uttered") == {"text": "echo: still here"}
    # Typing signals are relayed in order: once a valid one arrives, the bad ones had their turn.
    await client.sio.emit("user_typing", {"session_id": "session-a", "typing": True})
    await desk.wait_until(lambda: desk.arrivals >= 1, what="the valid typing signal arrives")
    assert desk.arrivals == 1


async def test_a_stalled_desk_does_not_hold_up_the_conversation(
    chat: ChatServer, client: ChatClient, desk: RecordingDesk
) -> None:
    await client.connect(chat.url, "session-a", signed("session-a"))
    desk.stall()

    await client.sio.emit("user_typing", {"session_id": "session-a", "typing": True})
    await desk.wait_until(lambda: desk.arrivals == 1, what="the typing POST arrives")
    started = time.monotonic()
    await client.sio.emit("user_uttered", {"message": "hello?", "session_id": "session-a"})

    assert await client.next("bot_uttered") == {"text": "echo: hello?"}
    assert time.monotonic() - started < 0.5
    desk.resume()


async def test_a_desk_that_is_down_costs_the_customer_nothing(
    chat: ChatServer, client: ChatClient, desk: RecordingDesk, caplog: pytest.LogCaptureFixture
) -> None:
    await desk.down()
    await client.connect(chat.url, "session-a", signed("session-a"))

    for typing in (True, False, True):
        await client.sio.emit("user_typing", {"session_id": "session-a", "typing": typing})
    await client.sio.emit("user_uttered", {"message": "anyone?", "session_id": "session-a"})

    assert await client.next("bot_uttered") == {"text": "echo: anyone?"}
    forwarder = chat.channel.typing_forwarder
    assert forwarder is not None
    # One attempt each: typing goes stale, it is not retried.
    await eventually(lambda: forwarder.dropped == 3, "three typing signals dropped")
    assert forwarder.dropped == 3
    assert "session-a" not in caplog.text  # senders are logged masked


async def test_without_a_desk_typing_is_ignored(client: ChatClient) -> None:
    server = await serve(webchat(None))
    try:
        await client.connect(server.url, "session-a", signed("session-a"))
        await client.sio.emit("user_typing", {"session_id": "session-a", "typing": True})
        await client.sio.emit("user_uttered", {"message": "hi", "session_id": "session-a"})
        assert await client.next("bot_uttered") == {"text": "echo: hi"}
    finally:
        await client.close()
        await server.stop()


class RecordingSio:
    """Stands in for python-socketio's server: records what is emitted (a unit-test fake)."""

    def __init__(self) -> None:
        self.emitted: list[tuple[str, Any, str]] = []

    async def emit(self, event: str, data: Any, room: str) -> None:
        self.emitted.append((event, data, room))


def stock_widget_shows(payload: dict[str, Any]) -> str | None:
    """The text rasa-webchat 1.0.1 renders for a `bot_uttered` payload, or None when it drops
    it: it removes `metadata` (handleMessageReceived) and `customCss`, then renders a text
    only when `text` is the one key left (dispatchMessage in its built module/index.js)."""
    rest = {k: v for k, v in payload.items() if k not in ("metadata", "customCss")}
    return str(rest["text"]) if list(rest) == ["text"] else None


async def test_an_agents_turn_names_the_agent_in_the_text_and_marks_it_under_metadata() -> None:
    sio = RecordingSio()
    output = WebChatOutput(sio, "bot_uttered")  # type: ignore[arg-type]
    marking = {"handoff_agent": {"id": 3, "name": "Olivia (Orders)"}}
    # As the desk appends it and Rasa hands it over (`BotUttered.message()` puts the
    # metadata's keys beside the text).
    turn = BotUttered("Hi, I'm Olivia.\n\nLet me check.", metadata=marking).message()

    await output.send_response("c1", turn)
    await output.send_response("c1", BotUttered("Welcome back!").message())

    assert sio.emitted == [
        (
            "bot_uttered",
            {"text": "Olivia (Orders): Hi, I'm Olivia.", "metadata": marking},
            "c1",
        ),
        ("bot_uttered", {"text": "Let me check.", "metadata": marking}, "c1"),
        ("bot_uttered", {"text": "Welcome back!"}, "c1"),
    ]
    shown = [stock_widget_shows(payload) for _, payload, _ in sio.emitted]
    assert shown == ["Olivia (Orders): Hi, I'm Olivia.", "Let me check.", "Welcome back!"]


@pytest.mark.parametrize(
    "marking",
    [{"id": 3}, {"id": 3, "name": ""}, "Olivia", {"id": 3, "name": "Olivia", "extra": 1}],
    ids=["no name", "empty name", "not an object", "unknown key"],
)
async def test_a_malformed_agent_marking_is_sent_as_a_plain_bot_text(marking: Any) -> None:
    sio = RecordingSio()
    output = WebChatOutput(sio, "bot_uttered")  # type: ignore[arg-type]

    await output.send_response("c1", {"text": "Hello", "handoff_agent": marking})

    assert sio.emitted == [("bot_uttered", {"text": "Hello"}, "c1")]


def test_messages_sent_outside_a_reply_use_the_marking_output() -> None:
    channel = webchat(None)
    channel.sio = RecordingSio()  # type: ignore[assignment]

    assert isinstance(channel.get_output_channel(), WebChatOutput)


# --- Desk → Rasa: POST /webhooks/socketio/handoff-opened ---------------------------------------


async def handoff_opened(
    server: ChatServer, body: Any, token: str | None = NOTIFY_TOKEN
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            server.url + HANDOFF_OPENED_PATH, data=json.dumps(body).encode(), headers=headers
        ) as response,
    ):
        return response.status, await response.json(content_type=None)


OPEN_HANDOFF = {
    "sender_id": "session-a",
    "handoff_id": "0b0c9a57-5a43-4a4e-9d38-7f0bd1f0c0de",
    "text": "You're in the queue for Order Support.",
}


@pytest.mark.parametrize("token", [None, "wrong"])
async def test_an_open_handoff_report_needs_the_token(chat: ChatServer, token: str | None) -> None:
    status, answer = await handoff_opened(chat, OPEN_HANDOFF, token=token)

    assert (status, answer) == (401, {"error": "missing or wrong bearer token"})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"handoff_id": "not-a-uuid"}, "handoff_id"),
        ({"sender_id": "\ud800web"}, "sender_id"),
        ({"text": ""}, "text"),
        ({"extra": 1}, "extra"),
    ],
)
async def test_an_invalid_open_handoff_report_is_a_400_naming_the_field(
    chat: ChatServer, change: dict[str, Any], field: str
) -> None:
    status, answer = await handoff_opened(chat, {**OPEN_HANDOFF, **change})

    assert status == 400
    assert field in json.dumps(answer)


# --- A request for a document: the upload prompt reaches the page under `metadata` ------------

PROMPT = UploadPrompt(reference="MTG-7K3Q9", item="payslips", title="Last 3 payslips")
PROMPT_JSON = {
    "reference": "MTG-7K3Q9",
    "item": "payslips",
    "title": "Last 3 payslips",
    "max_bytes": MAX_DOCUMENT_BYTES,
    "accept": ["application/pdf", "image/jpeg", "image/png"],
}


async def sent_by_an_action(output: WebChatOutput, dispatcher: CollectingDispatcher) -> None:
    """What Rasa does with an action server's messages: the action server returns them as
    JSON `responses`; `RemoteAction` makes each a `BotUttered` (the extra keys become its
    metadata); the processor hands `BotUttered.message()` to the output channel."""
    responses = json.loads(json.dumps(dispatcher.messages))
    nlg = TemplatedNaturalLanguageGenerator({})
    tracker = DialogueStateTracker.from_events("c1", [])
    for uttered in await RemoteAction._utter_responses(responses, output, nlg, tracker):
        await output.send_response("c1", uttered.message())


async def test_an_actions_upload_prompt_reaches_the_page_under_metadata() -> None:
    sio = RecordingSio()
    output = WebChatOutput(sio, "bot_uttered")  # type: ignore[arg-type]
    dispatcher = CollectingDispatcher()
    # As actions.mortgage_documents sends it.
    dispatcher.utter_message(text="Please upload your last 3 payslips.", **upload_metadata(PROMPT))
    dispatcher.utter_message(text="Thanks, I've got it.")

    await sent_by_an_action(output, dispatcher)

    assert sio.emitted == [
        (
            "bot_uttered",
            {
                "text": "Please upload your last 3 payslips.",
                "metadata": {"document_upload": PROMPT_JSON},
            },
            "c1",
        ),
        ("bot_uttered", {"text": "Thanks, I've got it."}, "c1"),
    ]
    # Stock widgets still show the words.
    shown = [stock_widget_shows(payload) for _, payload, _ in sio.emitted]
    assert shown == ["Please upload your last 3 payslips.", "Thanks, I've got it."]


async def test_a_prompt_goes_with_the_last_part_of_a_long_message() -> None:
    sio = RecordingSio()
    output = WebChatOutput(sio, "bot_uttered")  # type: ignore[arg-type]

    await output.send_response(
        "c1", {"text": "Still needed: payslips.\n\nPlease upload them.", **upload_metadata(PROMPT)}
    )

    assert sio.emitted == [
        ("bot_uttered", {"text": "Still needed: payslips."}, "c1"),
        (
            "bot_uttered",
            {"text": "Please upload them.", "metadata": {"document_upload": PROMPT_JSON}},
            "c1",
        ),
    ]


@pytest.mark.parametrize(
    "marking",
    [
        {"reference": "MTG-7K3Q9", "item": "../etc/passwd", "title": "x"},
        {"reference": "MTG-7K3Q9", "title": "no item"},
        {**PROMPT_JSON, "script": "<script>alert(1)</script>"},
        "payslips",
    ],
    ids=["path trick as item", "no item", "unknown key", "not an object"],
)
async def test_a_malformed_upload_prompt_is_sent_as_a_plain_bot_text(marking: Any) -> None:
    sio = RecordingSio()
    output = WebChatOutput(sio, "bot_uttered")  # type: ignore[arg-type]

    await output.send_response("c1", {"text": "Please upload it.", "document_upload": marking})

    assert sio.emitted == [("bot_uttered", {"text": "Please upload it."}, "c1")]


async def test_the_customers_own_turns_are_answered_with_the_prompt_too(
    chat: ChatServer, client: ChatClient
) -> None:
    await client.connect(chat.url, "session-a", signed("session-a"))
    await client.sio.emit("user_uttered", {"message": "hi", "session_id": "session-a"})
    assert await client.next("bot_uttered") == {"text": "echo: hi"}
    (message,) = chat.messages

    # The model's reply to a customer's turn goes through the same output.
    assert isinstance(message.output_channel, WebChatOutput)
    await message.output_channel.send_response(
        message.sender_id, {"text": "Please upload them.", **upload_metadata(PROMPT)}
    )

    assert await client.next("bot_uttered") == {
        "text": "Please upload them.",
        "metadata": {"document_upload": PROMPT_JSON},
    }
