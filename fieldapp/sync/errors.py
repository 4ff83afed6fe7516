"""Sync failures, in the three kinds the user has to tell apart, with zh/en texts by code.

* :class:`Offline` - the network or the server did not answer usefully (transport error, 5xx, a
  reply that is not our server's JSON, e.g. a captive portal's login page). Nothing was lost:
  the outbox keeps everything that was not acknowledged; try again later.
* :class:`TokenRevoked` - 401: this phone's token was revoked (or never valid). It must be
  enrolled again; syncing stops until then.
* :class:`Refused` - any other 4xx: the server understood and said no. Shown to the user.
"""
from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "offline": ("无法连接服务器，已保存在手机上，联网后自动同步", "Cannot reach the server; everything is kept on the phone and syncs when the network is back"),
    "timeout": ("服务器响应超时，稍后自动重试", "The server took too long; will retry automatically"),
    "server_error": ("服务器暂时出错，稍后自动重试", "The server had a temporary error; will retry automatically"),
    "not_acknowledged": ("收到的不是同步服务器的回复（可能需要先登录无线网络），数据未发送", "The reply was not from the sync server (a Wi-Fi login page?); nothing was counted as sent"),
    "token_revoked": ("本机授权已被撤销，请重新登记设备", "This phone's access was revoked; enrol it again"),
    "not_enrolled": ("本机尚未登记，请扫描登记码", "This phone is not enrolled yet; scan an enrolment code"),
    "invalid_code": ("登记码无效、已使用或已过期", "The enrolment code is unknown, used or expired"),
    "refused": ("服务器拒绝了请求", "The server refused the request"),
    "photo_damaged": ("照片文件已损坏，无法上传，请重新拍摄", "A photo file is damaged and cannot be uploaded; take it again"),
    "photo_file_missing": ("照片文件缺失，无法上传", "A photo file is missing on the phone and cannot be uploaded"),
    "rejected": ("有修改被服务器拒绝，请查看同步问题", "Some changes were refused by the server; see sync problems"),
}


def message(code: str | None, lang: str = "zh") -> str | None:
    if code is None:
        return None
    zh, en = MESSAGES.get(code, MESSAGES["refused"])
    return en if lang == "en" else zh


class SyncError(Exception):
    code = "refused"

    def __init__(self, code: str | None = None, detail: str | None = None, *, report=None):  # noqa: ANN001
        self.code = code or self.code
        self.detail = detail
        self.report = report  # the SyncReport of the work done before the failure, if any
        super().__init__(f"{self.code}: {detail}" if detail else self.code)

    def message(self, lang: str = "zh") -> str:
        text = message(self.code, lang) or self.code
        return f"{text}（{self.detail}）" if self.detail and lang == "zh" else (
            f"{text} ({self.detail})" if self.detail else text)


class Offline(SyncError):
    code = "offline"


class TokenRevoked(SyncError):
    code = "token_revoked"


class NotEnrolled(SyncError):
    code = "not_enrolled"


class Refused(SyncError):
    code = "refused"

    def __init__(self, code: str | None = None, detail: str | None = None, *, status: int | None = None,
                 report=None):  # noqa: ANN001
        super().__init__(code, detail, report=report)
        self.status = status
