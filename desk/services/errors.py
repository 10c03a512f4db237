"""What can go wrong in the desk's rules, independent of how it is reported."""

from __future__ import annotations


class DeskError(Exception):
    """Base of every rule violation; the message is safe to show to the caller."""

    def __init__(self, message: str) -> None:
        """Keep the message for the caller."""
        super().__init__(message)
        self.message = message


class NotFound(DeskError):
    """The handoff (or agent) does not exist, or the caller may not know it exists."""


class PermissionDenied(DeskError):
    """The agent may not do this (e.g. claim from a queue they do not serve)."""


class AuthenticationFailed(DeskError):
    """Wrong credentials or no valid session; deliberately vague."""


class Conflict(DeskError):
    """The handoff is not in a state that allows this."""


class AlreadyClaimed(Conflict):
    """Another agent claimed the handoff first (or it left the queue)."""


class InvalidInput(DeskError):
    """The input breaks a rule; `errors` lists each problem."""

    def __init__(self, errors: list[str]) -> None:
        """Keep every problem, the first as the message."""
        super().__init__(errors[0] if errors else "invalid input")
        self.errors = errors


class InvalidHandoff(InvalidInput):
    """A handoff context that does not match the committed schema."""
