"""The programme's clock: Dazu is in China Standard Time (UTC+8, no daylight saving).

Times are stored in UTC or with their offset; they are SHOWN and PRINTED in China time whatever
zone the device, the browser's server process or CI runs in (an office PC set to UTC must not
show a 16:15 accident as 08:15). The one place for this rule.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

CHINA_TIME = timezone(timedelta(hours=8), "CST")


def to_china_time(when: datetime) -> datetime:
    """An aware datetime in China time; a naive one is taken to be China wall-clock time."""
    if when.tzinfo is None:
        return when.replace(tzinfo=CHINA_TIME)
    return when.astimezone(CHINA_TIME)


def format_china_time(iso: str | None, *, empty: str = "—") -> str:
    """ISO 8601 text as ``YYYY-MM-DD HH:MM`` China time; unparseable text is shown as it is."""
    if not iso:
        return empty
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return to_china_time(when).strftime("%Y-%m-%d %H:%M")


def china_date(moment: str | datetime | date | None) -> date | None:
    """The calendar day in Dazu of ISO 8601 text (``Z`` allowed), a datetime (a naive one is
    China wall-clock time, as above) or a date; None for nothing or unreadable text."""
    if moment is None or moment == "":
        return None
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(moment, datetime):
        return to_china_time(moment).date()
    return moment
