"""Action-server extensions, loaded by rasa-sdk's own plugin hook.

rasa-sdk imports a top-level package named `rasa_sdk_plugins` at start-up and calls
`init_hooks`; this is the supported way to add listeners and middleware to `rasa run actions`.
Here it adds:
- authentication of the webhook with the shared action-server token, which Rasa sends as
  `Authorization: Bearer <token>` (`action_endpoint.headers` in endpoints.yml). Never as a query
  parameter: a URL is repeated in client errors and access logs, and so was the token;
- masking of personal data and secrets in every log record of the action server
  (`logsupport.masking`);
- the handoff outbox relay, started with the server and stopped with it.
"""

from __future__ import annotations

import hmac
import logging

import pluggy
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json

hookimpl = pluggy.HookimplMarker("rasa_sdk")
logger = logging.getLogger(__name__)

#: Paths that stay open: the health check used by load balancers and `make run`.
PUBLIC_PATHS = frozenset({"/health"})
#: The header Rasa sends the token in (endpoints.yml, `action_endpoint.headers`).
AUTHORIZATION = "Authorization"
BEARER = "bearer"


def init_hooks(manager: pluggy.PluginManager) -> None:
    """Called by rasa-sdk: registers this module's hook implementations."""
    import sys

    manager.register(sys.modules[__name__])


def token_is_valid(presented: str | None, expected: str) -> bool:
    """Constant-time comparison of the presented token with the configured one."""
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())


def presented_token(request: Request) -> str | None:
    """The token of the request's `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = request.headers.get(AUTHORIZATION, "").partition(" ")
    return token if scheme.lower() == BEARER and token else None


@hookimpl
def attach_sanic_app_extensions(app: Sanic) -> None:
    """Adds authentication, log masking and the outbox relay to the action server."""
    from actions.settings import get_settings
    from actions.wiring import handoff_services
    from logsupport.masking import install_log_masking

    settings = get_settings()  # fails fast on a missing secret
    install_log_masking([settings.action_server_token, settings.handoff_secret])

    @app.middleware("request")
    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in PUBLIC_PATHS:
            return None
        if not token_is_valid(presented_token(request), settings.action_server_token):
            return json(
                {"error": "missing or invalid action server token (Authorization: Bearer)"},
                status=401,
            )
        return None

    async def start_outbox_relay(app: Sanic, _loop: object) -> None:
        # Re-sends handoffs the desk did not take, now and then on a timer.
        handoff_services().relay.start()
        logger.info("Handoff outbox relay started (every %ss)", settings.outbox_interval_seconds)

    async def stop_outbox_relay(app: Sanic, _loop: object) -> None:
        await handoff_services().relay.stop()

    app.register_listener(start_outbox_relay, "after_server_start")
    app.register_listener(stop_outbox_relay, "before_server_stop")
