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


# What the user reads about a record the server refused, and what to do about it. Refusals of the
# record contract are worded from claimcore.entities (the same text the phone's own checks give);
# the server's own rules (scope, workflow) have their words here.
_REFUSALS: dict[str, tuple[str, str]] = {
    "claim_not_found": ("所属案件尚未被服务器接受", "Its claim is not on the server yet"),
    "township_not_permitted": ("您不能为其他镇街的案件报案", "You may only report claims of your own township"),
    "not_a_reporting_role": ("您的角色不能报案", "Your role may not report a claim"),
    "illegal_transition": ("案件状态不能这样变更", "The claim's status cannot change that way"),
    "append_only": ("已记录的照片、备注和时间线不能修改", "Recorded photos, notes and timeline entries cannot change"),
    "id_in_use": ("编号已被占用", "The record's id is already taken"),
    "village_not_in_township": ("村（社区）不属于案件的镇街", "The village is not in the claim's township"),
    # document scans (PUT /claims/{id}/scans/{scan}): the server's messages are English only
    "unsupported_scan_type": ("扫描件只能是图片（JPEG、PNG、HEIC）或 PDF 文件",
                              "A scan must be an image (JPEG, PNG, HEIC) or a PDF"),
    "content_type_mismatch": ("扫描件的文件类型与内容不符", "The scan's file type does not match its content"),
    "scan_too_large": ("扫描件太大，最大 20 MB", "A scan may be at most 20 MB"),
    "scan_id_in_use": ("服务器上已有同一编号但内容不同的扫描件", "The server holds other bytes under this scan's id"),
    "sha256_mismatch": ("扫描件在发送途中损坏", "The scan was damaged on the way"),
    "scan_damaged": ("手机上的扫描件已损坏，无法上传，请重新扫描", "The scan on this phone is damaged; scan it again"),
    "scan_not_permitted": ("查勘员的手机不上传扫描件（个人信息）", "Surveyors' phones do not upload scans (personal data)"),
}


def refusal_text(code: str, lang: str = "zh") -> str:
    """A server refusal's code in the user's language."""
    if code in _REFUSALS:
        return _REFUSALS[code][0 if lang != "en" else 1]
    return f"服务器拒绝了这项修改（{code}）" if lang != "en" else f"The server refused this change ({code})"
_TODO: dict[str, tuple[str, str]] = {
    "contract": ("改正“{label}”后会自动重新上传", "Correct \u201c{label}\u201d; it is sent again by itself"),
    "claim_not_found": ("案件上传成功后会自动重新发送", "It is sent again by itself once its claim is accepted"),
    "fix": ("请在案件中修改后，会自动重新上传", "Correct it in the claim; it is sent again by itself"),
    "office": ("请联系理赔员或区金融发展事务中心", "Contact the adjuster or the coordinator's office"),
}
_CONTRACT_CODES = frozenset({"too_long", "out_of_range", "not_allowed_for_role", "unknown_field", "required",
                             "wrong_kind", "not_in_list"})


_SCAN_LABEL = ("扫描件", "document scan")


def problem_text(problem: dict, lang: str = "zh") -> tuple[str, str]:
    """(what happened, what to do) for one sync problem (a refused record), in the user's language.
    What happened names the kind of record (a claim, a timeline entry, a scan …)."""
    from claimcore import entities

    zh = lang != "en"
    code, entity, field = problem.get("code") or "refused", problem.get("entity") or "", problem.get("field")
    ent = entities.ENTITIES.get(entity)
    kind = (ent.label if ent else _SCAN_LABEL if entity == "scan" else ("记录", "record"))[0 if zh else 1]
    spec = ent.fields.get(field) if ent is not None and field else None
    if code in _CONTRACT_CODES and spec is not None:
        what = entities.ContractError(code, entity, field, spec=spec).message(lang)
        todo_key = "office" if code == "not_allowed_for_role" else "contract"
        todo = _TODO[todo_key][0 if zh else 1].format(label=spec.title(lang))
    elif entity == "scan":
        what = refusal_text(code, lang)
        todo = ("重新扫描后再附上；如需帮助请联系理赔员",
                "Scan the paper again and attach it; ask the adjuster if in doubt")[0 if zh else 1]
    else:
        what = refusal_text(code, lang)
        todo_key = "claim_not_found" if code == "claim_not_found" else (
            "fix" if code in ("village_not_in_township", "illegal_transition") else "office")
        todo = _TODO[todo_key][0 if zh else 1]
    return (f"{kind}：{what}" if zh else f"{kind.capitalize()}: {what[:1].lower()}{what[1:]}"), todo
