"""The sync's requests: the server's address, the device's token, and what counts as a reply.

Every request goes through :meth:`Transport._send`, which turns a cut connection, a timeout or a
5xx into Offline and a 401 into TokenRevoked (the phone must be enrolled again)."""
from __future__ import annotations

from typing import Any

import httpx

from . import tls
from .errors import InsecureServer, NotEnrolled, Offline, Refused, TokenRevoked

S_REENROLL = "sync.reenroll_required"


class Transport:
    """The requests half of :class:`fieldapp.sync.client.SyncClient` (a mixin: it uses the client's
    ``store``, ``http``, ``_base_url``, ``_report`` and ``_count_lock``, and sets ``online``)."""

    @property
    def base_url(self) -> str | None:
        return self._base_url or self.store.sync_state.get().server_url

    def _url(self, path: str) -> str:
        base = self.base_url
        if not base:
            raise NotEnrolled()
        try:
            tls.check_server_url(base)
        except tls.UntrustedServer:
            raise InsecureServer(detail=base) from None
        return base.rstrip("/") + path

    # The header of the sync run under way (set by SyncClient.sync_once, cleared when it ends or a
    # 401 arrives): the token lies sealed in the store, and reading it for each of a run's
    # thousands of requests cost a quarter of the photo thread's time. Outside a run (a request
    # the user asked for) it is read each time.
    _run_auth: dict[str, str] | None = None

    def _auth(self) -> dict[str, str]:
        if self._run_auth is not None:
            return self._run_auth
        state = self.store.sync_state.get()
        if not state.token or not state.device_id:
            raise NotEnrolled()
        if self.store.settings.get(S_REENROLL, False):
            raise TokenRevoked()
        return {"Authorization": f"Bearer {state.token}"}

    def _send(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if auth:
            headers.update(self._auth())
        with self._count_lock:
            self._report.requests += 1
        try:
            resp = self.http.request(method, self._url(path), headers=headers, **kwargs)
        except httpx.TimeoutException as exc:
            self.online = False
            raise Offline("timeout", type(exc).__name__) from exc
        except (httpx.TransportError, OSError) as exc:
            self.online = False
            raise Offline("offline", type(exc).__name__) from exc
        if resp.status_code >= 500:
            self.online = False
            raise Offline("server_error", f"HTTP {resp.status_code}")
        self.online = True
        if resp.status_code == 401 and auth:
            self._run_auth = None
            self.store.settings.set(S_REENROLL, True)
            raise TokenRevoked()
        return resp

    def call(self, method: str, path: str, *, json: Any = None) -> tuple[int, Any]:
        """One request the user asked for that only the server can answer (record a consultation,
        read the insurers): (status, JSON body). Raises Offline when there is no server."""
        resp = self._send(method, path, json=json)
        return resp.status_code, self._json(resp)

    def download(self, path: str) -> tuple[int, bytes, str]:
        """A file the user asked for (a report as PDF or XLSX): (status, bytes, content type)."""
        resp = self._send("GET", path)
        return resp.status_code, resp.content, resp.headers.get("content-type", "")

    @staticmethod
    def _json(resp: httpx.Response) -> Any:
        """The body as our server's JSON, or Offline(not_acknowledged): a login page is not a reply."""
        ctype = resp.headers.get("content-type", "")
        if "json" not in ctype:
            raise Offline("not_acknowledged", f"HTTP {resp.status_code} {ctype or 'no content type'}")
        try:
            return resp.json()
        except ValueError:
            raise Offline("not_acknowledged", "body is not JSON") from None

    def _refused(self, resp: httpx.Response) -> Refused:
        try:
            body = resp.json()
            code, detail = body.get("error"), body.get("message")
        except (ValueError, AttributeError):
            code, detail = None, None
        return Refused("refused", f"HTTP {resp.status_code} {code or ''} {detail or ''}".strip(),
                       status=resp.status_code)
