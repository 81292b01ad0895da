"""The console's own gettext domain (``console``), French catalog in ``locale/fr``."""

from __future__ import annotations

from pathlib import Path

from watcher.i18n import ngettext_for, translator

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "console"

_ = translator("console", LOCALE_DIR)  # literal: tools/i18n_sync.py reads the domain here
ngettext = ngettext_for(DOMAIN, LOCALE_DIR)
