"""The push: the outbox goes to the server in batches; acknowledgements clear it, refusals
become sync problems and conflicts the store's conflict notes."""
from __future__ import annotations

import uuid
from typing import Any

from fieldapp.i18n import both
from fieldapp.store import NotFoundError

from . import wire
from .errors import Offline
from .report import Progress, now_iso
from .uploads import Damaged, file_size

PUSH_BATCH = 100
_CONFLICT_NS = uuid.UUID("6f1c2a9e-2d43-4e0b-9a39-5d0b6c7e3a11")

S_REJECTIONS = "sync.rejections"
# Records the phone holds whole and can send again after a refusal.
REQUEUEABLE = frozenset({"claim", "person", "document", "photo", "note", "transition"})


class Push:
    """The push half of :class:`fieldapp.sync.client.SyncClient` (a mixin over its transport,
    store, report and photo uploads)."""

    def push(self) -> None:
        if not self.store.sync_state.get().cursor and self.store.outbox.count():
            # A pull without a cursor gets everything, this phone's own writes too (a store that
            # starts empty needs them): pulling first gives the pull after this push a cursor,
            # and the server then leaves out what it stored exactly as this phone sent it.
            self.pull()
        state = self.store.sync_state.get()
        total = self.store.outbox.count()
        done = 0
        size = self.push_batch
        while True:
            self._requeue_refused()
            batch = self.store.outbox.pending(size)
            if not batch:
                return
            self._receipts_first(batch)
            sent = [wire.to_server(m, preview_sha=self._preview_sha) for m in batch]
            resp = self._send("POST", "/api/v1/sync/push", json={"device_id": state.device_id, "mutations": sent})
            if resp.status_code == 422:
                # The server refused the request as a whole (a malformed entry, e.g. from an
                # older app version): it applied nothing. Find the entry by sending one at a
                # time; that one is shown as refused and cleared, so it does not block the rest
                # forever.
                if len(batch) > 1:
                    size = 1
                    continue
                self._record_outcomes(batch, [{"seq": batch[0]["seq"], "status": "rejected",
                                               "error": self._refused(resp).detail}])
                self.store.outbox.ack(batch[0]["seq"])
                done += 1
                size = self.push_batch
                continue
            if resp.status_code != 200:
                if resp.status_code < 500:
                    raise self._refused(resp)
            body = self._json(resp)
            acked, results = self._parse_ack(body, [m["seq"] for m in batch])
            self._record_outcomes(batch, results)
            self.store.outbox.ack(acked)
            done += sum(1 for m in batch if m["seq"] <= acked)
            self._report.pushed += sum(1 for m in batch if m["seq"] <= acked)
            self._emit(Progress("push", done, max(total, done)))
            if size == 1 and done % 50 == 0:
                size = self.push_batch  # isolate a malformed entry without crawling for long
            if acked < batch[-1]["seq"]:
                # The server acknowledged only part of the batch (it should not): send the rest
                # again next time instead of looping here.
                raise Offline("not_acknowledged", f"acked {acked} of up to {batch[-1]['seq']}")

    def _receipts_first(self, batch: list[dict]) -> None:
        """The server books a cost only once this phone has sent its receipt's bytes (a hash
        alone proves nothing): upload the receipts of the batch's costs before the push."""
        for m in batch:
            sha = (m.get("fields") or {}).get("receipt_sha256") if m.get("entity") == "cost" else None
            photo = self.store.photos.get_by_sha(sha) if isinstance(sha, str) else None
            if photo is None or photo.upload_state == "original":
                continue
            path = self.photo_files.path(sha, "original")
            if file_size(path) is None:
                continue  # the server says what is wrong with the cost
            try:
                self._upload_blob(sha, path, lambda n: None)
            except Damaged:
                continue
            self.store.photos.mark_uploaded(sha, "original")

    @staticmethod
    def _parse_ack(body: Any, seqs: list[int]) -> tuple[int, list[dict]]:
        if not isinstance(body, dict):
            raise Offline("not_acknowledged", "push reply is not an object")
        acked = body.get("acked_seq")
        results = body.get("results")
        if isinstance(acked, bool) or not isinstance(acked, int) or not isinstance(results, list):
            raise Offline("not_acknowledged", "push reply lacks acked_seq/results")
        got = [r.get("seq") if isinstance(r, dict) else None for r in results]
        if got != seqs or not all(isinstance(r.get("status"), str) for r in results):
            raise Offline("not_acknowledged", "push reply does not answer the batch that was sent")
        return min(acked, seqs[-1]), results

    def _record_outcomes(self, batch: list[dict], results: list[dict]) -> None:
        # Sync problems are kept per record: the newest refusal of a record replaces an older one,
        # and a record the server accepted later has no problem any more.
        problems = {(x["entity"], x["id"]): x for x in self.rejections()}
        before = dict(problems)
        conflict_notes: list[dict] = []
        versions: list[tuple[str, str, int]] = []
        for m, r in zip(batch, results):
            status = r["status"]
            if status == "duplicate":
                self._report.duplicates += 1
                status = r.get("original_status") or "duplicate"
            elif status == "applied":
                self._report.applied += 1
            version = r.get("version")
            if status in ("applied", "conflict") and isinstance(version, int) and not isinstance(version, bool):
                versions.append((m["entity"], m["id"], version))
            if status == "rejected":
                self._report.rejected += 1
                error = r.get("error") or ""
                code = error.split(":", 1)[0] or "refused"
                earlier = problems.get((m["entity"], m["id"])) or {}
                problems[(m["entity"], m["id"])] = {
                    "seq": m["seq"], "entity": m["entity"], "id": m["id"],
                    "claim_id": (m.get("fields") or {}).get("claim_id") if m["entity"] != "claim" else m["id"],
                    "fields": sorted((m.get("fields") or {}).keys()),  # names only: values may be personal
                    "code": code, "field": r.get("field"), "error": error, "at": now_iso(),
                    # Sent again already and refused the same way: not again without a user's edit
                    # (an unknown claim also answers for one out of the user's scope now).
                    "retried": bool(earlier.get("requeued") and earlier.get("code") == code),
                }
            elif status in ("applied", "conflict"):
                problems.pop((m["entity"], m["id"]), None)
                if m["entity"] == "claim":
                    self._claims_accepted.add(m["id"])
            if status == "conflict":
                self._report.conflicts += 1
                conflict_notes.extend(self._conflict_changes(m, r))
        if versions:
            # The pull leaves out what the server stored exactly as sent: the receipt's version is
            # the one the next edit of the record is based on.
            self.store.take_versions(versions)
        if problems != before:
            self.store.settings.set(S_REJECTIONS, list(problems.values()))
        if conflict_notes:
            # Conflict notes go through the store's own path for them (apply_remote_changes with
            # entity "conflict"), which seals personal values; the cursor is left as it is.
            self.store.apply_remote_changes(conflict_notes, self.store.sync_state.get().cursor)

    def _conflict_changes(self, m: dict, r: dict) -> list[dict]:
        """Conflict notes for one mutation the server applied with a conflict.

        Office roles may read the server's conflict records: the notes then name the exact field
        and both values. Other roles only learn that some of the mutation's fields replaced a
        value another device had written; the note names those fields (values stay on the
        server for the office's review, and the phone's own values are in its record)."""
        device = self.store.sync_state.get().device_id or ""
        claim_id = m["id"] if m["entity"] == "claim" else (m.get("fields") or {}).get("claim_id")
        user = self.user() or {}
        if user.get("role") in ("adjuster", "coordinator") and claim_id:
            exact = self._server_conflicts(claim_id, m, device)
            if exact:
                return exact
        names = sorted(k for k in (m.get("fields") or {}) if k != "claim_id")
        nid = str(uuid.uuid5(_CONFLICT_NS, f"{device}/{m['seq']}"))
        return [{"entity": "conflict", "id": nid, "op": "upsert", "version": r.get("version"), "fields": {
            "claim_id": claim_id, "entity": m["entity"], "entity_id": m["id"], "field": ",".join(names),
            "kept_value": None, "other_value": None, "at": now_iso(),
            "detail": both("sync.conflict.replaced_unknown_value"),
        }}]

    def _server_conflicts(self, claim_id: str, m: dict, device: str) -> list[dict]:
        try:
            resp = self._send("GET", "/api/v1/conflicts", params={"claim_id": claim_id})
            body = self._json(resp) if resp.status_code == 200 else None
        except Offline:
            return []
        if not isinstance(body, dict) or not isinstance(body.get("conflicts"), list):
            return []
        out = []
        for c in body["conflicts"]:
            if not isinstance(c, dict) or c.get("entity_id") != m["id"] or c.get("kept_device_id") != device:
                continue
            nid = str(uuid.uuid5(_CONFLICT_NS, f"server/{c.get('id')}"))
            out.append({"entity": "conflict", "id": nid, "op": "upsert", "version": c.get("kept_version"), "fields": {
                "claim_id": claim_id, "entity": m["entity"], "entity_id": m["id"], "field": c.get("field"),
                "kept_value": c.get("kept_value"), "other_value": c.get("other_value"), "at": c.get("created_at"),
                "detail": both("sync.conflict.replaced_value"),
            }})
        return out

    def rejections(self) -> list[dict]:
        """Sync problems: mutations the server refused (entity, id, claim_id, field names, error)."""
        return list(self.store.settings.get(S_REJECTIONS, []) or [])

    def dismiss_problem(self, entity: str, record_id: str) -> None:
        """The user read a sync problem and set it aside. The record stays on the phone; a refused
        scan is offered to the server again at the next sync."""
        self.store.settings.set(S_REJECTIONS, [x for x in self.rejections()
                                               if (x.get("entity"), x.get("id")) != (entity, record_id)])

    def _requeue_refused(self) -> None:
        """Send again, whole, every refused record that can now succeed: the user corrected it
        (a newer local edit of it waits in the outbox), or it was refused only because its claim
        was not on the server yet and now is. The record never left the phone; the problem stays
        listed until the server accepts it."""
        problems = self.rejections()
        changed = False
        for p in problems:
            if p.get("requeued") or p.get("entity") not in REQUEUEABLE:
                continue
            edited = bool(self.store.outbox.pending_fields(p["entity"], p["id"]))
            parent_there = (p.get("code") == "claim_not_found" and not p.get("retried")
                            and self._claim_on_server(p.get("claim_id")))
            if (edited or parent_there) and self.store.requeue_record(p["entity"], p["id"]):
                p["requeued"] = True
                changed = True
        if changed:
            self.store.settings.set(S_REJECTIONS, problems)

    def _claim_on_server(self, claim_id: str | None) -> bool:
        if not claim_id:
            return False
        if claim_id in self._claims_accepted:
            return True
        try:
            return self.store.claims.get(claim_id).version is not None
        except NotFoundError:
            return False
