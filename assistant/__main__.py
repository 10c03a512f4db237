"""The Rasa server's entry point: `python -m assistant run ...` is `rasa run ...` with the
project's changes to Rasa installed first, each written for one Rasa version and skipped on
any other:

- the speed fixes for action responses, TensorFlow's per-call dispatch, the model's load, the
  connection to the action server and slot copies (`assistant.performance`);
- next-action prediction without the policies that cannot change it
  (`assistant.prediction`);
- the apology when the action server fails (`assistant.action_failure`), bounded by the
  settings' action timeout (`assistant.settings`, read first: a malformed one stops here);
- tracker store errors failing one turn instead of falling back to memory
  (`assistant.tracker_store`);
- no restart and no new session ends the pause while a person has the conversation
  (`assistant.handoff_guard`);
- personal data and secrets masked in every log record (`assistant.log_masking`).

`rasa run` takes its HTTP API token only as `--auth-token`, and a process's command line is
public on the machine (`ps`). So the launcher passes the token in `RASA_AUTH_TOKEN` and this
entry point appends the option to `sys.argv` inside the process, where `ps` does not see it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from assistant.action_failure import install_action_failure_apology
from assistant.handoff_guard import install_pause_guards
from assistant.log_masking import install as install_log_masking
from assistant.performance import (
    install_cached_action_response_validation,
    install_direct_model_calls,
    install_kept_alive_endpoints,
    install_quick_model_load,
    install_quick_slot_copies,
)
from assistant.prediction import install_planned_prediction
from assistant.settings import AssistantSettings
from assistant.tracker_store import install_direct_tracker_store

#: The environment variable the Rasa server's HTTP API token comes from.
AUTH_TOKEN_VARIABLE = "RASA_AUTH_TOKEN"


def with_auth_token(argv: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """`argv` with `--auth-token=<RASA_AUTH_TOKEN>` for the Rasa server (`run`, not
    `run actions`), unless the token is unset or the command line names one already."""
    args = list(argv)
    token = environ.get(AUTH_TOKEN_VARIABLE, "")
    serves = args[1:2] == ["run"] and args[2:3] != ["actions"]
    named = any(arg == "--auth-token" or arg.startswith("--auth-token=") for arg in args)
    if not token or not serves or named:
        return args
    # As one `--option=value` word: a random token may start with "-".
    return [*args, f"--auth-token={token}"]


def main() -> None:
    """Reads the settings, installs the changes, then hands over to Rasa's own command line."""
    install_log_masking(os.environ)
    settings = AssistantSettings.from_env()
    install_cached_action_response_validation()
    install_direct_model_calls()
    install_quick_model_load()
    install_planned_prediction()
    install_kept_alive_endpoints()
    install_quick_slot_copies()
    install_action_failure_apology(settings.action_server_timeout_seconds)
    install_direct_tracker_store()
    install_pause_guards()
    sys.argv = with_auth_token(sys.argv, os.environ)
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
