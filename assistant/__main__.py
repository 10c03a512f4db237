"""The Rasa server's entry point: `python -m assistant run ...` is `rasa run ...` plus the
project's speed fix for action responses (see `assistant.performance`)."""

from __future__ import annotations

from assistant.performance import install_cached_action_response_validation


def main() -> None:
    """Installs the fix, then hands over to Rasa's own command line."""
    install_cached_action_response_validation()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
