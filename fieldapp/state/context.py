"""The app's state for one phone (one data folder): who is enrolled, settings, store, sync.

Views hold an AppContext and call its methods; nothing here imports Flet, so every behaviour is
tested in tests/ui without a running UI. Listeners are plain callables, called after a change
(possibly from a background thread: the view layer marshals them onto its event loop).
"""
from __future__ import annotations

import os

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import httpx

from claimcore import entities
from claimcore.localtime import format_china_time
from claimcore.money import format_fen, parse_yuan
from fieldapp.i18n import t as _t
from fieldapp.state import reference
from fieldapp.state.device import AppSettings, DeviceCredentials, DeviceFiles
from fieldapp.state.enrol import EnrolInput, enroll
from fieldapp.state.sync_status import SyncStatus, from_client_status
from fieldapp.store import NotFoundError, StoreValidationError
from fieldapp.sync.errors import problem_text

Listener = Callable[[str], None]
PHOTOS_DIR = "photos"  # PhotoFiles root inside the data folder (the sync client reads it too)
# Pull at least this often while the app is open (DAZU_SYNC_INTERVAL_S: an office on a good line
# may want news sooner; a phone on a metered line later).
SYNC_INTERVAL_S = float(os.environ.get("DAZU_SYNC_INTERVAL_S") or 30.0)
SYNC_POLL_S = 2.0  # how often the service checks the outbox for new work (local, no request)


S_INSURERS = "insurers"
S_PAYABLE = "payable"  # claim id -> the server's payable answer (sync_server.event_caps)


