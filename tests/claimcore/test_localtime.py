"""Dazu's clock: shown and printed in China time whatever zone the machine runs in."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone

from claimcore.localtime import CHINA_TIME, format_china_time, to_china_time


def test_utc_and_offset_times_show_as_china_wall_clock():
    assert format_china_time("2026-06-02T08:15:00+00:00") == "2026-06-02 16:15"
    assert format_china_time("2026-06-02T16:15:00+08:00") == "2026-06-02 16:15"
    assert format_china_time("2026-12-31T20:00:00Z") == "2027-01-01 04:00"
    assert format_china_time(None) == "—" and format_china_time("not a time") == "not a time"


def test_naive_times_are_china_wall_clock():
    assert to_china_time(datetime(2026, 7, 12, 3, 40)).utcoffset() == CHINA_TIME.utcoffset(None)
    assert to_china_time(datetime(2026, 7, 12, 3, 40, tzinfo=timezone.utc)).hour == 11


def test_the_machine_zone_does_not_matter():
    code = "from claimcore.localtime import format_china_time as f; print(f('2026-06-02T08:15:00+00:00'))"
    for zone in ("UTC", "America/New_York", "Asia/Shanghai"):
        out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "TZ": zone},
                             capture_output=True, text=True, check=True).stdout.strip()
        assert out == "2026-06-02 16:15", zone


def test_china_date_is_the_day_in_dazu_for_text_aware_naive_and_dates():
    import datetime as dt

    from claimcore.localtime import china_date

    assert china_date("2025-12-31T16:30:00Z") == dt.date(2026, 1, 1)  # 00:30 in Dazu
    assert china_date("2025-12-31T23:30:00+08:00") == dt.date(2025, 12, 31)
    assert china_date(dt.datetime(2025, 12, 31, 23, 30)) == dt.date(2025, 12, 31)  # naive: Dazu's clock
    assert china_date(dt.date(2025, 5, 1)) == dt.date(2025, 5, 1)
    assert china_date("yesterday") is None and china_date("") is None and china_date(None) is None
