"""Run every test: `python3 dev.py test` calls this inside the project's virtual environment.

End-to-end tests need Debian's Chromium (/usr/bin/chromium). Without it they are skipped and this
says so loudly; with DAZU_REQUIRE_E2E=1 (set by .ci/run) a missing Chromium is a failure instead.
Extra arguments go to pytest, e.g. `python3 dev.py test tests/claimcore -x`.
"""
from __future__ import annotations

import os
import shutil
import sys

import pytest

CHROMIUM = os.environ.get("DAZU_CHROMIUM", "/usr/bin/chromium")


def main(argv: list[str]) -> int:
    have_chromium = os.path.exists(CHROMIUM) or shutil.which("chromium") is not None
    if not have_chromium:
        banner = (
            "\n" + "!" * 78 + "\n"
            f"Chromium not found at {CHROMIUM}: the end-to-end UI tests (tests/e2e) are SKIPPED.\n"
            "Install it with: apt-get update && apt-get install -y chromium\n" + "!" * 78 + "\n"
        )
        print(banner, flush=True)
        if os.environ.get("DAZU_REQUIRE_E2E") == "1":
            print("DAZU_REQUIRE_E2E=1: failing because Chromium is required here.")
            return 1
    os.makedirs("test-output", exist_ok=True)
    code = pytest.main(["-p", "no:cacheprovider", *argv])
    if not have_chromium:
        print(banner, flush=True)
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
