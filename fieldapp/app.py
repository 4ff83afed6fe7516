"""Start the field app: `python -m fieldapp [--web] [--port N] [--data DIR] [--server URL] [--dev-allow-http]`.

`--data` is the phone's own storage folder (two folders are two phones on one machine); `--server`
presets the sync server's address on the enrol screen; `--web` serves the app to a browser on
`--port`, entirely offline (no CDN: the Flutter renderer and the Chinese font come from this
process); `--dev-allow-http` lets a developer's phone sync over plain HTTP with a server on another
machine (personal data in clear text: never in the field; see fieldapp.sync.tls).
"""
from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

DEFAULT_WEB_PORT = 8550


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m fieldapp", description=__doc__.splitlines()[0])
    parser.add_argument("--web", action="store_true", help="serve the app to a web browser")
    parser.add_argument("--port", type=int, default=None, help=f"web port (default {DEFAULT_WEB_PORT})")
    parser.add_argument("--host", default=None, help="web interface to bind (default 127.0.0.1)")
    parser.add_argument("--data", default=None, help="this phone's data folder (default ./data/phone)")
    parser.add_argument("--server", default="", help="sync server address preset on the enrol screen")
    parser.add_argument("--dev-allow-http", action="store_true",
                        help="development only: allow http:// servers that are not on this machine")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.dev_allow_http:
        from fieldapp.sync.tls import DEV_ALLOW_HTTP_ENV

        os.environ[DEV_ALLOW_HTTP_ENV] = "1"
    # Flet is imported only here so that `--help` and the state layer work without it.
    import flet as ft
    from claimcore.assets import assets_dir

    from fieldapp.state.context import AppContext
    from fieldapp.state.session_slot import SessionSlot
    from fieldapp.views.method_answers import keep_sessions_answering
    from fieldapp.views.shell import AppShell

    data_dir = Path(args.data or os.environ.get("DAZU_PHONE_DATA") or "data/phone").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=os.environ.get("DAZU_LOG_LEVEL", "WARNING"))
    keep_sessions_answering()
    ctx = AppContext(data_dir, server_default=args.server)
    ctx.start()
    # One phone, one session: in web mode every browser tab is a session of this one process and
    # data folder; one at a time is the app (the others say so and offer to take over).
    slot = SessionSlot()

    def page_main(page: ft.Page) -> None:
        AppShell(page, ctx, slot).start()

    try:
        if args.web:
            # A forced web server never opens a desktop browser by itself (this may be a headless
            # machine); the address is printed instead.
            os.environ["FLET_FORCE_WEB_SERVER"] = "1"
            port = args.port or DEFAULT_WEB_PORT
            print(f"fieldapp: http://{args.host or '127.0.0.1'}:{port}  (data: {data_dir})",
                  flush=True)
            ft.run(page_main, view=ft.AppView.WEB_BROWSER, host=args.host or "127.0.0.1",
                   port=port, assets_dir=str(assets_dir()), no_cdn=True)
        else:
            ft.run(page_main, assets_dir=str(assets_dir()), no_cdn=True)
    finally:
        ctx.stop()
    return 0
