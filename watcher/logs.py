"""Logging: plain lines on stderr; with syslog priority prefixes when the journal reads them."""

from __future__ import annotations

import logging
import os
import sys

_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class JournalFormatter(logging.Formatter):
    """Prefix each line with ``<N>`` so journald files it at the right level."""

    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITY.get(record.levelno, 6)
        return f"<{priority}>" + super().format(record)


def setup(level: str = "INFO", debug: bool = False) -> None:
    """Configure the root logger once for the process."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
        )
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else getattr(logging, level, logging.INFO))
    # Libraries speak only when something is wrong, unless debugging.
    for name in ("apscheduler", "werkzeug", "urllib3", "alembic", "waitress"):
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)
