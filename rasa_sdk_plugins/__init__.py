"""Action-server extensions, loaded by rasa-sdk's own plugin hook.

rasa-sdk imports a top-level package named `rasa_sdk_plugins` at start-up and calls
`init_hooks`; this is the supported way to add listeners and middleware to `rasa run actions`.
Here it adds:
- authentication of the webhook with the shared action-server token (Rasa sends it as the
  `token` query parameter, from `action_endpoint.token` in endpoints.yml);
- masking of personal data in the action server's logs;
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


def init_hooks(manager: pluggy.PluginManager) -> None:
    """Called by rasa-sdk: registers this module's hook implementations."""
    import sys

    manager.register(sys.modules[__name__])


def token_is_valid(presented: str | None, expected: str) -> bool:
    """Constant-time comparison of the presented token with the configured one."""
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())


@hookimpl
def attach_sanic_app_extensions(app: Sanic) -> None:
    """Adds authentication, log masking and the outbox relay to the action server."""
    from actions.handoff.pii import install_pii_log_masking
    from actions.settings import get_settings
    from actions.wiring import handoff_services

    settings = get_settings()  # fails fast on a missing secret
    install_pii_log_masking()

    @app.middleware("request")
    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in PUBLIC_PATHS:
            return None
        if not token_is_valid(request.args.get("token"), settings.action_server_token):
            return json({"error": "missing or invalid action server token"}, status=401)
        return None

    async def start_outbox_relay(app: Sanic, _loop: object) -> None:
        # Re-sends handoffs the desk did not take, now and then on a timer.
        handoff_services().relay.start()
        logger.info("Handoff outbox relay started (every %ss)", settings.outbox_interval_seconds)

    async def stop_outbox_relay(app: Sanic, _loop: object) -> None:
        await handoff_services().relay.stop()

    app.register_listener(start_outbox_relay, "after_server_start")
    app.register_listener(stop_outbox_relay, "before_server_stop")
