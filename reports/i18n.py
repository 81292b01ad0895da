"""The reports' own gettext domain (``reports``), catalog in ``reports/locale``."""

from __future__ import annotations

from pathlib import Path

from watcher.i18n import ngettext_for, translator

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "reports"

_ = translator("reports", LOCALE_DIR)  # the literal domain is what tools/i18n_sync.py reads
ngettext = ngettext_for(DOMAIN, LOCALE_DIR)
