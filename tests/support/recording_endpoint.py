"""Moved to `harness.recording_endpoint`; kept for the tests that still import it from here.

The tests of the handoff delivery and the hand-back change in parallel with the move: once
they import `harness.recording_endpoint`, this module goes.
"""

from harness.recording_endpoint import RecordingEndpoint

__all__ = ["RecordingEndpoint"]
