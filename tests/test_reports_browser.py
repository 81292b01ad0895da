"""The HTML digest in a real browser (Debian's chromium, headless): it renders, and a hostile
comment stays text."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
import reportdata as rd

from reports.service import render_weekly
from watcher.store.db import Store

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "profile"
    shutil.rmtree(profile, ignore_errors=True)
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", f"--user-data-dir={profile}", "--hide-scrollbars", *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _render(store: Store, tmp_path: Path, name: str) -> Path:
    config = rd.make_config(tmp_path)
    _subject, html, _text = render_weekly(config, store, rd.WEEK, now=rd.DUE)
    page = tmp_path / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    return page


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_digest_screenshot_and_hostile_comment_as_text(store: Store, tmp_path: Path) -> None:
    rd.populate(store)
    page = _render(store, tmp_path, "digest")
    shot = tmp_path / "digest.png"
    _chromium(tmp_path, "--window-size=800,3200", f"--screenshot={shot}", page.as_uri())
    assert _png_size(shot) == (800, 3200)
    assert shot.stat().st_size > 50_000  # a page with text and colours, not a blank one
    dom = _chromium(tmp_path, "--virtual-time-budget=2000", "--dump-dom", page.as_uri()).stdout
    # No script ran and no image was loaded: the attributes they would set are absent.
    assert 'data-pwned="1"' not in dom and 'data-img="1"' not in dom
    assert "<title>pwned</title>" not in dom
    assert "&lt;script&gt;document.title='pwned'" in dom  # the comment is shown as text
    assert "<script" not in dom and "<img" not in dom
    print(f"screenshot: {shot}")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_empty_and_busy_weeks_render(store: Store, tmp_path: Path) -> None:
    import datetime as dt

    with store.session() as session:
        rd.add_spaces(session)
    empty = _render(store, tmp_path, "empty")
    shot = tmp_path / "empty.png"
    _chromium(tmp_path, "--window-size=800,1800", f"--screenshot={shot}", empty.as_uri())
    assert _png_size(shot) == (800, 1800)
    with store.session() as session:
        for n in range(1000):
            rd.insult(session, "kenogami-fb", rd.MONDAY + dt.timedelta(minutes=9 * n + 1),
                      dt.timedelta(minutes=7))
    busy = _render(store, tmp_path, "busy")
    dom = _chromium(tmp_path, "--dump-dom", busy.as_uri()).stdout
    assert dom.count("Ouvrir dans la console de révision") == 10
    assert "1&nbsp;000" in dom  # 1 000 hidden, written the French way
    assert "Et 990 autre(s) dans la console de révision." in dom
