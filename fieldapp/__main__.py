"""Command line of the field app.

    python -m fieldapp [--web] [--port N] [--data DIR] [--server URL]   run the app
    python -m fieldapp photos inspect FILE [FILE ...]                    photo intake diagnostics
    python -m fieldapp documents render TEMPLATE ...                     print-ready PDFs

Each sub-command lives with its package; this file only dispatches, importing lazily so that
`photos` and `documents` work without starting (or even importing) Flet.
"""
from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if argv[:1] == ["photos"]:
        from fieldapp.media.cli import main as photos_main

        return photos_main(argv[1:])
    if argv[:1] == ["documents"]:
        from fieldapp.documents.cli import main as documents_main

        return documents_main(argv[1:])
    from fieldapp.app import main as app_main

    return app_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
