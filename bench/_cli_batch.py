"""Run several ``python -m sync_server ...`` command lines in one interpreter.

    python bench/_cli_batch.py < argv-lists.json > outputs.json

Each command runs through the server's own module entry point (``runpy``, as ``-m`` does), so a
bench setting up 500 accounts pays the interpreter start and imports once instead of 1,000 times,
and still uses nothing but the documented command lines. Input: a JSON list of argv lists (without
``python -m sync_server``). Output: a JSON list of ``{"argv", "rc", "stdout"}``.
"""
from __future__ import annotations

import contextlib
import gc
import io
import json
import runpy
import sys


def main() -> None:
    out = []
    for n, argv in enumerate(json.load(sys.stdin)):
        buf = io.StringIO()
        sys.argv = ["sync_server", *argv]
        rc = 0
        with contextlib.redirect_stdout(buf):
            try:
                runpy.run_module("sync_server", run_name="__main__", alter_sys=True)
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out.append({"argv": argv, "rc": rc, "stdout": buf.getvalue()})
        if n % 50 == 49:
            gc.collect()  # each command opens its own engine: close the finished ones' connections
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
