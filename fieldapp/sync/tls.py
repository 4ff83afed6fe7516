"""Which servers the phone talks to, and how it trusts them.

Victims' ID numbers, bank cards and photos travel between the phone and the sync server, so the
phone speaks HTTPS to any server that is not on the phone itself. Plain ``http://`` is accepted
only for a loopback address (the demo and the tests run the server on the same machine) or when
the app was started for development with ``--dev-allow-http`` (``DAZU_DEV_ALLOW_HTTP=1``).

A district server may use a certificate no public authority signed. The enrolment QR code can
then carry the certificate's SHA-256 (``pin=``): at enrolment the phone fetches the certificate,
checks it against the pin, keeps it with its credentials and from then on trusts that
certificate only for this server (``verify_for``). Without a pin the system's authorities decide.
Pure standard library: it is part of the phone build.
"""
from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import ssl
from urllib.parse import urlparse

DEV_ALLOW_HTTP_ENV = "DAZU_DEV_ALLOW_HTTP"
PIN_RE = re.compile(r"[0-9a-f]{64}\Z")


class UntrustedServer(Exception):
    """The server address would send personal data in clear text, or its certificate is not the
    one the enrolment code named. ``key`` is the i18n key of the message shown to the user."""

    def __init__(self, key: str, detail: str = ""):
        super().__init__(f"{key}: {detail}" if detail else key)
        self.key = key
        self.detail = detail


def http_allowed() -> bool:
    return os.environ.get(DEV_ALLOW_HTTP_ENV, "") == "1"


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_scheme(host: str | None) -> str:
    """The scheme for an address typed without one."""
    return "http" if is_loopback(host) else "https"


def check_server_url(url: str) -> None:
    """Raise :class:`UntrustedServer` for plain HTTP to anything but this machine (unless the app
    runs for development)."""
    parsed = urlparse(url)
    if parsed.scheme == "http" and not is_loopback(parsed.hostname) and not http_allowed():
        raise UntrustedServer("enrol.error.http_refused", url)


def normalise_pin(text: str | None) -> str:
    """A certificate pin as 64 lower-case hex digits ("" when absent); colons and case are
    forgiven (``openssl x509 -fingerprint -sha256`` prints ``AB:CD:…``)."""
    pin = (text or "").replace(":", "").strip().lower()
    if pin and not PIN_RE.match(pin):
        raise UntrustedServer("enrol.error.pin_invalid")
    return pin


def certificate_sha256(pem: str) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def fetch_pinned_certificate(url: str, pin: str, timeout: float = 15.0) -> str:
    """The server's certificate (PEM) if its SHA-256 is ``pin``; raises otherwise.

    The certificate is read without verification on purpose: the pin, not an authority, is what
    vouches for it, and nothing but the certificate is exchanged on that connection."""
    parsed = urlparse(url)
    if parsed.scheme != "https" or not parsed.hostname:
        raise UntrustedServer("enrol.error.pin_needs_https", url)
    port = parsed.port or 443
    try:
        pem = ssl.get_server_certificate((parsed.hostname, port), timeout=timeout)
    except (OSError, ssl.SSLError) as exc:
        raise UntrustedServer("enrol.error.unreachable", str(exc)) from exc
    found = certificate_sha256(pem)
    if found != pin:
        raise UntrustedServer("enrol.error.pin_mismatch", f"{found[:16]}… ≠ {pin[:16]}…")
    return pem


def verify_for(pinned_pem: str | None) -> ssl.SSLContext | bool:
    """What ``httpx.Client(verify=…)`` takes: the pinned certificate as the only trust anchor, or
    ``True`` (the system's authorities) when there is none."""
    if not pinned_pem:
        return True
    context = ssl.create_default_context(cadata=pinned_pem)
    # The pinned certificate may be a leaf signed by a private authority: trust it as the anchor
    # itself rather than demanding the chain above it.
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context
