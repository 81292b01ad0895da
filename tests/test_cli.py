"""The `vigie` command as a person runs it: French messages, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import TOKEN, post_comment, remote, space_toml

VIGIE = [sys.executable, "-m", "watcher.cli"]
PAGE = "100064000000011"


def vigie(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    full_env.update(env or {})
    return subprocess.run(
        [*VIGIE, *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout,
        check=False,
    )


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "vigie.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_help_is_in_french_by_default() -> None:
    result = vigie("--help")
    assert result.returncode == 0
    assert "Vigie des espaces de médias sociaux approuvés" in result.stdout


def test_help_in_english_on_request() -> None:
    result = vigie("--lang", "en", "--help")
    assert "Vigil over the approved social-media spaces" in result.stdout


def test_usage_headings_and_errors_are_french_by_default() -> None:
    """argparse's own words (usage, headings, its errors) follow the language too."""
    help_text = vigie("poll", "--help").stdout
    assert help_text.startswith("utilisation : vigie poll")
    assert "options :" in help_text and "afficher cette aide et quitter" in help_text
    assert "usage" not in help_text and "show this help" not in help_text
    wrong = vigie("poll", "--bogus")
    assert wrong.returncode == 2
    assert "vigie : erreur : arguments non reconnus : --bogus" in wrong.stderr
    missing = vigie("classify", "--model")
    assert "argument --model : un argument attendu" in missing.stderr
    english = vigie("--lang", "en", "poll", "--bogus")
    assert english.stderr.startswith("usage: vigie")
    assert "vigie: error: unrecognized arguments: --bogus" in english.stderr


def test_init_then_check(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "vigie.toml"
    result = vigie("-c", str(config), "init", "--state-dir", str(tmp_path / "state"))
    assert result.returncode == 0, result.stderr
    assert "Configuration d'exemple écrite" in result.stdout
    assert (tmp_path / "state").is_dir()
    again = vigie("-c", str(config), "init")
    assert again.returncode == 1 and "existe déjà" in again.stderr
    check = vigie("-c", str(config), "check")
    assert check.returncode == 0, check.stderr
    assert "valide (1 espace(s) approuvé(s))" in check.stdout


def test_broken_config_is_one_clear_message_without_traceback(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[vigie]\nlanguag = 'fr'\n[scheduler]\njitter = 'x'\n")
    result = vigie("-c", str(path), "check")
    assert result.returncode == 1
    assert "2 erreur(s)" in result.stderr and "vigie.languag : clé inconnue" not in result.stderr
    assert "vigie.languag: clé inconnue" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_command_is_a_usage_error() -> None:
    result = vigie("frobnicate")
    assert result.returncode == 2
    assert "vigie : erreur" in result.stderr


def test_poll_once_status_and_missing_secret(sandbox, tmp_path: Path) -> None:
    text = (
        f'[vigie]\nstate_dir = "{tmp_path / "state"}"\n'
        + space_toml("page", sandbox.url, platform_id=PAGE)
    )
    path = write_config(tmp_path, text)
    insult = post_comment(sandbox.url, PAGE, "Mange de la marde, espèce d'idiot.")

    missing = vigie("-c", str(path), "poll", "--once")
    assert missing.returncode == 1
    assert "VIGIE_TEST_TOKEN" in missing.stdout + missing.stderr
    assert "Traceback" not in missing.stderr

    result = vigie("-c", str(path), "poll", "--once", env={"VIGIE_TEST_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    assert "1 nouveau(x) commentaire(s)" in result.stdout
    assert remote(sandbox.url, insult)["hidden"] is True
    assert TOKEN not in result.stdout + result.stderr

    status = vigie("-c", str(path), "status", "--json")
    data = json.loads(status.stdout)
    assert status.returncode == 0, status.stdout
    assert data["spaces"][0]["hidden"] == 1 and data["spaces"][0]["state"] == "ok"
    human = vigie("-c", str(path), "status")
    assert "Tout est en ordre." in human.stdout