class NeedsServer(Exception):
    """An act only the server can take, refused: ``offline`` (no connection) or ``refused``
    (the server said no, with its message)."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(code)
        self.code, self.detail = code, detail

    def message(self, lang: str = "zh") -> str:
        from fieldapp.i18n import t

        return t("server." + self.code, lang, **({"detail": self.detail} if self.code == "refused" else {}))


@dataclass(frozen=True)
class SyncProblem:
    """A record the server refused, as the screens show it."""

    entity: str
    record_id: str
    claim_id: str | None
    report_no: str | None
    what: str  # what happened, in the user's language
    todo: str  # what to do about it
    field: str | None = None  # the refused field, when the user can correct it here
    current: str = ""  # its value on this phone, as text to edit

# Contract kinds a user corrects by typing.
CORRECTABLE_KINDS = frozenset({"text", "fen", "id_number", "mobile", "bank_account"})


class SignOutRefused(Exception):
    def __init__(self, changes: int, photos: int, scans: int):
        super().__init__(f"{changes} changes, {photos} photos, {scans} scans not yet sent")
        self.changes, self.photos, self.scans = changes, photos, scans


class LocalSyncStatus:
    """Status from the store alone (no network): what waits and when the last sync succeeded."""

    def __init__(self, store):
        self.store = store

    def status(self) -> SyncStatus:
        st = self.store.sync_state.get()
        return SyncStatus(online=None if st.last_sync_at is None and not st.last_error else False,
                          pending_changes=self.store.outbox.count(),
                          pending_photos=len(self.store.photos.pending_upload()),
                          last_sync=st.last_sync_at, error=st.last_error,
                          pending_scans=len(self.store.documents.pending_scan_uploads()))

    def sync_now(self) -> SyncStatus:
        return self.status()


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
        self.store = None
        self.photo_files = None
        self.sync_service = None  # fieldapp.sync.SyncService once enrolled
        self._http: httpx.Client | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Open the store; start the sync loop once the device is enrolled."""
        from fieldapp.media import PhotoFiles
        from fieldapp.store import open_store

        self.store = open_store(self.data_dir)
        self.photo_files = PhotoFiles(self.data_dir / PHOTOS_DIR)
        if self.credentials is not None:
            self._start_sync()

    def stop(self) -> None:
        self._stop_sync()
        if self.store is not None:
            self.store.close()

    def _start_sync(self) -> None:
        """Start the sync client's background service (fieldapp.sync) for the enrolled device.

        It drains the outbox and photo queue by itself whenever the server answers (backoff while
        it does not), so a returning network needs no button press."""
        creds = self.credentials
        if creds is None or self.store is None or self.sync_service is not None:
            return
        self.store.writer_role = creds.user.role
        st = self.store.sync_state.get()
        if st.device_id != creds.device_id or st.token != creds.token or st.server_url != creds.server_url:
            self.store.sync_state.set(device_id=creds.device_id, token=creds.token,
                                      server_url=creds.server_url)
        from fieldapp.sync import SyncClient, SyncService

        from fieldapp.sync.tls import verify_for

        self._http = httpx.Client(timeout=30.0, verify=verify_for(creds.server_cert_pem))
        client = SyncClient(self.store, self.photo_files, self._http, base_url=creds.server_url)
        self.sync_service = SyncService(client, interval=SYNC_INTERVAL_S, poll=SYNC_POLL_S)
        self.sync_service.add_observer(self._on_sync_status)
        self.sync_service.start()

    def _stop_sync(self) -> None:
        if self.sync_service is not None:
            self.sync_service.remove_observer(self._on_sync_status)
            self.sync_service.stop()
            self.sync_service = None
        if self._http is not None:
            self._http.close()
            self._http = None

    def _on_sync_status(self, status) -> None:  # called from the sync thread
        self.notify("sync")

    def sync_status(self) -> SyncStatus:
        if self.sync_service is not None:
            return from_client_status(self.sync_service.status(), self.language)
        if self.store is None:
            return SyncStatus(online=None, pending_changes=0, pending_photos=0, last_sync=None)
        return LocalSyncStatus(self.store).status()

    def sync_now(self, wait: bool = True) -> SyncStatus:
        """The "sync now" button: one attempt now, skipping any backoff wait."""
        if self.sync_service is None:
            return replace(self.sync_status(), error=self.t("sync.error.not_enrolled"))
        self.sync_service.sync_now(wait=wait, timeout=120)
        return self.sync_status()

    def data_changed(self) -> None:
        """A screen saved something: sync soon (the service also polls the outbox itself)."""
        if self.sync_service is not None:
            self.sync_service.notify_changed()

    def sync_problems(self, claim_id: str | None = None) -> list[SyncProblem]:
        """Records the server refused, in the user's language, with what to do (all, or one
        claim's). The records themselves stay on the phone until the server accepts them."""
        if self.sync_service is None or self.store is None:
            return []
        out = []
        for p in self.sync_service.client.rejections():
            if claim_id is not None and p.get("claim_id") != claim_id:
                continue
            what, todo = problem_text(p, self.language)
            report_no = None
            if p.get("claim_id"):
                try:
                    report_no = self.store.claims.get(p["claim_id"]).report_no
                except NotFoundError:
                    report_no = None
            field, current = self._correctable(p)
            out.append(SyncProblem(p.get("entity") or "", p.get("id") or "", p.get("claim_id"), report_no,
                                   what, todo, field, current))
        return out

    def _correctable(self, problem: dict) -> tuple[str | None, str]:
        """The refused field and its value here, if it is one the user types (text, a number or an
        amount) on a record this phone still holds; else (None, "")."""
        entity, field, rid = problem.get("entity"), problem.get("field"), problem.get("id")
        spec = entities.ENTITIES[entity].fields.get(field) if entity in ("claim", "person") else None
        if spec is None or spec.kind not in CORRECTABLE_KINDS or problem.get("code") == "not_allowed_for_role":
            return None, ""
        try:
            record = self.store.claims.get(rid) if entity == "claim" else self.store.persons.get(rid)
        except NotFoundError:
            return None, ""
        value = getattr(record, field, None)
        if value is None:
            return field, ""
        return field, format_fen(value) if spec.kind == "fen" else str(value)

    def correct_problem(self, problem: SyncProblem, text: str) -> None:
        """The user's correction of a refused field: stored (checked by the record contract, a
        StoreValidationError says what is still wrong), and the whole record goes again."""
        if problem.field is None:
            raise ValueError("this problem has no field to correct here")
        spec = entities.ENTITIES[problem.entity].fields[problem.field]
        value: object = text.strip() or None
        if spec.kind == "fen" and value is not None:
            try:
                value = parse_yuan(str(value))
            except ValueError as exc:
                raise StoreValidationError("assign.error.amount") from exc
        repo = self.store.claims if problem.entity == "claim" else self.store.persons
        if not repo.update(problem.record_id, **{problem.field: value}):
            # The phone already holds this value (what the server refused was queued otherwise,
            # e.g. by an older app version): send the record as the phone holds it.
            self.store.requeue_record(problem.entity, problem.record_id)
        self.data_changed()
        self.notify("sync")

    def dismiss_problem(self, problem: SyncProblem) -> None:
        if self.sync_service is not None:
            self.sync_service.client.dismiss_problem(problem.entity, problem.record_id)
        self.notify("sync")

    def unsent_summary(self) -> tuple[int, int, int]:
        """(changes, photos, scans) not yet confirmed by the server."""
        if self.store is None:
            return (0, 0, 0)
        return (self.store.outbox.count(), len(self.store.photos.pending_upload()),
                len(self.store.documents.pending_scan_uploads()))

    def sign_out(self) -> None:
        """Forget the enrolment. Refused while anything waits to be sent: the phone is the only
        copy of unsent work, and signing out would strand it (SignOutRefused says how much)."""
        changes, photos, scans = self.unsent_summary()
        if changes or photos or scans:
            raise SignOutRefused(changes, photos, scans)
        self._stop_sync()
        self.store.writer_role = None
        self.store.sync_state.set(device_id=None, token=None)
        self.files.forget_credentials()
        self.credentials = None
        self.notify("signed_out")

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
        return format_china_time(iso)

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
        self._start_sync()
        self.notify("enrolled")

    # -- who -------------------------------------------------------------------------------------
    @property
    def user(self):
        return self.credentials.user if self.credentials else None

    @property
    def role(self) -> str:
        return self.credentials.user.role if self.credentials else ""

    def can_report(self) -> bool:
        from claimcore.workflow import REPORTING_ROLES

        return self.role in REPORTING_ROLES

    def township_name(self, code: str | None) -> str:
        return reference.township_name(code)

    def insurer_name(self, code: str | None) -> str:
        """The insurer's name as the server last listed it (its code until then)."""
        if not code:
            return "—"
        names = {r["code"]: r["name"] for r in (self.store.settings.get(S_INSURERS, []) if self.store else [])}
        return names.get(code, code)

    # -- acts only the server can take ------------------------------------------------------------
    def _call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        from fieldapp.sync.errors import SyncError

        if self.sync_service is None:
            raise NeedsServer("offline")
        try:
            return self.sync_service.client.call(method, path, json=body)
        except SyncError:
            raise NeedsServer("offline") from None

    def insurers_known(self) -> bool:
        return bool(self.store is not None and self.store.settings.get(S_INSURERS, []))

    def load_insurers(self) -> list[dict]:
        """The co-insurance pool (names, shares, lead) from the server; kept for offline names."""
        status, body = self._call("GET", "/api/v1/insurers")
        if status != 200 or not isinstance(body, dict):
            raise NeedsServer("refused", str(body.get("message") if isinstance(body, dict) else status))
        rows = [{k: r.get(k) for k in ("code", "name", "share_bp", "is_lead")} for r in body.get("insurers", [])]
        self.store.settings.set(S_INSURERS, rows)
        return rows

    def load_payable(self, claim_id: str) -> dict:
        """GET /claims/{id}/payable: the claim's payable amount under the per-event and per-year
        caps (only the server knows every claim of an event); kept for offline use."""
        status, body = self._call("GET", f"/api/v1/claims/{claim_id}/payable")
        if status != 200 or not isinstance(body, dict):
            raise NeedsServer("refused", str(body.get("message") if isinstance(body, dict) else status))
        known = dict(self.store.settings.get(S_PAYABLE, {}) or {})
        known[claim_id] = body
        self.store.settings.set(S_PAYABLE, known)
        return body

    def known_payable(self, claim_id: str) -> dict | None:
        """The server's last payable answer for the claim, if this phone has one."""
        return (self.store.settings.get(S_PAYABLE, {}) or {}).get(claim_id) if self.store else None

    def record_consultation(self, claim_id: str, *, held_at, attendees: list[str], engage_assessor: bool,
                            engage_lawyer: bool, minutes: str) -> dict:
        """POST /claims/{id}/consultations; the answer (the review) is kept like a pulled one."""
        status, body = self._call("POST", f"/api/v1/claims/{claim_id}/consultations", {
            "held_at": held_at.isoformat(), "attendees": attendees, "engage_assessor": engage_assessor,
            "engage_lawyer": engage_lawyer, "minutes": minutes})
        if status != 201 or not isinstance(body, dict):
            raise NeedsServer("refused", str(body.get("message") if isinstance(body, dict) else status))
        self.store.reviews.put(claim_id, {k: v for k, v in body.items() if k != "claim_id"})
        self.sync_now(wait=False)  # the published review (and every co-insurer's) follows the pull
        return body
