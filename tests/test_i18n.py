"""Every user-facing message has its French translation; English stays available."""

from __future__ import annotations

import runpy
from pathlib import Path

from watcher.i18n import _, normalize, use_language

TOOLS = Path(__file__).resolve().parents[1] / "tools" / "i18n_sync.py"


def test_every_message_is_translated_into_french() -> None:
    missing = runpy.run_path(str(TOOLS))["missing"]()
    assert missing == {}, f"untranslated: {missing} (run tools/i18n_sync.py, then translate)"


def test_french_by_default_english_on_request() -> None:
    assert _("Vigie is running.") == "Vigie est en marche."
    with use_language("en"):
        assert _("Vigie is running.") == "Vigie is running."


def test_language_tags_are_normalized() -> None:
    assert normalize("fr-CA") == "fr"
    assert normalize("en_US") == "en"
    assert normalize("de") == "fr"
