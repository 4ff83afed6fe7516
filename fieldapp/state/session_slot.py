"""One phone, one session: which of this app process's sessions is the app right now.

In web mode every browser tab is a Flet session of the same process and data folder. Two tabs
each kept their own screen state (a report wizard per tab), so a draft abandoned in one tab came
back in the other, and both wrote to the same store. The slot lets one session at a time be the
app: the first one to open takes it; another one opened meanwhile shows that the app is open
elsewhere and may take over; the session taken over is told so (and may take it back) and drops
its screen state, so it writes nothing more. A session that ends (its tab closed or disconnected)
hands the slot to the session opened most recently, or frees it, so a reload opens the app
straight away. A session can also end without saying so (its tab closed while the app was sending
it a frame): each session may say whether it is still connected, and one that is not loses the
slot, as if it had left, to the next session that opens or to a waiting one that asks again
(claim_if_gone: the shell asks every second while its tab waits).

Pure Python and thread-safe: Flet calls sessions' handlers on several threads.
"""
from __future__ import annotations

import threading
from typing import Callable, Hashable

# Why a session is not the app (what its screen says).
ELSEWHERE = "elsewhere"  # another session holds the slot; this one never did since it opened
TAKEN_OVER = "taken_over"  # this session held the slot and another one took it


class SessionSlot:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: Hashable | None = None
        self._listeners: dict[Hashable, Callable[[], None]] = {}
        self._taken_from: set[Hashable] = set()
        self._connected: dict[Hashable, Callable[[], bool]] = {}

    def join(self, session: Hashable, on_change: Callable[[], None],
             connected: Callable[[], bool] | None = None) -> bool:
        """A session opens (or reconnects): it becomes the app if nobody is, or if the app's
        session is no longer connected; True if it is. ``on_change`` is called (on the caller's
        thread of the change) whenever this session's standing changes because of another one:
        taken over, or the slot freed. ``connected`` tells whether the session's tab is still
        there (None: always, until it leaves)."""
        with self._lock:
            self._listeners[session] = on_change
            if connected is not None:
                self._connected[session] = connected
            return self._take_if_free(session)

    def claim_if_gone(self, session: Hashable) -> bool:
        """A session that is not the app asks again: it becomes the app if the app's session is
        no longer connected. A tab closed while a frame was being sent to it never says it left,
        and a tab opened just before its socket closed was told the app is elsewhere; asked again
        later, it opens. True if ``session`` is the app now. The session taken from is told
        nothing (it is gone)."""
        with self._lock:
            return session in self._listeners and self._take_if_free(session)

    def holds(self, session: Hashable) -> bool:
        with self._lock:
            return self._active == session

    def standing(self, session: Hashable) -> str | None:
        """None when ``session`` is the app; else why not (ELSEWHERE or TAKEN_OVER). A session that
        joined is never left without an app: the slot is only empty when every session left."""
        with self._lock:
            if self._active == session:
                return None
            return TAKEN_OVER if session in self._taken_from else ELSEWHERE

    def take_over(self, session: Hashable) -> None:
        """``session`` becomes the app; the one that was is told (it stops and says so)."""
        with self._lock:
            previous = self._active
            self._active = session
            self._taken_from.discard(session)
            if previous is not None and previous != session:
                self._taken_from.add(previous)
            notify = self._listeners.get(previous) if previous != session else None
        if notify is not None:
            notify()

    def leave(self, session: Hashable) -> None:
        """``session`` ended or disconnected: if it was the app, the session opened most recently
        becomes the app by itself (a tab closed while a new one loads: the new one simply opens),
        and the other sessions are told."""
        with self._lock:
            was_active = self._active == session
            self._forget(session)
            if not was_active:
                return
            self._active = next((s for s in reversed(self._listeners) if self._is_connected(s)), None)
            if self._active is not None:
                self._taken_from.discard(self._active)
            others = list(self._listeners.values())
        for notify in others:
            notify()

    # -- under the lock ---------------------------------------------------------------------------
    def _take_if_free(self, session: Hashable) -> bool:
        """Sessions no longer connected are forgotten; ``session`` becomes the app if nobody is.
        True if it is the app."""
        for gone in [s for s in self._listeners if s != session and not self._is_connected(s)]:
            self._forget(gone)
        if self._active is None:
            self._active = session
            self._taken_from.discard(session)
        return self._active == session

    def _is_connected(self, session: Hashable) -> bool:
        check = self._connected.get(session)
        try:
            return check is None or bool(check())
        except Exception:  # a session whose page is destroyed is not connected
            return False

    def _forget(self, session: Hashable) -> None:
        """``session`` is gone: it holds nothing and is told nothing more."""
        self._listeners.pop(session, None)
        self._connected.pop(session, None)
        self._taken_from.discard(session)
        if self._active == session:
            self._active = None
