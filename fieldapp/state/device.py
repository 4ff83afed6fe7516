"""This phone's settings and its enrolment with the sync server, kept in the data folder.

`settings.json` holds what the user chose (language, server address); `device.json` holds the
device token the server issued at enrolment and is written 0600, because whoever reads it can act
as this device until the coordinator revokes it.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from claimcore import entities
from fieldapp.i18n import DEFAULT_LANGUAGE, LANGUAGES

ROLES = entities.USER_ROLES


@dataclass(frozen=True)
class EnrolledUser:
    id: str
    name: str
    role: str
    township_code: str | None = None
    insurer_code: str | None = None


@dataclass(frozen=True)
class DeviceCredentials:
    server_url: str
    device_id: str
    token: str
    user: EnrolledUser
    # The server certificate pinned at enrolment (PEM), when the enrolment code named one.
    server_cert_pem: str | None = None


@dataclass
class AppSettings:
    language: str = DEFAULT_LANGUAGE
    server_url: str = ""
    device_name: str = ""
    extra: dict = field(default_factory=dict)


def _write_atomic(path: Path, data: dict, mode: int = 0o644) -> None:
    """Write JSON so that a crash leaves either the old or the new file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class DeviceFiles:
    """Reads and writes settings.json and device.json in one phone's data folder."""

    def __init__(self, data_dir: Path | str):
        self.data_dir = Path(data_dir)
        self.settings_path = self.data_dir / "settings.json"
        self.device_path = self.data_dir / "device.json"

    def load_settings(self) -> AppSettings:
        try:
            raw = json.loads(self.settings_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return AppSettings()
        lang = raw.get("language", DEFAULT_LANGUAGE)
        return AppSettings(
            language=lang if lang in LANGUAGES else DEFAULT_LANGUAGE,
            server_url=str(raw.get("server_url") or ""),
            device_name=str(raw.get("device_name") or ""),
            extra=dict(raw.get("extra") or {}),
        )

    def save_settings(self, settings: AppSettings) -> None:
        _write_atomic(self.settings_path, asdict(settings))

    def load_credentials(self) -> DeviceCredentials | None:
        try:
            raw = json.loads(self.device_path.read_text(encoding="utf-8"))
            user = raw["user"]
            return DeviceCredentials(
                server_url=raw["server_url"],
                device_id=raw["device_id"],
                token=raw["token"],
                user=EnrolledUser(
                    id=str(user["id"]),
                    name=user["name"],
                    role=user["role"],
                    township_code=user.get("township_code"),
                    insurer_code=user.get("insurer_code"),
                ),
                server_cert_pem=raw.get("server_cert_pem"),
            )
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    def save_credentials(self, creds: DeviceCredentials) -> None:
        _write_atomic(self.device_path, asdict(creds), mode=0o600)

    def forget_credentials(self) -> None:
        try:
            self.device_path.unlink()
        except FileNotFoundError:
            pass
