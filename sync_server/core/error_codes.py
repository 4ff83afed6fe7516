"""Every refusal code of the server, once: its HTTP status where it is an HTTP refusal, and what it
means in English (for logs and developers) and Chinese (for an office user and the phone).

A code is a ``str`` (``ERR.not_found == "not_found"``), so it goes on the wire as it always did:
``{"error": CODE, "message": TEXT}`` (sync_server.core.errors) and a push receipt's ``error``. The
``message`` on the wire stays the raise site's own English sentence, which names the case; the
texts here say what the code means whatever the case.

``status`` is None for a code that is never an HTTP status of its own: a push receipt refuses one
record (sync_server.sync.apply) and the push itself answers 200; a CLI command prints the code.
``passed_on`` names the claimcore module whose exception carries a code the server hands on
unchanged (the record contract, the wire format, the amount rules): the rule and its code live
there, the server only says it.

tests/sync_server/test_error_catalogue.py holds every raise site to this catalogue, and the
phone's list of the server's codes (fieldapp/sync/errors.py, fieldapp/i18n) to it.
"""
from __future__ import annotations


class Code(str):
    """A refusal code: the string itself, with its HTTP status and its meaning in both languages."""

    status: int | None
    en: str
    zh: str
    passed_on: str | None

    def __new__(cls, status: int | None, en: str, zh: str, *, passed_on: str | None = None) -> Code:
        # The code's text is the attribute's name in ERR (set by _named); until then it is empty.
        code = super().__new__(cls, "")
        code.status, code.en, code.zh, code.passed_on = status, en, zh, passed_on
        return code

    def named(self, name: str) -> Code:
        code = str.__new__(Code, name)
        code.status, code.en, code.zh, code.passed_on = self.status, self.en, self.zh, self.passed_on
        return code

    def message(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


_WIRE = "claimcore.wire"
_CONTRACT = "claimcore.entities"
_AMOUNTS = "claimcore.amounts"


class ERR:
    """The catalogue: ``ERR.<code>`` is the code ``"<code>"``."""

    # --- the request itself (any route) ------------------------------------------------------
    unauthorized = Code(401, "missing, unknown or revoked device token", "设备令牌缺失、未知或已被吊销，请重新登记手机")
    too_many_attempts = Code(429, "too many failed attempts from this address; wait and try again",
                             "失败尝试过多，请稍后再试")
    forbidden = Code(403, "the caller's role may not do this", "您的角色无权进行此操作")
    not_found = Code(404, "not found (unknown, or out of the caller's scope: the same answer)", "未找到")
    method_not_allowed = Code(405, "this path does not take this method", "此地址不支持该请求方法")
    http_error = Code(None, "another HTTP refusal (its status says which)", "请求被拒绝")
    malformed_json = Code(400, "the request body is not valid JSON", "请求内容不是有效的 JSON")
    unsupported_media_type = Code(415, "send the body as JSON with Content-Type: application/json",
                                  "请求内容须为 JSON 格式")
    body_too_large = Code(413, "the request body is too large", "请求内容过大")
    invalid_request = Code(422, "the request does not have the documented shape", "请求格式不正确")
    invalid_text = Code(422, "text holds NUL or an unpaired surrogate", "文字中含有无效字符")
    missing_header = Code(400, "a required header is missing or not a non-negative integer", "缺少必需的请求头")
    invalid_cursor = Code(400, "the sync cursor was not issued by this server", "同步位置无效，请重新同步")

    # --- enrolment and accounts --------------------------------------------------------------
    invalid_code = Code(401, "unknown, used or expired enrolment code", "登记码无效、已使用或已过期")
    invalid_name = Code(422, "a name is empty, too long or holds control characters", "名称为空、过长或含有控制字符")
    invalid_role = Code(None, "not a role of the programme", "不是本项目的角色")
    township_required = Code(None, "a liaison needs a township", "联络员须指定镇街")
    township_not_applicable = Code(None, "only liaisons belong to a township", "只有联络员属于镇街")
    insurer_required = Code(None, "a surveyor needs an insurer", "查勘员须指定保险公司")
    insurer_not_applicable = Code(None, "only surveyors belong to a co-insurer", "只有查勘员属于共保公司")
    unknown_insurer = Code(None, "no insurer with this code", "没有此保险公司")
    unknown_user = Code(None, "no active user with this id", "没有此在用账号")
    unknown_device = Code(None, "no device with this id", "没有此设备")
    invalid_age = Code(None, "the age of unfinished uploads to clean must be 0 hours or more", "清理时限须为 0 小时或以上")
    seal_key = Code(None, "the server's sealing key cannot be read or written", "无法读取或写入服务器的加密密钥")

    # --- the push (one record refused; the receipt names the code) ---------------------------
    device_mismatch = Code(403, "the push's device is not the token's device", "推送的设备与令牌不符")
    too_many_mutations = Code(413, "too many changes in one push", "一次推送的修改过多")
    seq_order = Code(422, "changes must come in strictly increasing order", "修改须按顺序推送", passed_on=_WIRE)
    invalid_id = Code(None, "a record's id must be a UUID made on the device", "记录编号须为手机生成的 UUID")
    unknown_entity = Code(None, "not a kind of record the server keeps", "服务器不接收此类记录", passed_on=_WIRE)
    invalid_op = Code(None, "this kind of record is not changed that way", "此类记录不能这样修改")
    invalid_value = Code(None, "a value is not one of the allowed values", "取值不在允许范围内")
    id_in_use = Code(None, "the record's id is already taken", "编号已被占用")
    claim_not_found = Code(None, "the record's claim is not on the server (yet)", "所属案件尚未被服务器接受")
    claim_id_immutable = Code(None, "a record cannot move to another claim", "记录不能移到其他案件")
    delete_not_allowed = Code(None, "claims are never deleted; withdraw them instead", "案件不能删除，只能撤案")
    record_deleted = Code(None, "the record was deleted", "该记录已被删除")
    append_only = Code(None, "recorded photos, notes and timeline entries never change", "已记录的照片、备注和时间线不能修改",
                       passed_on=_WIRE)
    illegal_transition = Code(None, "the claim's status cannot change that way", "案件状态不能这样变更")
    not_a_reporting_role = Code(None, "the user's role may not report a claim", "您的角色不能报案")
    township_not_permitted = Code(None, "a liaison reports claims of its own township only", "您不能为其他镇街的案件报案")
    unknown_field = Code(None, "the record has no such field", "记录没有此项", passed_on=_CONTRACT)
    bad_money = Code(None, "money is integer fen", "金额须为整数（分）", passed_on=_WIRE)
    invalid_date = Code(None, "a date must be an ISO date (YYYY-MM-DD)", "日期格式须为 YYYY-MM-DD")

    # --- the record contract (claimcore.entities.check_fields) -------------------------------
    too_long = Code(None, "a text is too long", "内容过长", passed_on=_CONTRACT)
    out_of_range = Code(None, "a number is out of range", "数值超出范围", passed_on=_CONTRACT)
    not_allowed_for_role = Code(None, "the user's role may not write this", "您的角色不能修改此项", passed_on=_CONTRACT)
    required = Code(None, "a required field is missing", "缺少必填项", passed_on=_CONTRACT)
    wrong_kind = Code(None, "a value is not of the field's kind", "格式无效", passed_on=_CONTRACT)
    not_in_list = Code(None, "a value is not one of the allowed values", "不是可选的值", passed_on=_CONTRACT)

    # --- the wire format (claimcore.wire) ----------------------------------------------------
    bad_field_name = Code(None, "a field name is not a valid name", "字段名无效", passed_on=_WIRE)
    bad_fields = Code(None, "fields must be an object", "字段须为对象", passed_on=_WIRE)
    bad_int = Code(None, "a number must be an integer in range", "须为范围内的整数", passed_on=_WIRE)
    bad_sha256 = Code(None, "a SHA-256 must be 64 hexadecimal digits", "SHA-256 须为 64 位十六进制数字", passed_on=_WIRE)
    bad_time = Code(None, "a time must be ISO 8601 with its UTC offset", "时间须为带时区的 ISO 8601 格式", passed_on=_WIRE)
    bad_uuid = Code(None, "an id must be a UUID", "编号须为 UUID", passed_on=_WIRE)
    bad_value = Code(None, "a value cannot travel on the wire (NaN, infinity, non-text keys)", "取值无效", passed_on=_WIRE)
    empty_upsert = Code(None, "an upsert changes at least one field", "修改须至少包含一项", passed_on=_WIRE)
    missing_claim_id = Code(None, "the record needs its claim's id", "记录须注明所属案件", passed_on=_WIRE)
    missing_key = Code(None, "a change lacks a required key", "修改缺少必需的项", passed_on=_WIRE)
    not_a_list = Code(None, "the changes must be a list", "修改须为列表", passed_on=_WIRE)
    not_an_object = Code(None, "a change must be an object", "修改须为对象", passed_on=_WIRE)
    reserved_field = Code(None, "a field name is reserved for the server", "字段名为服务器保留", passed_on=_WIRE)
    too_deep = Code(None, "a value is nested too deeply", "取值嵌套过深", passed_on=_WIRE)
    too_many = Code(None, "too many changes in one batch", "一批修改过多", passed_on=_WIRE)
    unknown_key = Code(None, "a change has an unknown key", "修改含有未知的项", passed_on=_WIRE)
    unknown_op = Code(None, "an operation is upsert or delete", "操作须为修改或删除", passed_on=_WIRE)

    # --- amounts and payments (claimcore.amounts) --------------------------------------------
    negative = Code(None, "an amount cannot be negative", "金额不能为负数", passed_on=_AMOUNTS)
    absurd = Code(None, "an amount exceeds the per-event cap; check it", "金额超过每次事故限额，请核对", passed_on=_AMOUNTS)
    over_limit = Code(None, "an amount exceeds this claim's limit", "金额超过本案限额", passed_on=_AMOUNTS)
    adjusted_missing = Code(None, "enter the adjusted amount first", "请先填写理算金额", passed_on=_AMOUNTS)
    payee_invalid = Code(None, "the payee must be a living person of this claim with a bank account",
                         "收款人须为本案在世的、有银行账号的人员", passed_on=_AMOUNTS)
    payment_incomplete = Code(None, "a payment needs the amount, the date, the payee and the transfer reference",
                              "赔付须填写金额、日期、收款人和转账流水号", passed_on=_AMOUNTS)
    paid_over_adjusted = Code(None, "the paid amount exceeds the adjusted amount", "赔付金额超过核定的理算金额",
                              passed_on=_AMOUNTS)
    paid_over_payable = Code(None, "the paid amount exceeds this claim's payable amount under the caps",
                             "赔付金额超过本案可赔付金额", passed_on=_AMOUNTS)
    reason_required = Code(422, "a reason (or a comment) is required", "须写明理由", passed_on=_AMOUNTS)

    # --- the catalogue of the programme and the divisions ------------------------------------
    unknown_coverage = Code(422, "not a coverage of the catalogue", "不是本项目的险种")
    unknown_township = Code(422, "not one of Dazu's townships", "不是大足区的镇街")
    unknown_village = Code(422, "not a village of Dazu", "不是大足区的村（社区）")
    village_not_in_township = Code(422, "the village is not in the claim's township", "村（社区）不属于案件的镇街")
    unknown_document_code = Code(422, "not a document code of the catalogue", "不是资料清单中的资料")
    invalid_id_number = Code(422, "not a valid number of that identity document", "证件号码无效")

    # --- blobs (photos) and document scans ---------------------------------------------------
    invalid_sha256 = Code(400, "a SHA-256 must be 64 lower-case hex digits", "SHA-256 须为 64 位小写十六进制数字")
    blob_too_large = Code(413, "the photo is too large", "照片文件过大")
    upload_quota = Code(413, "this device's unfinished uploads hold too much", "本机未完成的上传过多")
    offset_mismatch = Code(409, "the upload continues where the server's bytes end", "上传位置与服务器不一致，须从服务器所存之处继续")
    upload_in_progress = Code(409, "another upload of this file is running", "此文件正在另一处上传")
    sha256_mismatch = Code(422, "the bytes do not hash to their name: damaged on the way", "文件在发送途中损坏")
    scan_too_large = Code(413, "a scan may be at most 20 MB", "扫描件太大，最大 20 MB")
    unsupported_scan_type = Code(415, "a scan must be an image (JPEG, PNG, HEIC) or a PDF",
                                 "扫描件只能是图片（JPEG、PNG、HEIC）或 PDF 文件")
    content_type_mismatch = Code(415, "the scan's file type does not match its content", "扫描件的文件类型与内容不符")
    scan_id_in_use = Code(409, "this scan id already holds other bytes", "服务器上已有同一编号但内容不同的扫描件")

    # --- the survey rotation -----------------------------------------------------------------
    already_dispatched = Code(409, "the claim's survey is dispatched already", "本案查勘已派出")
    invalid_state = Code(409, "the assignment is not in a state this answer follows", "查勘任务当前状态不允许此操作")
    timed_out = Code(409, "the assignment timed out and the survey passed on", "查勘任务已超时，已转给下一家")
    no_lead_insurer = Code(409, "no lead insurer is set", "尚未设定主承保公司")
    invalid_leave = Code(422, "a leave ends after it starts", "请假须在开始之后结束")
    invalid_datetime = Code(422, "a time needs its UTC offset (and must make sense)", "时间须带时区且合理")

    # --- claim authority ---------------------------------------------------------------------
    shares_incomplete = Code(409, "the pool's shares cannot carry a share-weighted vote", "共保份额不全，无法按份额表决")
    no_review = Code(409, "the claim has no co-insurer review open", "本案没有进行中的共保审核")
    no_consultation_tier = Code(409, "only a claim in the full-consultation tier has a consultation meeting",
                                "只有须会商的案件才有会商会议")
    consultation_required = Code(409, "record the consultation meeting before any vote", "须先记录会商会议，再表决")
    attendees_required = Code(422, "name the co-insurers present", "须列出参会的共保公司")
    invalid_insurer = Code(422, "not an insurer of the pool", "不是共保体的保险公司")
    invalid_vote = Code(422, "a vote is approve, reject or abstain", "表决须为同意、反对或弃权")

    # --- events and the civil affairs step ---------------------------------------------------
    not_natural_disaster = Code(409, "only a natural-disaster event is reported through civil affairs",
                                "只有自然灾害事件经民政部门报送")
    not_own_township = Code(403, "a liaison reports for its own township only", "联络员只能报送本镇街的情况")
    invalid_figures = Code(422, "each figure is a whole number in range", "各项数字须为范围内的整数")
    collapsed_exceeds_damaged = Code(422, "collapsed households are counted among the damaged ones",
                                     "倒塌户数不能多于受损户数")
    in_the_future = Code(422, "a moment is later than now", "时间不能晚于现在")
    before_event = Code(422, "a moment is before the event started", "时间不能早于事件开始")

    # --- the work fund -----------------------------------------------------------------------
    fund_error = Code(409, "the fund's books refuse it", "工作经费账目不允许此操作")
    fund_insufficient = Code(409, "the work fund would go below zero", "工作经费余额不足")
    amount_over_cap = Code(422, "an amount is over its cap", "金额超过上限")
    invalid_amount = Code(422, "an amount is not valid", "金额无效")
    invalid_fund_entry = Code(422, "a fund entry is not valid", "经费记录无效")
    invalid_budget = Code(422, "a budget is not valid", "预算无效")
    assignment_not_accepted = Code(409, "survey costs are booked on a survey the insurer accepted",
                                   "只有已接受的查勘才能登记查勘费用")
    receipt_not_uploaded = Code(422, "the receipt photo is not on the server yet", "票据照片尚未上传到服务器")
    already_corrected = Code(409, "this entry was corrected already", "此记录已更正过")
    is_reversal = Code(409, "a reversal cannot be corrected", "冲销记录不能再更正")
    is_correction = Code(409, "a correction is final", "更正记录不能再更正")
    use_premium = Code(409, "a contribution follows its premium: enter the premium again", "计提随保费而定，请重新录入保费")
    budget_below_spent = Code(409, "a budget cannot be below what the year has spent", "预算不能低于本年度已支出")
    budget_changed = Code(409, "the budget changed meanwhile: read it again", "预算已被他人修改，请重新读取")
    no_budget = Code(409, "this year's fund budget is not confirmed yet", "本年度经费预算尚未经区金融发展事务中心确认，暂不能列支")
    over_budget = Code(409, "over this category's confirmed budget for the year", "超出该类经费本年度已确认的预算")
    over_received = Code(409, "more received than demanded", "收回金额超过追偿金额")
    quarter_not_started = Code(409, "the quarter has not begun", "该季度尚未开始")
    text_required = Code(422, "a comment needs its text", "请填写意见内容")

    # --- reports -----------------------------------------------------------------------------
    stale_revision = Code(409, "saved meanwhile by someone else: reload and edit again", "已被他人保存，请刷新后再编辑")
    report_frozen = Code(409, "the report is with the Center or final", "报告已报送或已定稿，不能修改")
    report_incomplete = Code(409, "write every part before submitting", "须填写各部分后再报送")
    year_not_over = Code(409, "the annual report is submitted once the year is over", "年度结束后才能报送年度报告")
    not_submitted = Code(409, "the report is not with the Center", "报告尚未报送")


def _name_the_codes() -> dict[str, Code]:
    named = {}
    for name, value in list(vars(ERR).items()):
        if isinstance(value, Code):
            code = value.named(name)
            setattr(ERR, name, code)
            named[name] = code
    return named


# Every code, by its text.
CATALOGUE: dict[str, Code] = _name_the_codes()
