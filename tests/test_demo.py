"""`vigie demo` on a fresh folder: the real daemon against the sandbox's bundled scenario."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCENARIO = json.loads((REPO / "config" / "demo" / "scenario.json").read_text(encoding="utf-8"))
CHECK = re.compile(
    r"(\d+) masqué\(s\), (\d+) commentaire\(s\) acceptable\(s\) masqué\(s\) par erreur, "
    r"(\d+) commentaire\(s\) litigieux laissé\(s\) visible\(s\)"
)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str],
                                                                 float, Path]:
    out = tmp_path_factory.mktemp("demo") / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "watcher.cli", "demo", "--output", str(out)],
        capture_output=True, text=True, env=env, timeout=180, check=False,
    )
    return result, time.monotonic() - started, out


def test_demo_runs_end_to_end_in_french_under_a_minute(demo_run) -> None:
    result, elapsed, out = demo_run
    assert result.returncode == 0, result.stderr
    assert elapsed < 60
    text = result.stdout
    for heading in ("Masqués sur la plateforme", "En attente de révision",
                    "Laissés visibles", "Par catégorie", "Vérification dans le bac à sable"):
        assert heading in text
    assert "Traceback" not in result.stderr
    outbox = sorted(p.name for p in (out / "state" / "outbox").iterdir())
    assert any(name.endswith("weekly.eml") for name in outbox)
    assert any(name.endswith("weekly.html") for name in outbox)


def test_demo_never_hides_much_acceptable_speech(demo_run) -> None:
    result, _elapsed, _out = demo_run
    hidden, wrongful, missed = map(int, CHECK.search(result.stdout).groups())
    acceptable = sum(1 for c in SCENARIO["comments"] if c.get("expected") == "allow")
    litigious = sum(1 for c in SCENARIO["comments"] if c.get("expected") == "hide")
    assert hidden > 0
    # The bar for acceptable speech: at most 2 % hidden.
    assert wrongful <= 0.02 * acceptable
    assert missed < litigious


def test_demo_hides_every_litigious_comment_and_no_acceptable_one(demo_run) -> None:
    result, _elapsed, _out = demo_run
    _hidden, wrongful, missed = map(int, CHECK.search(result.stdout).groups())
    assert wrongful == 0 and missed == 0, result.stdout[-3000:]
