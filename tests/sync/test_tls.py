"""TLS end to end: `python -m sync_server serve` with a certificate, and the phone's real enrolment
and sync code on top of it.

The certificate is self-signed, as a district server's may be: nothing on this machine trusts
it, so the phone gets through only by the pin its enrolment QR code carries.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
import time

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fieldapp.state.context import AppContext
from fieldapp.state.enrol import EnrolError, EnrolInput, enroll, parse_qr_payload
from fieldapp.sync.tls import certificate_sha256
from sync_server import cli
from sync_server.core.settings import Settings
from sync_server.testing import Harness, ServerProcess, free_port

from .conftest import TOWNSHIP_A


def self_signed(tmp_path, host: str = "127.0.0.1") -> tuple:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "大足巨灾保险同步服务 (test)")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host)),
                                                    x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "server.crt", tmp_path / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path, sqlite_url):
    cert, key = self_signed(tmp_path)
    port = free_port()
    settings = Settings(data_dir=tmp_path / "server", database_url=sqlite_url, tls_cert=cert, tls_key=key,
                        public_url=f"https://127.0.0.1:{port}")
    harness = Harness(settings)
    with ServerProcess(settings, port) as server:
        yield server, harness
    harness.close()


def test_the_phone_enrols_by_the_pin_and_syncs_over_tls(tls_server, tmp_path):
    server, harness = tls_server
    assert server.url.startswith("https://")
    user = harness.add_user("liaison", "龙岗联络员", TOWNSHIP_A)
    code = harness.enrollment_code(user["id"])
    uri = cli.enrollment_uri(server.settings, code)
    entry = parse_qr_payload(uri)
    assert entry.server_url == server.url
    assert entry.pin == certificate_sha256(server.settings.tls_cert.read_text())

    # Without the pin the phone trusts only public authorities: the self-signed server is refused
    # before the code is sent (so the code stays usable).
    with httpx.Client() as client, pytest.raises(EnrolError) as err:
        enroll(client, EnrolInput(server.url, code), "phone")
    assert err.value.key == "enrol.error.unreachable" and "CERTIFICATE_VERIFY_FAILED" in err.value.detail
    # Another certificate than the one the code names: an impostor.
    with httpx.Client() as client, pytest.raises(EnrolError) as err:
        enroll(client, EnrolInput(server.url, code, pin="0" * 64), "phone")
    assert err.value.key == "enrol.error.pin_mismatch"

    ctx = AppContext(tmp_path / "phone")
    ctx.start()
    try:
        with httpx.Client() as client:
            creds = ctx.request_enrolment(entry, "phone", client=client)
        assert certificate_sha256(creds.server_cert_pem) == entry.pin
        ctx.confirm_enrolment(creds)
        # The pinned certificate survives a restart of the app with its credentials.
        assert AppContext(tmp_path / "phone").credentials.server_cert_pem == creds.server_cert_pem

        claim_id = ctx.store.claims.create(
            coverage="natural_disaster", role="liaison", created_by=user["id"], township_code=TOWNSHIP_A,
            incident_at="2026-07-01T08:00:00+08:00", description="房屋被洪水冲毁", loss_types=["house"])
        ctx.sync_service.notify_changed()
        status = ctx.sync_service.sync_now(wait=True, timeout=60)
        assert status is not None and status.last_error is None and status.pending_changes == 0, status
    finally:
        ctx.stop()

    # The server holds the claim: read back over TLS as the phone's device.
    headers = {"Authorization": f"Bearer {creds.token}"}
    with httpx.Client(base_url=server.url, verify=server.verify, headers=headers, timeout=10) as http:
        deadline = time.monotonic() + 10
        while True:
            pulled = http.get("/api/v1/sync/pull").json()["changes"]
            if any(c["entity"] == "claim" and c["id"] == claim_id for c in pulled) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert [c["fields"]["description"] for c in pulled if c["id"] == claim_id] == ["房屋被洪水冲毁"]


def test_serve_refuses_half_a_tls_configuration(tmp_path, sqlite_url, capsys):
    cert, _key = self_signed(tmp_path)
    settings = Settings(data_dir=tmp_path / "server", database_url=sqlite_url)
    args = cli.build_parser().parse_args(["serve", "--tls-cert", str(cert)])
    code = cli.cmd_serve(args, settings)
    assert code == 2 and "--tls-key" in capsys.readouterr().err
