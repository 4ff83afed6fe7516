"""An answer to a control's method call that comes after a redraw took the control off the page.

The app calls methods on a few controls and waits for the answer (the camera's initialize and
take_picture). A redraw can take such a control off the page while the call is on its way: the
user taps "done" while the camera is still starting, say. Flet 1.0.5 then raises inside the web
session's receive loop ("Control with ID … is not registered"), which ends the loop: the session
stops answering the page, and its slot (one session per phone) looks held until Flet's session
timeout. The caller's call would wait forever.

So the answer is handed to the caller that is still waiting, as an error; nothing else changes.
Applied once, at start, to Flet's own Session class (flet's upstream still raises there); pure
Python, so the same on a phone.
"""
from __future__ import annotations

from typing import Any

GONE = "the control left the page before its method answered"


def keep_sessions_answering() -> None:
    from flet.messaging.session import Session

    original = Session.handle_invoke_method_results
    if getattr(original, "_answers_for_controls_gone", False):
        return

    def handle_invoke_method_results(self, control_id: int, call_id: str, result: Any,
                                     error: str | None) -> None:
        try:
            original(self, control_id, call_id, result, error)
        except RuntimeError:  # only raised for a control not on the page (any more)
            waiting = self._Session__method_calls.pop(call_id, None)
            if waiting is not None:
                self._Session__method_call_results[waiting] = (None, error or GONE)
                waiting.set()

    handle_invoke_method_results._answers_for_controls_gone = True
    Session.handle_invoke_method_results = handle_invoke_method_results
