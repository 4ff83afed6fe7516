"""The app's state for one phone (one data folder): who is enrolled, settings, store, sync.

Views hold an AppContext and call its methods; nothing here imports Flet, so every behaviour is
tested in tests/ui without a running UI. Listeners are plain callables, called after a change
(possibly from a background thread: the view layer marshals them onto its event loop).
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

import httpx

from fieldapp.i18n import t as _t
from fieldapp.state.device import AppSettings, DeviceCredentials, DeviceFiles
from fieldapp.state.enrol import EnrolInput, enroll

Listener = Callable[[str], None]


class AppContext:
    def __init__(self, data_dir: Path | str, server_default: str = ""):
        self.data_dir = Path(data_dir)
        self.files = DeviceFiles(self.data_dir)
        self.settings: AppSettings = self.files.load_settings()
        if server_default and not self.settings.server_url:
            self.settings.server_url = server_default
        self.credentials: DeviceCredentials | None = self.files.load_credentials()
        self._listeners: list[Listener] = []
        self._lock = threading.RLock()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Open what needs opening; the sync loop starts once the device is enrolled."""

    def stop(self) -> None:
        """Close what start() opened."""

    # -- text ----------------------------------------------------------------------------------
    @property
    def language(self) -> str:
        return self.settings.language

    def t(self, key: str, **kw: object) -> str:
        return _t(key, self.settings.language, **kw)

    def set_language(self, lang: str) -> None:
        _t("app.title", lang)  # unknown language fails before anything is saved
        self.settings.language = lang
        self.files.save_settings(self.settings)
        self.notify("language")

    # -- listeners -----------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def notify(self, what: str) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(what)

    # -- display helpers -----------------------------------------------------------------------
    def format_time(self, iso: str | None) -> str:
        """An ISO time as local wall-clock text (the phone's zone), or "—"."""
        from datetime import datetime

        if not iso:
            return "—"
        try:
            when = datetime.fromisoformat(iso)
        except ValueError:
            return iso
        if when.tzinfo is not None:
            when = when.astimezone()
        return when.strftime("%Y-%m-%d %H:%M")

    # -- enrolment -----------------------------------------------------------------------------
    @property
    def enrolled(self) -> bool:
        return self.credentials is not None

    def request_enrolment(self, entry: EnrolInput, device_name: str = "",
                          client: httpx.Client | None = None) -> DeviceCredentials:
        """Ask the server; returns the credentials for the user to confirm (nothing saved yet)."""
        own = client is None
        client = client or httpx.Client()
        try:
            return enroll(client, entry, device_name or self.settings.device_name)
        finally:
            if own:
                client.close()

    def confirm_enrolment(self, creds: DeviceCredentials) -> None:
        self.files.save_credentials(creds)
        self.settings.server_url = creds.server_url
        self.files.save_settings(self.settings)
        self.credentials = creds
        self.notify("enrolled")
