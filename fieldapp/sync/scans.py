"""Upload the phone's document scans (personal data) to ``PUT /api/v1/claims/{claim}/scans/{scan}``.

    uploader = ScanUploader(sync_client)
    uploader.upload_pending() -> ScanUploadReport    every scan the store has not marked uploaded
    uploader.pending() -> list[ScanUploadItem]        scans still to send (refused ones excluded)
    uploader.has_work() -> bool                       something worth a sync now (local check)

Each scan goes as one request: its decrypted bytes (``store.documents.read_scan``), Content-Type
from the store (the type ``claimcore.filetypes`` sniffed when it was attached), ``X-Scan-SHA256``
and ``X-Document-Code``. Called by ``SyncClient.sync_once`` after the push, so the claim exists on
the server first.

* 201/200: stored (200: a replay of bytes the server already holds, e.g. after a lost reply) ->
  ``store.documents.mark_scan_uploaded``.
* 404: the server does not have the claim yet (its push is still to come or was refused) or the
  user may not see it: left for the next sync, not an error. It does not make the sync service
  run again by itself (``has_work`` skips it until the next sync tried it).
* 409/413/415/422: a permanent refusal. The scan stays on the phone (it is still the only copy) and
  a sync problem is recorded in the same list as refused changes (settings ``sync.rejections``):
  ``{"seq": None, "entity": "scan", "id": scan_id, "claim_id", "fields": [document code],
  "code": CODE, "field": None, "error": "CODE: message", "at"}``. It is not sent again until that
  problem is dismissed (``SyncClient.dismiss_problem``).
* Transport errors, 5xx, 401: raised by ``SyncClient._send`` as Offline / TokenRevoked like the rest
  of the sync; what was uploaded before stays marked.

Scans are personal data: in production the server URL is https (TLS); see docs/api.md.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .errors import Offline, refusal_text
from .push import S_REJECTIONS
from .report import now_iso

PERMANENT = (409, 413, 415, 422)


def scan_path(claim_id: str, scan_id: str) -> str:
    return f"/api/v1/claims/{claim_id}/scans/{scan_id}"


@dataclass
class ScanUploadReport:
    uploaded: int = 0
    already_there: int = 0
    waiting_for_claim: int = 0
    refused: int = 0
    bytes_uploaded: int = 0
    refused_ids: list[str] = field(default_factory=list)


class ScanUploader:
    """The scan part of one phone's sync; uses the SyncClient's connection, auth and error rules."""

    def __init__(self, client):  # noqa: ANN001 - fieldapp.sync.client.SyncClient
        self.client = client
        self.store = client.store
        self._deferred: set[str] = set()  # answered 404 at the last try: no sync on their account

    # ------------------------------------------------------------------------------ what waits
    def _refused_ids(self) -> set[str]:
        problems = self.store.settings.get(S_REJECTIONS, []) or []
        return {p.get("id") for p in problems if isinstance(p, dict) and p.get("entity") == "scan"}

    def pending(self) -> list:
        """Scans still to upload, minus those the server refused (until that problem is dismissed)."""
        items = self.store.documents.pending_scan_uploads()
        if not items:
            return []
        refused = self._refused_ids()
        return [it for it in items if it.id not in refused]

    def has_work(self) -> bool:
        return any(it.id not in self._deferred for it in self.pending())

    # ------------------------------------------------------------------------------ upload
    def upload_pending(self) -> ScanUploadReport:
        report = ScanUploadReport()
        items = self.pending()
        if not items:
            self._deferred.clear()
            return report
        role = (self.client.user() or {}).get("role")
        deferred: set[str] = set()
        tried: set[str] = set()
        try:
            for it in items:
                tried.add(it.id)
                if role == "surveyor":
                    # The server never gives surveyors personal data nor takes it from them.
                    self._refuse(it, "scan_not_permitted", report)
                    continue
                try:
                    data = self.store.documents.read_scan(it.id)
                except Exception:  # noqa: BLE001 - missing or undecryptable file: say so, keep going
                    self._refuse(it, "scan_damaged", report)
                    continue
                sha = hashlib.sha256(data).hexdigest()
                if sha != it.sha256:
                    self._refuse(it, "scan_damaged", report)
                    continue
                headers = {"Content-Type": it.content_type, "X-Scan-SHA256": sha, "X-Document-Code": it.doc_code}
                resp = self.client._send("PUT", scan_path(it.claim_id, it.id), headers=headers, content=data)
                if resp.status_code in (200, 201):
                    self._check_reply(resp, it, sha)
                    self.store.documents.mark_scan_uploaded(it.id)
                    if resp.status_code == 201:
                        report.uploaded += 1
                        report.bytes_uploaded += len(data)
                    else:
                        report.already_there += 1
                elif resp.status_code == 404:
                    report.waiting_for_claim += 1
                    deferred.add(it.id)
                elif resp.status_code in PERMANENT:
                    code, detail = _error_of(resp)
                    self._refuse(it, code or f"http_{resp.status_code}", report, detail)
                else:
                    raise self.client._refused(resp)
        finally:
            self._deferred = deferred | (self._deferred - tried)
        return report

    @staticmethod
    def _check_reply(resp, it, sha: str) -> None:  # noqa: ANN001
        """A 200/201 counts only as our server's answer about this very scan (a captive portal's
        200 page is not a receipt)."""
        ctype = resp.headers.get("content-type", "")
        try:
            body = resp.json() if "json" in ctype else None
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("id") != it.id or body.get("sha256") != sha:
            raise Offline("not_acknowledged", f"scan upload reply HTTP {resp.status_code} is not a receipt")

    def _refuse(self, it, code: str, report: ScanUploadReport, detail: str | None = None) -> None:  # noqa: ANN001
        report.refused += 1
        report.refused_ids.append(it.id)
        text = detail or refusal_text(code, "en")
        problems = list(self.store.settings.get(S_REJECTIONS, []) or [])
        problems = [p for p in problems if not (isinstance(p, dict) and p.get("entity") == "scan"
                                                and p.get("id") == it.id)]
        problems.append({
            "seq": None, "entity": "scan", "id": it.id, "claim_id": it.claim_id,
            "fields": [it.doc_code],  # the checklist item; never the scan's content
            "code": code, "field": None, "error": f"{code}: {text}", "at": now_iso(),
        })
        self.store.settings.set(S_REJECTIONS, problems)


def _error_of(resp) -> tuple[str | None, str | None]:  # noqa: ANN001
    try:
        body = resp.json()
        return body.get("error"), body.get("message")
    except (ValueError, AttributeError):
        return None, None


__all__ = ["PERMANENT", "ScanUploadReport", "ScanUploader", "scan_path"]
