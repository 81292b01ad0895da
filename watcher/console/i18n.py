"""The console's own gettext domain (``console``), French catalog in ``locale/fr``."""

from __future__ import annotations

from pathlib import Path

from watcher.i18n import ngettext_for, translator

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "console"

_ = translator(DOMAIN, LOCALE_DIR)
ngettext = ngettext_for(DOMAIN, LOCALE_DIR)
