"""``vigie report``: preview, send, list and resend through the real command line."""

from __future__ import annotations

from pathlib import Path

import pytest
import reportdata as rd

from watcher.cli import main
from watcher.store.db import open_store


@pytest.fixture
def setup(tmp_path: Path) -> Path:
    """A configuration file (no [smtp]: the outbox) and a store holding a busy week."""
    database = tmp_path / "vigie.db"
    config = tmp_path / "vigie.toml"
    config.write_text(
        f"""
[vigie]
state_dir = "{tmp_path / 'state'}"

[store]
url = "sqlite:///{database}"

[report]
recipients = ["communications@csdlj.example"]
outbox_dir = "{tmp_path / 'outbox'}"
""",
        encoding="utf-8",
    )
    store = open_store(f"sqlite:///{database}")
    rd.populate(store)
    store.dispose()
    return config


def test_preview_send_list_resend(setup: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-c", str(setup), "report", "preview", "--week", "2026-W47", "--text"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Objet : Rapport de vigie, semaine du 16 novembre 2026")
    html = Path(out[1])
    assert html == (tmp_path / "outbox" / "preview-2026-W47.html").resolve()
    assert "Rapport de vigie hebdomadaire" in html.read_text(encoding="utf-8")
    assert "PAR ESPACE" in Path(out[2]).read_text(encoding="utf-8")

    output = tmp_path / "one.html"
    assert main(["-c", str(setup), "--lang", "en", "report", "preview", "--week", "2026-W47",
                 "--space", "kenogami-ig", "-o", str(output)]) == 0
    assert "Kénogami sur Instagram" in output.read_text(encoding="utf-8")
    assert "Weekly vigil report" in output.read_text(encoding="utf-8")
    capsys.readouterr()

    assert main(["-c", str(setup), "report", "send", "--week", "2026-W47"]) == 0
    out = capsys.readouterr().out
    assert "Rapport 1 (weekly 2026-W47) : écrit dans la boîte d'envoi locale" in out
    assert len(list((tmp_path / "outbox").glob("*-weekly-2026-w47-1.eml"))) == 1

    assert main(["-c", str(setup), "report", "list"]) == 0
    assert "weekly" in capsys.readouterr().out

    assert main(["-c", str(setup), "report", "resend", "1", "--to", "moi@csdlj.example"]) == 0
    assert "Rapport 2 (weekly 2026-W47)" in capsys.readouterr().out


def test_clear_errors(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-c", str(setup), "report", "preview", "--week", "2026-W99"]) == 1
    assert "« 2026-W99 » n'est pas une semaine" in capsys.readouterr().err
    assert main(["-c", str(setup), "report", "resend", "42"]) == 1
    assert "Il n'y a pas de rapport archivé numéro 42." in capsys.readouterr().err
    assert main(["-c", str(setup), "report", "preview", "--space", "inconnu"]) == 1
    assert "Il n'y a pas d'espace « inconnu »" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["-c", str(setup), "report", "resend", "1", "--to", "pas-une-adresse"])
    assert exit_info.value.code == 2
    assert "adresse courriel non valide" in capsys.readouterr().err
