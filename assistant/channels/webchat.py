"""The web chat channel: Rasa's socket.io channel plus the live handoff's two extras.

`WebChatInput` is Rasa's `SocketIOInput` (same name, `socketio`, so the `/webhooks/socketio/`
prefix and `output_channel=latest` keep working; same protocol, so any Rasa web widget works:
`session_request` → `session_confirm`, `user_uttered` → `bot_uttered`) and adds:

- the socket.io event ``user_typing`` ``{"session_id": str, "typing": bool}`` from the customer's
  page, relayed to the desk as ``POST {desk_url}/api/conversation-events`` with
  ``{"sender_id": session_id, "event": {"event": "user_typing", "typing": bool,
  "timestamp": epoch}}``. The relay is queued (`assistant.desk_events.DeskEventForwarder`, one
  attempt per event, short timeout): the socket handler returns at once and never sees an error;
- engine.io's websocket transport, which Sanic 21.12 could not serve
  (`assistant.channels.websocket_transport`): standard clients start on long-polling and
  upgrade, or connect over websocket directly; long-polling stays for clients behind proxies;
- the chat token (`assistant.channels.chat_access`): ``session_request``
  ``{"session_id", "token"}`` joins that chat only with the token that opens it
  (`contract.webchat`); without one the socket gets a new chat (``chat_token``
  ``{"session_id", "token", "expires_at"}``, then ``session_confirm`` with the new id). A
  ``user_uttered`` or ``user_typing`` for a chat the socket has not joined is refused
  (``input_refused``, field ``session_id``) or ignored: an id alone neither reads nor speaks;
- the channel edge (`assistant.channels.edge`): ``session_request`` and ``user_uttered`` are
  checked before Rasa's handlers see them. A refused payload is answered, to that socket only,
  with the socket.io event ``input_refused`` ``{"event": <the refused event>, "field": str,
  "error": "<field>: <problem>"}`` and goes no further (Rasa's handlers crashed on some and
  handed others to the tracker store, which ended the server). A failure while Rasa handles a
  message is logged (sender masked) and answered with the apology as a ``bot_uttered`` to the
  conversation's room;
- a limit per connection (`assistant.channels.rate_limit`): events beyond
  WEBCHAT_EVENTS_PER_SECOND (bursts of WEBCHAT_EVENT_BURST) are dropped before any handler with
  a `slow_down` event (`contract.slow_down`), and a connection that keeps on is closed;
- the web chat output (`WebChatOutput`) on every path, the customer's own turns included
  (Rasa's handler answered them through its plain socket.io output, which drops a message's
  metadata): an agent's turn carries `metadata.handoff_agent` (`contract.webchat`) and a
  request for a document `metadata.document_upload` (`contract.documents.UploadPrompt`);
- ``POST /webhooks/socketio/notify`` for the desk, with ``Authorization: Bearer <notify_token>``
  (the Rasa HTTP API token): a `HandoffStatusNotice` body, emitted to the customer's room as the
  socket.io event ``handoff_status``; 202 when emitted, 401 for a wrong token, 400 for a body
  that is not JSON or does not validate, 413 for a body over `MAX_NOTIFY_BYTES`.

Several Rasa processes: with `WEBCHAT_SOCKETIO_MANAGER_URL` set (Redis or RabbitMQ), every emit
goes through python-socketio's pub/sub client manager, so a notice or an agent's turn handled by
one process reaches a customer whose socket is on another
(`assistant.channels.socketio_manager`). Empty (the default): one process, as before.

credentials.yml (the channel's own settings, then the standard socket.io ones)::

    assistant.channels.webchat.WebChatInput:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      session_persistence: true
      desk_url: ${DESK_URL}
      handoff_secret: ${HANDOFF_SECRET}
      notify_token: ${RASA_AUTH_TOKEN}
      # optional: desk_timeout_seconds (default 1.0)

Rooms: with `session_persistence: true` Rasa puts the socket in a room named after the
`session_id` on `session_request` (here: the id the token opens, or a new one), and addresses
replies to that room; without it the conversation id is the socket id, which is its own room.
Either way the conversation id is the room, so `notify` emits to `room=sender_id`. A message or
a typing signal is taken only for a session the socket has joined (it cannot speak or type
"for" another conversation).
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from asyncio import AbstractEventLoop
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from assistant.channels.chat_access import ChatAccess, checked_token
from assistant.channels.edge import (
    InvalidInput,
    check_conversation_id,
    check_metadata,
    clean_text,
    guarded,
    json_type,
)
from assistant.channels.rate_limit import limit_events
from assistant.channels.socketio_manager import serve_across_processes
from assistant.channels.websocket_transport import serve_websocket
from assistant.desk_events import DeskEventForwarder, mask_sender
from assistant.handoff_guard import confirm_open_handoff
from assistant.settings import AssistantSettings
from contract.conversation_events import TYPING_EVENT
from contract.customer_status import NOTIFY_PATH, STATUS_EVENT, HandoffStatusNotice
from contract.documents import UPLOAD_METADATA_KEY, UploadPrompt
from contract.handoff_opened import HANDOFF_OPENED_PATH, HandoffOpenedNotice
from contract.webchat import CHAT_TOKEN_EVENT, agent_messages, agent_of

logger = logging.getLogger(__name__)

#: Where Rasa serves this channel's routes (`/webhooks/<channel name>`).
CHANNEL_PREFIX: Final = "/webhooks/socketio"
#: The desk's two routes under the channel's prefix: status notices and the open handoff.
NOTIFY_ROUTE: Final = NOTIFY_PATH.removeprefix(CHANNEL_PREFIX)
HANDOFF_OPENED_ROUTE: Final = HANDOFF_OPENED_PATH.removeprefix(CHANNEL_PREFIX)
M = TypeVar("M", bound=BaseModel)
SESSION_REQUEST_EVENT: Final = "session_request"
#: Sent to one socket whose `session_request` or `user_uttered` payload was refused.
REFUSED_EVENT: Final = "input_refused"
MAX_NOTIFY_BYTES: Final = 16 * 1024
DEFAULT_DESK_TIMEOUT_SECONDS: Final = 1.0
#: Typing signals go stale in seconds: few are kept while the desk is slow.
TYPING_QUEUE_SIZE: Final = 100


def validation_errors(error: ValidationError) -> list[str]:
    """One readable line per problem: `field: message`."""
    return [
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
        for problem in error.errors()
    ]


def bearer_token_matches(header: str | None, token: str) -> bool:
    """Whether `Authorization: Bearer <token>` carries `token` (compared in constant time)."""
    if not header or not token:
        return False
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))


def _single_payload(payload: tuple[Any, ...], *, allow_none: bool) -> dict[str, Any]:
    """The one object a socket.io event carries (`InvalidInput` for none, several, or another
    kind of value); with `allow_none`, a missing or null payload is an empty object."""
    if len(payload) > 1:
        raise InvalidInput("payload", "must be one object, not several arguments")
    data = payload[0] if payload else None
    if data is None and allow_none:
        return {}
    if not payload:
        raise InvalidInput("payload", "is missing")
    if not isinstance(data, dict):
        raise InvalidInput("payload", f"must be an object, not {json_type(data)}")
    return data


def _error(status: int, message: str, **extra: Any) -> HTTPResponse:
    return response.json({"error": message, **extra}, status=status)


def upload_prompt_of(metadata: Any) -> UploadPrompt | None:
    """The document a bot message asks for (`metadata.document_upload`), or None (none, or a
    malformed one: the message then goes out as plain text)."""
    marking = metadata.get(UPLOAD_METADATA_KEY) if isinstance(metadata, dict) else None
    if marking is None:
        return None
    try:
        return UploadPrompt.parse_obj(marking)
    except ValidationError:
        logger.warning("web chat: a malformed %s was sent as plain text", UPLOAD_METADATA_KEY)
        return None


class WebChatOutput(SocketIOOutput):
    """Rasa's socket.io output, which also carries who wrote an agent's turn and which
    document the bot asks for.

    A bot message's metadata (the desk's `bot` event's, or what an action passed to
    `utter_message(text=..., **metadata)`) reaches the output channel as keyword arguments
    beside the text (`BotUttered.message()`), which Rasa's own socket.io output drops. Here:
    - an agent's turn goes out in the shape of `contract.webchat.agent_messages`: the agent's
      name in the text, so any widget shows it, and the marking under `metadata`;
    - a request for a document carries its `UploadPrompt` as `metadata.document_upload` on the
      message's last part, under which the project's page shows its upload control.
    Markings live under `metadata` because rasa-webchat strips that key before deciding how to
    render (any other extra top-level key made it drop the message).
    """

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send the text (one message per paragraph, like Rasa), named and marked if an agent
        wrote it, with the upload prompt if it asks for a document."""
        agent = agent_of(kwargs)
        if agent is not None:
            for message in agent_messages(agent, text.strip().split("\n\n")):
                await self._send_message(recipient_id, message)
            return
        prompt = upload_prompt_of(kwargs)
        if prompt is None:
            await super().send_text_message(recipient_id, text, **kwargs)
            return
        parts = text.strip().split("\n\n")
        for part in parts[:-1]:
            await self._send_message(recipient_id, {"text": part})
        metadata = {UPLOAD_METADATA_KEY: json.loads(prompt.json())}
        await self._send_message(recipient_id, {"text": parts[-1], "metadata": metadata})


