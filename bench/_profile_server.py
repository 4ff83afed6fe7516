"""Run ``python -m sync_server ARGS`` with cProfile in every thread; write the merged stats.

    python bench/_profile_server.py OUT.pstats serve --host 127.0.0.1 --port N ...

Time is each thread's CPU time (``time.thread_time``), so threads waiting for the database's
write lock or for work do not count. ``python -m cProfile`` profiles the main thread only, where uvicorn's event loop runs; the push
handler (a plain ``def`` route) runs in the thread pool. Here every new thread starts its own
profiler on its first event, and on exit (SIGTERM: uvicorn shuts down and returns) all of them are
merged into one pstats file. Nothing of the server is imported before it starts.
"""
from __future__ import annotations

import cProfile
import pstats
import runpy
import signal
import sys
import threading
import time

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _start_here(frame, event, arg) -> None:  # noqa: ANN001 - sys.setprofile's signature
    profile = cProfile.Profile(time.thread_time)
    with _lock:
        _profiles.append(profile)
    profile.enable()  # replaces this hook for the rest of the thread


def _stop(signum, frame) -> None:  # noqa: ANN001
    raise SystemExit(0)


def main() -> None:
    out, args = sys.argv[1], sys.argv[2:]
    # uvicorn shuts down on SIGTERM, then raises the signal again for the handler it found: with
    # the default one the process would die before the stats are written.
    signal.signal(signal.SIGTERM, _stop)
    threading.setprofile(_start_here)
    main_profile = cProfile.Profile(time.thread_time)
    _profiles.append(main_profile)
    sys.argv = ["sync_server", *args]
    main_profile.enable()
    try:
        runpy.run_module("sync_server", run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
    finally:
        main_profile.disable()
        threading.setprofile(None)
        with _lock:
            profiles = list(_profiles)
        stats: pstats.Stats | None = None
        for profile in profiles:
            profile.create_stats()
            if not profile.stats:
                continue
            if stats is None:
                stats = pstats.Stats(profile)
            else:
                stats.add(profile)
        if stats is not None:
            stats.dump_stats(out)


if __name__ == "__main__":
    main()
