"""Resuming an application in a new chat: start a verification, confirm its code.

Both run through `change_application`, so a failure, a lock or the resume itself is published
like every timeline entry. An unknown reference is answered like a wrong e-mail or code, its
failures counted and locked the same way (`verification.start_unknown`), and nothing is
published for it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from contract.resume import (
    ResumeGranted,
    VerificationConfirm,
    VerificationRefused,
    VerificationStart,
    VerificationStarted,
)
from desk.code_sender import CodeSender
from desk.services import verification
from desk.services.applications import ApplicationNotFoundError
from desk.store.models import MortgageApplication
from desk.store.types import utcnow
from desk.workflows.applications import change_application
from desk.workflows.context import Desk


async def start_verification(
    desk: Desk, reference: str, request: VerificationStart, sender: CodeSender
) -> VerificationStarted:
    """Send a code through `sender` if the e-mail matches; the same answer either way.

    Raises:
        ResumeLocked: Resuming is locked (nothing is written).
    """

    def step(session: Session, application: MortgageApplication) -> VerificationStarted:
        return verification.start_for(session, application, request, sender=sender, now=utcnow())

    try:
        answer, _ = await change_application(desk, reference, step)
    except ApplicationNotFoundError:
        return await desk.units(
            lambda session: verification.start_unknown(session, reference, now=utcnow()),
            write=True,
        )
    return answer


async def confirm_verification(
    desk: Desk, reference: str, request: VerificationConfirm
) -> ResumeGranted | VerificationRefused:
    """Check the typed code; on success the chat is linked and the record returned.

    Raises:
        ResumeLocked: Resuming was already locked (nothing is written).
    """

    def step(
        session: Session, application: MortgageApplication
    ) -> ResumeGranted | VerificationRefused:
        return verification.confirm_for(session, application, request, now=utcnow())

    try:
        answer, _ = await change_application(desk, reference, step)
    except ApplicationNotFoundError:
        return await desk.units(
            lambda session: verification.confirm_unknown(session, reference, now=utcnow()),
            write=True,
        )
    return answer
