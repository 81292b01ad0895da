"""The benchmark runner works end to end in its smallest mode (no timing is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_bench_smoke_runs_every_section(tmp_path: Path) -> None:
    pytest.importorskip("psutil", reason="the bench extra is not installed (make bench)")
    postgres = os.environ.get("VIGIE_TEST_DATABASE_URL", "")
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(tmp_path / "results"),
         "--workdir", str(tmp_path / "work"), "--postgres", postgres],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    saved = json.loads((tmp_path / "results" / "latest.json").read_text())
    rows = saved["rows"]
    sections = {row["section"].split(" ")[0] for row in rows}
    assert {"0", "2", "3", "4", "5"} <= sections
    assert not [row for row in rows if row["name"] == "section failed"]
    # Every posted litigious comment was hidden, by polling and by the webhook.
    by_name = {(row["section"], row["name"]): row for row in rows}
    assert by_name[("2 time to hide (polling)", "comments hidden / posted")]["value"] == "5/5"
    assert by_name[("2 time to hide (webhook)", "comments hidden / delivered")]["value"] == "5/5"
    assert by_name[("4 scale", "cycles run / failed")]["value"].endswith("/0")
    assert "| measure" in result.stdout  # the table was printed
    assert saved["machine"]["nproc"] >= 1


def test_bench_rejects_an_unknown_section(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "hide,nonsense"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "nonsense" in result.stderr
