"""The pull: the server's changes, page by page, each page and its cursor in one store transaction."""
from __future__ import annotations

from typing import Any

from . import wire
from .errors import Offline
from .push import S_REJECTIONS
from .report import Progress

PULL_LIMIT = 1000


class Pull:
    """The pull half of :class:`fieldapp.sync.client.SyncClient` (a mixin over its transport and store)."""

    def pull(self) -> None:
        while True:
            cursor = self.store.sync_state.get().cursor
            params: dict[str, Any] = {"limit": self.pull_limit}
            if cursor:
                params["cursor"] = cursor
            resp = self._send("GET", "/api/v1/sync/pull", params=params)
            if resp.status_code != 200:
                raise self._refused(resp)
            body = self._json(resp)
            if not isinstance(body, dict) or not isinstance(body.get("changes"), list) \
                    or not isinstance(body.get("cursor"), str) or not isinstance(body.get("has_more"), bool):
                raise Offline("not_acknowledged", "pull reply lacks changes/cursor/has_more")
            changes = [wire.to_store(c) for c in body["changes"] if isinstance(c, dict)]
            if changes or body["cursor"] != cursor:
                self._fill_report_numbers(changes)
                result = self.store.apply_remote_changes(changes, body["cursor"])
                if getattr(result, "forgotten", None):
                    self._forgot(result.forgotten)
            self._report.pulled += len(changes)
            self._report.pull_pages += 1  # a first sync may pull before its push too
            self._emit(Progress("pull", self._report.pulled, self._report.pulled))
            if not body["has_more"] or not body["changes"]:
                return

    def _forgot(self, claim_ids: list[str]) -> None:
        """The store deleted claims the server told this phone to forget (a co-insurer's survey of
        them ended). Their sync problems go too (they name the claim's records), and their photo
        files and scans are deleted, after the photo thread is done with them when it runs."""
        gone = set(claim_ids)
        problems = self.rejections()
        kept = [p for p in problems if p.get("claim_id") not in gone and p.get("id") not in gone]
        if len(kept) != len(problems):
            self.store.settings.set(S_REJECTIONS, kept)
        if not self._photos_busy:
            self.store.purge_forgotten_files(self.photo_files)

    def _fill_report_numbers(self, changes: list[dict]) -> None:
        claims = [c for c in changes if c["entity"] == "claim"]
        if not claims:
            return
        # A claim this phone already holds keeps its own report number.
        known = self.store.claims.existing_ids(c["id"] for c in claims)
        for c in claims:
            fallback = c["fields"].pop("report_no_fallback", None)
            if c["id"] not in known and fallback:
                c["fields"]["report_no"] = fallback
