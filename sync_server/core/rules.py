"""The co-insurance rules' settings and clock, shared by every feature that applies them (rotation,
events, claim authority, the work fund, the reports).

``RuleSettings`` come from ``Settings.extra`` (tests) or the environment; the clock is the app's
(``Settings.extra["clock"]`` in tests, else the real time). The office's routes read both from the
request (``_rules``, ``_now``); a phone's push gets the same from the app (sync_server.app.push_rules),
so both paths decide alike. ``RuleError`` is a rule's refusal; ``_run`` turns it into the API's
error shape."""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from fastapi import Request

from claimcore import authority as ca
from claimcore import entities

from ..fund import rules as fundlib
from ..rotation import rules as rot
from .errors import ApiError
from .models import utcnow


def _now(request: Request) -> dt.datetime:
    clock = request.app.state.settings.extra.get("clock")  # tests move time; production: utcnow
    return to_utc(clock() if clock else utcnow())


def _rules(request: Request) -> RuleSettings:
    return rule_settings(request.app.state.settings.extra)


def _run(db, fn, *args, **kwargs):
    try:
        with db.write() as session:
            return fn(session, *args, **kwargs)
    except RuleError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None


class RuleError(Exception):
    """A refusal with a stable code and an HTTP status (turned into the API's error shape)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def aware(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; everything here is stored in UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def to_utc(moment: dt.datetime) -> dt.datetime:
    """Store instants in UTC: SQLite keeps the wall-clock text and drops the offset."""
    return moment.astimezone(dt.timezone.utc)


@dataclass(frozen=True)
class RuleSettings:
    rotation: rot.RotationSettings
    opinion_window: dt.timedelta
    fund_rate_bp: int
    thresholds: ca.Thresholds
    # The work fund's bounds (docs/security.md "The work fund's bounds").
    fund_entry_max_fen: int = entities.MAX_COST_FEN  # any one spending
    survey_cost_max_fen: int = 200_000  # one survey cost (2,000 yuan)
    survey_total_max_fen: int = 500_000  # all costs of one survey (5,000 yuan)


def rule_settings(extra: dict | None = None) -> RuleSettings:
    """From ``Settings.extra`` (tests) or the environment:
    DAZU_ROTATION_TIMEOUT_MINUTES (120), DAZU_MONTH_FLOOR (2), DAZU_FLOOR_FROM_DAY (20),
    DAZU_OPINION_WINDOW_HOURS (72), DAZU_FUND_RATE_BP (200), DAZU_FUND_ENTRY_MAX_FEN (100,000,000 =
    1,000,000 yuan, never above the record contract's MAX_COST_FEN), DAZU_SURVEY_COST_MAX_FEN (200,000
    = 2,000 yuan per survey cost), DAZU_SURVEY_TOTAL_MAX_FEN (500,000 = 5,000 yuan per survey)."""
    extra = extra or {}

    def num(key: str, env: str, default: int) -> int:
        if key in extra:
            return int(extra[key])
        raw = os.environ.get(env, "")
        try:
            return int(raw) if raw else default
        except ValueError:
            raise SystemExit(f"setting {env} must be an integer, got {raw!r}") from None

    return RuleSettings(
        rotation=rot.RotationSettings(
            timeout=dt.timedelta(minutes=num("rotation_timeout_minutes", "DAZU_ROTATION_TIMEOUT_MINUTES", 120)),
            month_floor=num("month_floor", "DAZU_MONTH_FLOOR", 2),
            floor_from_day=num("floor_from_day", "DAZU_FLOOR_FROM_DAY", 20),
        ),
        opinion_window=dt.timedelta(hours=num("opinion_window_hours", "DAZU_OPINION_WINDOW_HOURS", 72)),
        fund_rate_bp=num("fund_rate_bp", "DAZU_FUND_RATE_BP", fundlib.DEFAULT_RATE_BP),
        thresholds=extra.get("authority_thresholds") or ca.DEFAULT_THRESHOLDS,
        fund_entry_max_fen=min(entities.MAX_COST_FEN,
                               num("fund_entry_max_fen", "DAZU_FUND_ENTRY_MAX_FEN", entities.MAX_COST_FEN)),
        survey_cost_max_fen=num("survey_cost_max_fen", "DAZU_SURVEY_COST_MAX_FEN", 200_000),
        survey_total_max_fen=num("survey_total_max_fen", "DAZU_SURVEY_TOTAL_MAX_FEN", 500_000),
    )


