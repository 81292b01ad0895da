"""Where Vigie's shipped data lives: ``config/`` in a checkout, ``<prefix>/share/vigie`` once
installed from a wheel (pyproject's data-files)."""

from __future__ import annotations

import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1] / "config"
INSTALLED = Path(sys.prefix) / "share" / "vigie"


def shipped(*parts: str) -> Path:
    """Given a path under ``config/``, return where it is on this machine."""
    source = CHECKOUT.joinpath(*parts)
    return source if source.exists() else INSTALLED.joinpath(*parts)
