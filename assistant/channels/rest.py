"""Rasa's REST channel with the channel edge's checks (`assistant.channels.edge`).

`POST /webhooks/rest/webhook` takes the same body as Rasa's channel,
``{"sender": str, "message": str, "metadata"?: object, "input_channel"?: str}``, and answers
the same way (a JSON array of the bot's messages; `?stream=true` streams them). What changes:

- a body that is empty, not JSON, not an object, or whose fields are missing, of the wrong type
  or invalid answers **400** ``{"error": "<field>: <problem>", "field": "<field>"}`` (Rasa's
  channel answered 500 to many of them); a body over `MAX_BODY_BYTES` answers **413**. No
  malformed request reaches Rasa, and none is answered with a 5xx;
- a failure while Rasa handles the message answers 200 with what the bot said so far plus the
  apology (`assistant.apology.APOLOGY`); the failure is logged with the sender masked, never
  with the customer's text (Rasa's channel logged the text).

The channel keeps Rasa's name, `rest`, so its URL and `input_channel` stay as they were.

credentials.yml::

    assistant.channels.rest.CheckedRestInput:
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from dataclasses import dataclass
from typing import Any, Final

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from assistant.channels.edge import (
    InvalidInput,
    MessageHandler,
    apologise,
    check_conversation_id,
    check_metadata,
    clean_text,
    guarded,
    parse_json_object,
)
from assistant.desk_events import mask_sender

logger = logging.getLogger(__name__)

#: Far above any valid body (20,000 characters written as `\uXXXX` surrogate pairs is 240 kB,
#: plus 8 kB of metadata), far below Sanic's 100 MB default.
MAX_BODY_BYTES: Final = 512 * 1024


@dataclass(frozen=True)
class RestMessage:
    """A checked REST request: who wrote what, on which channel, with which metadata."""

    sender_id: str
    text: str
    input_channel: str
    metadata: dict[str, Any] | None


class BodyTooLarge(InvalidInput):
    """The body is larger than `MAX_BODY_BYTES` (answered with 413)."""


def parse_rest_message(body: bytes | None, default_channel: str) -> RestMessage:
    """The checked message of a REST body; `InvalidInput` (or `BodyTooLarge`) otherwise."""
    if body is not None and len(body) > MAX_BODY_BYTES:
        raise BodyTooLarge("body", f"must be at most {MAX_BODY_BYTES} bytes")
    payload = parse_json_object(body)
    sender_id = check_conversation_id(payload.get("sender"), "sender")
    text = clean_text(payload.get("message"), "message")
    metadata = check_metadata(payload.get("metadata"), "metadata")
    input_channel = payload.get("input_channel")
    if input_channel is not None:
        input_channel = check_conversation_id(input_channel, "input_channel")
    return RestMessage(sender_id, text, input_channel or default_channel, metadata)


class CheckedRestInput(RestInput):
    """Rasa's REST channel that checks every request and never answers a 5xx of its own."""

    @classmethod
    def name(cls) -> str:
        """`rest`, like the parent: the URL stays `/webhooks/rest/webhook`."""
        return "rest"

    def blueprint(self, on_new_message: MessageHandler) -> Blueprint:
        """The parent's two routes (`GET /`, `POST /webhook`), with the checks and the guard."""
        handle = guarded(on_new_message, self.name())
        module = inspect.getmodule(self)
        webhook = Blueprint(
            f"custom_webhook_{type(self).__name__}", module.__name__ if module else None
        )

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse | ResponseStream:
            return await self.receive(handle, request)

        return webhook

    async def receive(
        self, handle: MessageHandler, request: Request
    ) -> HTTPResponse | ResponseStream:
        """Checks the request, then has Rasa answer it (streamed if `?stream=true`)."""
        try:
            message = parse_rest_message(request.body, self.name())
        except InvalidInput as refused:
            logger.info("rest channel: refused a request (%s)", refused)
            status = 413 if isinstance(refused, BodyTooLarge) else 400
            return response.json({"error": str(refused), "field": refused.field}, status=status)

        if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
            return response.stream(
                self.stream_response(
                    handle,
                    message.text,
                    message.sender_id,
                    message.input_channel,
                    message.metadata,
                ),
                content_type="text/event-stream",
            )

        collector = CollectingOutputChannel()
        user_message = UserMessage(
            message.text,
            collector,
            message.sender_id,
            input_channel=message.input_channel,
            metadata=message.metadata,
        )
        try:
            await handle(user_message)
        except asyncio.CancelledError:
            # Like Rasa's channel: a request cut short (the response timeout) still answers with
            # what the bot said so far, here with the apology after it.
            logger.error(
                "rest channel: the turn of %s was cancelled", mask_sender(message.sender_id)
            )
            await apologise(user_message, self.name())
        return response.json(collector.messages)
