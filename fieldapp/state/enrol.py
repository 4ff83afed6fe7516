"""Enrolment: exchange a one-time code for this device's token (POST /api/v1/enroll).

The screen collects the server address and the code (typed, or read from a QR image picked from
the gallery), calls `enroll`, shows the returned user for confirmation, and only then saves the
credentials: a wrong township or role is caught before anything is stored.
"""
from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import httpx

from fieldapp.state.device import ROLES, DeviceCredentials, EnrolledUser
from fieldapp.sync import tls

ENROLL_PATH = "/api/v1/enroll"


class EnrolError(Exception):
    """Enrolment failed; `key` is the i18n key of the message shown to the user."""

    def __init__(self, key: str, detail: str = ""):
        super().__init__(f"{key}: {detail}" if detail else key)
        self.key = key
        self.detail = detail


@dataclass(frozen=True)
class EnrolInput:
    server_url: str
    code: str
    pin: str = ""  # SHA-256 of the server's certificate, from the QR code (see fieldapp.sync.tls)


def normalise_server_url(text: str) -> str:
    url = (text or "").strip().rstrip("/")
    if not url:
        raise EnrolError("enrol.error.server_missing")
    if "://" not in url:
        url = f"{tls.default_scheme(urlparse('//' + url).hostname)}://{url}"
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise EnrolError("enrol.error.server_invalid")
    try:
        tls.check_server_url(url)
    except tls.UntrustedServer as exc:
        raise EnrolError(exc.key, exc.detail) from None
    return url


def normalise_code(text: str) -> str:
    code = re.sub(r"\s+", "", text or "")
    if not code:
        raise EnrolError("enrol.error.code_missing")
    if len(code) > 200 or not re.fullmatch(r"[A-Za-z0-9_\-\.]+", code):
        raise EnrolError("enrol.error.code_invalid")
    return code


def parse_qr_payload(text: str, default_server: str = "") -> EnrolInput:
    """What an enrolment QR code may hold: a bare code, or a link carrying `code` (and `server`).

    Links look like `dazu://enroll?server=https://host:8700&code=ABCD[&pin=SHA256]` or the
    server's own `https://host:8700/enroll?code=ABCD`; for the latter the server is the link's
    origin. `pin` is the SHA-256 of the server's certificate (see fieldapp.sync.tls).
    """
    text = (text or "").strip()
    if "://" in text:
        parsed = urlparse(text)
        query = parse_qs(parsed.query)
        code = (query.get("code") or [""])[0]
        server = (query.get("server") or [""])[0]
        if not server and parsed.scheme in ("http", "https") and parsed.netloc:
            server = f"{parsed.scheme}://{parsed.netloc}"
        try:
            pin = tls.normalise_pin((query.get("pin") or [""])[0])
        except tls.UntrustedServer as exc:
            raise EnrolError(exc.key) from None
        return EnrolInput(server_url=normalise_server_url(server or default_server),
                          code=normalise_code(code), pin=pin)
    return EnrolInput(server_url=normalise_server_url(default_server), code=normalise_code(text))


def read_qr_image(data: bytes) -> str:
    """The text of the first QR code in an image file's bytes."""
    import io

    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > 40_000_000:
                raise EnrolError("enrol.error.qr_unreadable")
            img.draft("L", (1600, 1600))
            results = zxingcpp.read_barcodes(img.convert("L"))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise EnrolError("enrol.error.qr_unreadable", str(exc)) from exc
    for result in results:
        if result.text:
            return result.text
    raise EnrolError("enrol.error.qr_none")


def default_device_name() -> str:
    return socket.gethostname()[:60] or "phone"


def enroll(client: httpx.Client, entry: EnrolInput, device_name: str) -> DeviceCredentials:
    """Call the server; the result is NOT saved here (the user confirms first).

    With a pin, the server's certificate is fetched and checked first, and the call goes over a
    connection that trusts that certificate only (not ``client``, which trusts the system's
    authorities)."""
    try:
        tls.check_server_url(entry.server_url)
        pem = tls.fetch_pinned_certificate(entry.server_url, entry.pin) if entry.pin else None
    except tls.UntrustedServer as exc:
        raise EnrolError(exc.key, exc.detail) from None
    pinned = httpx.Client(verify=tls.verify_for(pem)) if pem else None
    try:
        resp = (pinned or client).post(
            entry.server_url + ENROLL_PATH,
            json={"code": entry.code, "device_name": device_name or default_device_name()},
            timeout=15.0,
        )
    except httpx.TransportError as exc:
        raise EnrolError("enrol.error.unreachable", str(exc)) from exc
    finally:
        if pinned is not None:
            pinned.close()
    if resp.status_code == 429:
        # Too many wrong codes from this network lately: the code itself was not used up.
        raise EnrolError("enrol.error.too_many_attempts", resp.headers.get("Retry-After", ""))
    if resp.status_code in (400, 401, 403, 404, 409, 410, 422):
        raise EnrolError("enrol.error.code_rejected", f"HTTP {resp.status_code}")
    if resp.status_code != 200 and resp.status_code != 201:
        raise EnrolError("enrol.error.server_error", f"HTTP {resp.status_code}")
    try:
        body = resp.json()
        user = body["user"]
        creds = DeviceCredentials(
            server_url=entry.server_url,
            device_id=str(body["device_id"]),
            token=str(body["token"]),
            server_cert_pem=pem,
            user=EnrolledUser(
                id=str(user["id"]),
                name=str(user["name"]),
                role=str(user["role"]),
                township_code=user.get("township_code"),
                insurer_code=user.get("insurer_code"),
            ),
        )
    except (ValueError, KeyError, TypeError) as exc:
        # A captive portal or proxy answering 200 with HTML is not an enrolment.
        raise EnrolError("enrol.error.bad_reply", str(exc)) from exc
    if creds.user.role not in ROLES or not creds.token:
        raise EnrolError("enrol.error.bad_reply", f"role {creds.user.role!r}")
    return creds