class WebChatInput(SocketIOInput):
    """Rasa's socket.io channel with the typing relay and the desk's status notifications."""

    @classmethod
    def name(cls) -> str:
        """`socketio`, like the parent: the webhook prefix and `output_channel=latest` stay."""
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """The parent's settings plus `desk_url`, `handoff_secret` and `notify_token`."""
        credentials = credentials or {}
        return cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            credentials.get("session_persistence", False),
            credentials.get("socketio_path", "/socket.io"),
            credentials.get("jwt_key"),
            credentials.get("jwt_method", "HS256"),
            credentials.get("metadata_key", "metadata"),
            desk_url=credentials.get("desk_url"),
            handoff_secret=credentials.get("handoff_secret"),
            notify_token=credentials.get("notify_token"),
            desk_timeout_seconds=float(
                credentials.get("desk_timeout_seconds", DEFAULT_DESK_TIMEOUT_SECONDS)
            ),
        )

    def __init__(
        self,
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        namespace: str | None = None,
        session_persistence: bool = False,
        socketio_path: str | None = "/socket.io",
        jwt_key: str | None = None,
        jwt_method: str | None = "HS256",
        metadata_key: str | None = "metadata",
        *,
        desk_url: str | None = None,
        handoff_secret: str | None = None,
        notify_token: str | None = None,
        desk_timeout_seconds: float = DEFAULT_DESK_TIMEOUT_SECONDS,
    ) -> None:
        """Without `desk_url`/`handoff_secret` typing is not relayed; without `notify_token`
        the notify route answers 503 (it never runs unauthenticated)."""
        super().__init__(
            user_message_evt,
            bot_message_evt,
            namespace,
            session_persistence,
            socketio_path,
            jwt_key,
            jwt_method,
            metadata_key,
        )
        self.notify_token = notify_token or ""
        self.chat_access = ChatAccess(handoff_secret)
        self.typing_forwarder: DeskEventForwarder | None = None
        if desk_url and handoff_secret:
            self.typing_forwarder = DeskEventForwarder(
                desk_url,
                handoff_secret,
                timeout=desk_timeout_seconds,
                max_queue=TYPING_QUEUE_SIZE,
                retry=False,
                name="web chat typing relay",
            )
        else:
            logger.warning("web chat: no desk_url/handoff_secret; typing is not relayed")
        if not self.notify_token:
            logger.warning("web chat: no notify_token; /webhooks/socketio/notify answers 503")

    def get_output_channel(self) -> OutputChannel | None:
        """The output used for messages not answering the customer (`output_channel=latest`:
        an agent's turn, the hand-back): it marks agents' turns (`WebChatOutput`)."""
        if self.sio is None:
            return super().get_output_channel()
        return WebChatOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's socket.io blueprint behind the edge's checks, plus `user_typing` and
        `POST /notify`."""
        handle = guarded(on_new_message, self.name())
        webhook = super().blueprint(handle)
        sio = self.sio
        assert sio is not None  # set by the parent's blueprint()
        serve_websocket(sio)
        scale = AssistantSettings.from_env()
        serve_across_processes(
            sio, webhook, scale.webchat_socketio_manager_url, scale.webchat_socketio_channel
        )
        self.check_protocol_events(sio, handle)

        @sio.on(TYPING_EVENT, namespace=self.namespace)
        async def user_typing(sid: str, data: Any) -> None:
            self.relay_typing(sio, sid, data)

        # Last, so every handler above is behind it.
        limit_events(sio, self.namespace, scale.connection_limits())

        @webhook.route(NOTIFY_ROUTE, methods=["POST"], name="notify")
        async def notify(request: Request) -> HTTPResponse:
            return await self.handle_notify(sio, request)

        @webhook.route(HANDOFF_OPENED_ROUTE, methods=["POST"], name="handoff_opened")
        async def handoff_opened(request: Request) -> HTTPResponse:
            return await self.handle_handoff_opened(request)

        @webhook.listener("after_server_stop")
        async def close_relay(_app: Sanic, _loop: AbstractEventLoop) -> None:
            if self.typing_forwarder is not None:
                await self.typing_forwarder.close()

        return webhook

    # --- Customer → Rasa: the edge's checks --------------------------------------------------

    def check_protocol_events(
        self, sio: AsyncServer, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        """Puts the checks in front of Rasa's `session_request` handler, and replaces its
        `user_uttered` handler by `handle_message` (the same, answering through
        `WebChatOutput`)."""
        handlers = sio.handlers[self.namespace or "/"]
        request_session = handlers[SESSION_REQUEST_EVENT]

        async def handle_message(sid: str, data: dict[str, Any]) -> None:
            await on_new_message(self.user_message(sio, sid, data))

        async def session_request(sid: str, *payload: Any) -> None:
            try:
                data = self.checked_session_request(payload)
            except InvalidInput as refused:
                await self.refuse(sio, sid, SESSION_REQUEST_EVENT, refused)
                return
            if self.session_persistence:
                admission = self.chat_access.admit(data["session_id"], data["token"])
                if admission.grant is not None:
                    grant = admission.grant.dict()
                    await sio.emit(CHAT_TOKEN_EVENT, grant, to=sid, namespace=self.namespace)
                data["session_id"] = admission.session_id
            await request_session(sid, {"session_id": data["session_id"]})

        async def user_uttered(sid: str, *payload: Any) -> None:
            try:
                data = self.checked_user_message(payload)
                if self.session_persistence:
                    self.check_joined(sio, sid, data["session_id"])
            except InvalidInput as refused:
                await self.refuse(sio, sid, self.user_message_evt, refused)
                return
            await handle_message(sid, data)

        sio.on(SESSION_REQUEST_EVENT, session_request, namespace=self.namespace)
        sio.on(self.user_message_evt, user_uttered, namespace=self.namespace)

    def user_message(self, sio: AsyncServer, sid: str, data: dict[str, Any]) -> UserMessage:
        """The customer's checked message (`checked_user_message`) as Rasa's handler makes it,
        but answered through `WebChatOutput`, so the replies keep their metadata."""
        return UserMessage(
            data["message"],
            WebChatOutput(sio, self.bot_message_evt),
            data["session_id"] if self.session_persistence else sid,
            input_channel=self.name(),
            metadata=data.get(self.metadata_key, {}),
        )

    def checked_session_request(self, payload: tuple[Any, ...]) -> dict[str, Any]:
        """The `session_request`'s `{"session_id": id or None, "token": token or None}` (no
        id: a new chat)."""
        data = _single_payload(payload, allow_none=True)
        session_id = data.get("session_id")
        if session_id is not None:
            check_conversation_id(session_id, "session_id")
        return {"session_id": session_id, "token": checked_token(data.get("token"))}

    def check_joined(self, sio: AsyncServer, sid: str, session_id: str) -> None:
        """`InvalidInput` unless the socket has joined the chat `session_id` (with its token,
        or as the new chat it was given)."""
        if session_id not in sio.rooms(sid, namespace=self.namespace):
            raise InvalidInput(
                "session_id", "is not the chat this connection joined; send session_request first"
            )

    def checked_user_message(self, payload: tuple[Any, ...]) -> dict[str, Any]:
        """The `user_uttered` data Rasa's handler needs, checked and the text repaired."""
        data = _single_payload(payload, allow_none=False)
        checked: dict[str, Any] = {"message": clean_text(data.get("message"), "message")}
        if self.session_persistence:
            checked["session_id"] = check_conversation_id(data.get("session_id"), "session_id")
        metadata = data.get(self.metadata_key)
        if isinstance(metadata, str):  # Rasa's channel accepts metadata as a JSON string
            try:
                metadata = json.loads(metadata)
            except (ValueError, RecursionError):
                raise InvalidInput(self.metadata_key, "is a string but not JSON") from None
        metadata = check_metadata(metadata, self.metadata_key)
        if metadata is not None:
            checked[self.metadata_key] = metadata
        return checked

    async def refuse(self, sio: AsyncServer, sid: str, event: str, refused: InvalidInput) -> None:
        """Tells the one socket why its event was refused."""
        logger.info("web chat: refused a %s from socket %s (%s)", event, sid, refused)
        body = {"event": event, "field": refused.field, "error": str(refused)}
        await sio.emit(REFUSED_EVENT, body, to=sid, namespace=self.namespace)

    # --- Customer → desk: typing ----------------------------------------------------------------

    def relay_typing(self, sio: AsyncServer, sid: str, data: Any) -> None:
        """Queues the typing signal for the desk; ignores malformed or foreign signals."""
        try:
            if self.typing_forwarder is None:
                return
            if not isinstance(data, dict) or not isinstance(data.get("typing"), bool):
                logger.debug("web chat: ignored a malformed %s from socket %s", TYPING_EVENT, sid)
                return
            sender_id = self._conversation_of(sio, sid, data)
            if sender_id is None:
                return
            event = {"event": TYPING_EVENT, "typing": data["typing"], "timestamp": time.time()}
            self.typing_forwarder.submit(sender_id, event)
        except Exception:  # the socket handler must never fail because of the desk
            logger.exception("web chat: could not relay a typing signal of socket %s", sid)

    def _conversation_of(self, sio: AsyncServer, sid: str, data: dict[str, Any]) -> str | None:
        """The conversation id the signal belongs to, as Rasa's channel derives it."""
        if not self.session_persistence:
            return sid
        try:
            session_id = check_conversation_id(data.get("session_id"), "session_id")
            self.check_joined(sio, sid, session_id)
        except InvalidInput as refused:
            logger.info("web chat: ignored a %s from socket %s (%s)", TYPING_EVENT, sid, refused)
            return None
        return session_id

    # --- Desk → customer: handoff status --------------------------------------------------------

    def desk_body(self, request: Request, model: type[M], what: str) -> M | HTTPResponse:
        """The body of a desk-facing route as `model`, or the error answer: 503 without a
        notify_token, 401 for a wrong one, 413 too large, 400 not JSON or not valid."""
        if not self.notify_token:
            return _error(503, "notifications are not configured (no notify_token)")
        if not bearer_token_matches(request.headers.get("Authorization"), self.notify_token):
            return response.json(
                {"error": "missing or wrong bearer token"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        body = request.body or b""
        if len(body) > MAX_NOTIFY_BYTES:
            return _error(413, f"body is larger than {MAX_NOTIFY_BYTES} bytes")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            return _error(400, f"body is not JSON: {error}")
        if not isinstance(payload, dict):
            return _error(400, "body must be a JSON object")
        try:
            return model.parse_obj(payload)
        except ValidationError as error:
            return _error(400, f"invalid {what}", errors=validation_errors(error))

    async def handle_handoff_opened(self, request: Request) -> HTTPResponse:
        """`POST /webhooks/socketio/handoff-opened`: the desk holds an open handoff; the
        conversation is paused and the customer told if its tracker had missed it
        (`assistant.handoff_guard.confirm_open_handoff`). 200 `{"changed": bool}`."""
        notice = self.desk_body(request, HandoffOpenedNotice, "open handoff")
        if isinstance(notice, HTTPResponse):
            return notice
        try:
            check_conversation_id(notice.sender_id, "sender_id")
        except InvalidInput as refused:
            return _error(400, str(refused))
        changed = await confirm_open_handoff(
            request.app.ctx.agent, self.get_output_channel(), notice
        )
        return response.json({"changed": changed})

    async def handle_notify(self, sio: AsyncServer, request: Request) -> HTTPResponse:
        """`POST /webhooks/socketio/notify`: authenticate, validate, emit to the room."""
        notice = self.desk_body(request, HandoffStatusNotice, "handoff status")
        if isinstance(notice, HTTPResponse):
            return notice
        # The page tells the notice by its `type`, which the contract lets the desk leave out.
        message = {"type": STATUS_EVENT, **notice.dict(exclude_unset=True)}
        await sio.emit(STATUS_EVENT, message, room=notice.sender_id, namespace=self.namespace)
        logger.debug(
            "web chat: %s %s emitted to %s",
            STATUS_EVENT,
            notice.status,
            mask_sender(notice.sender_id),
        )
        return response.json({"status": "accepted"}, status=202)
