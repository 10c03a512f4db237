"""Routes of resuming an application (`contract.resume`; Bearer HANDOFF_SECRET).

`POST .../verification` answers 202 whether or not the e-mail matched; `POST
.../verification/confirm` answers 200 with the record, or 401 with the attempts left; either
answers 423 with `locked_until` while resuming is locked. The one-time code goes out through
the app's `CodeSender` (`CODE_SENDER`; the demo's writes it to the log).
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from contract.resume import (
    ResumeGranted,
    VerificationConfirm,
    VerificationStart,
    verification_confirm_path,
    verification_path,
)
from desk.api.middleware import bot_facing
from desk.api.runtime import DESK, parse, respond
from desk.code_sender import CodeSender
from desk.services.verification import ResumeLocked
from desk.workflows.resume import confirm_verification, start_verification

#: How the app sends resume codes (set by `desk.app.create_app`).
CODE_SENDER: Final = web.AppKey("code_sender", CodeSender)
LOCKED: Final = 423


@bot_facing
async def post_verification(request: web.Request) -> web.Response:
    """Start a verification: 202, the same whether or not the details matched."""
    reference = request.match_info["reference"]
    body = await parse(request, VerificationStart)
    sender = request.app[CODE_SENDER]
    try:
        started = await start_verification(request.app[DESK], reference, body, sender)
    except ResumeLocked as locked:
        return respond(locked.refusal(), status=LOCKED)
    return respond(started, status=202)


@bot_facing
async def post_verification_confirm(request: web.Request) -> web.Response:
    """Confirm the typed code: 200 with the record, 401 when wrong, 423 when locked."""
    reference = request.match_info["reference"]
    body = await parse(request, VerificationConfirm)
    try:
        answer = await confirm_verification(request.app[DESK], reference, body)
    except ResumeLocked as locked:
        return respond(locked.refusal(), status=LOCKED)
    if isinstance(answer, ResumeGranted):
        return respond(answer)
    return respond(answer, status=401 if answer.locked_until is None else LOCKED)


def add_routes(app: web.Application) -> None:
    """Register the resume routes."""
    app.router.add_post(verification_path("{reference}"), post_verification)
    app.router.add_post(verification_confirm_path("{reference}"), post_verification_confirm)
