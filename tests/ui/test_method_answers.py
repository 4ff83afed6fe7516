"""A control's method answered after a redraw took the control off the page: Flet's real Session
(flet.messaging.session) with a connection that records what it would send. Unguarded, the answer
raises where flet_web's receive loop calls it, and that ends the loop (the page stops answering);
guarded, the caller still waiting gets an error at once and the session goes on."""
from __future__ import annotations

import asyncio

import flet as ft
import pytest
from flet.messaging.connection import Connection
from flet.pubsub.pubsub_hub import PubSubHub
from flet.messaging.session import Session

from fieldapp.views.method_answers import GONE, keep_sessions_answering


class _Recording(Connection):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list = []
        self.pubsubhub = PubSubHub()

    def send_message(self, message) -> None:  # noqa: ANN001
        self.sent.append(message)


def _call_ids(conn: _Recording) -> list[str]:
    return [m.body.call_id for m in conn.sent if hasattr(m.body, "call_id")]


def test_an_answer_for_a_control_gone_reaches_its_caller_and_the_session_goes_on():
    keep_sessions_answering()
    keep_sessions_answering()  # applied once however often the app starts

    async def scenario() -> None:
        conn = _Recording()
        session = Session(conn)
        gone = ft.Text("相机")  # a control that was never (or is no longer) on the page
        gone._i = 987_654
        call = asyncio.ensure_future(session.invoke_method(gone._i, "initialize", {}, timeout=30))
        await asyncio.sleep(0)
        [call_id] = _call_ids(conn)
        session.handle_invoke_method_results(gone._i, call_id, None, None)  # raised before
        with pytest.raises(RuntimeError, match=GONE):
            await asyncio.wait_for(call, timeout=5)  # at once, not after the call's 30 s
        # An answer nobody waits for any more (the caller timed out) is dropped quietly.
        session.handle_invoke_method_results(gone._i, "no-such-call", None, None)
        # A control on the page still gets its answer as before.
        page_id = session.page._i
        ok = asyncio.ensure_future(session.invoke_method(page_id, "x", {}, timeout=30))
        await asyncio.sleep(0)
        session.handle_invoke_method_results(page_id, _call_ids(conn)[-1], "done", None)
        assert await asyncio.wait_for(ok, timeout=5) == "done"

    asyncio.run(scenario())
