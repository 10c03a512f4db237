"""The Rasa server's entry point: `python -m assistant run ...` is `rasa run ...` with the
project's changes to Rasa installed first, each written for one Rasa version and skipped on
any other:

- the speed fixes for action responses and TensorFlow's per-call dispatch
  (`assistant.performance`);
- the apology when the action server fails (`assistant.action_failure`), bounded by the
  settings' action timeout (`assistant.settings`, read first: a malformed one stops here);
- tracker store errors failing one turn instead of falling back to memory
  (`assistant.tracker_store`);
- no restart and no new session ends the pause while a person has the conversation
  (`assistant.handoff_guard`).
"""

from __future__ import annotations

from assistant.action_failure import install_action_failure_apology
from assistant.handoff_guard import install_pause_guards
from assistant.performance import (
    install_cached_action_response_validation,
    install_direct_model_calls,
)
from assistant.settings import AssistantSettings
from assistant.tracker_store import install_direct_tracker_store


def main() -> None:
    """Reads the settings, installs the changes, then hands over to Rasa's own command line."""
    settings = AssistantSettings.from_env()
    install_cached_action_response_validation()
    install_direct_model_calls()
    install_action_failure_apology(settings.action_server_timeout_seconds)
    install_direct_tracker_store()
    install_pause_guards()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
