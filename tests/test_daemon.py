"""The daemon as a process: hides within a cycle, reloads on SIGHUP, finishes its cycle on
SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.support import TOKEN, calls, fault, post_comment, remote, space_toml

PAGE = "100064000000021"
SECOND_PAGE = "100064000000022"
INSULT = "Ferme ta gueule, espèce de crisse d'idiot."


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def config_text(state: Path, spaces: list[str]) -> str:
    return (
        f'[vigie]\nstate_dir = "{state}"\n'
        "[scheduler]\npoll_interval = 10\njitter = 0\naction_interval = 1\n" + "".join(spaces)
    )


def start(path: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env["VIGIE_TEST_TOKEN"] = TOKEN
    with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "watcher.cli", "-c", str(path), "run"],
            stdout=handle, stderr=subprocess.STDOUT, env=env,
        )


def test_daemon_hides_reloads_and_stops_cleanly(sandbox, tmp_path: Path) -> None:
    path = tmp_path / "vigie.toml"
    path.write_text(config_text(tmp_path / "state", [space_toml("one", sandbox.url,
                                                                platform_id=PAGE)]))
    path.chmod(0o600)
    log = tmp_path / "daemon.log"
    insult = post_comment(sandbox.url, PAGE, INSULT)
    process = start(path, log)
    try:
        wait_for(lambda: remote(sandbox.url, insult)["hidden"])

        # SIGHUP with a broken file: reported, the old configuration kept.
        path.write_text("[vigie]\nbogus = 1\n")
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: "Configuration non rechargée" in log.read_text())

        # SIGHUP with a second space: it is polled too.
        path.write_text(config_text(tmp_path / "state", [
            space_toml("one", sandbox.url, platform_id=PAGE),
            space_toml("two", sandbox.url, platform_id=SECOND_PAGE),
        ]))
        second = post_comment(sandbox.url, SECOND_PAGE, INSULT)
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: remote(sandbox.url, second)["hidden"])
        assert "Configuration rechargée" in log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    text = log.read_text()
    assert "Vigie est arrêtée." in text
    assert "Traceback" not in text
    assert TOKEN not in text


def test_sigterm_lets_the_cycle_in_flight_finish(sandbox, tmp_path: Path) -> None:
    path = tmp_path / "vigie.toml"
    path.write_text(config_text(tmp_path / "state", [space_toml("one", sandbox.url,
                                                                platform_id=PAGE)]))
    path.chmod(0o600)
    log = tmp_path / "daemon.log"
    insult = post_comment(sandbox.url, PAGE, INSULT)
    # Every call of the first cycle is slow: the daemon is mid-cycle when told to stop.
    fault(sandbox.url, platform="facebook", space=PAGE, kind="slow", delay=1.5, count=20)
    process = start(path, log)
    wait_for(lambda: any(c["space"] == PAGE for c in calls(sandbox.url)), timeout=30)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=90) == 0
    # The cycle went to its end: the comment is hidden and the store says so.
    assert remote(sandbox.url, insult)["hidden"] is True
    from sqlmodel import select

    from watcher.store.db import Store
    from watcher.store.models import Action

    store = Store(f"sqlite:///{tmp_path / 'state' / 'vigie.db'}")
    with store.session() as session:
        states = [a.state for a in session.exec(select(Action))]
    store.dispose()
    assert states == ["done"]


def test_job_failures_are_one_line_each_and_said_once_when_retried(tmp_path: Path, caplog) -> None:
    """Every job logs a failure the same way: a known one is one line, a bug its traceback; a
    job retried every few seconds says a lasting failure once, and again after a recovery."""
    import logging
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from connectors.errors import AuthError
    from tests.support import make_config
    from watcher.daemon import Daemon

    daemon = Daemon(make_config(tmp_path, []))
    locked = OperationalError("UPDATE comments", {}, sqlite3.OperationalError("database is locked"))
    with caplog.at_level(logging.ERROR, logger="watcher.daemon"):
        daemon._failed("Espace a", AuthError("jeton révoqué"))
        for _ in range(3):
            daemon._failed("Espace b", locked, quiet_key="actions:b")
        daemon._recovered("actions:b")
        daemon._failed("Espace b", locked, quiet_key="actions:b")
        daemon._failed("Espace c", ZeroDivisionError("bug"))
    lines = [(r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert lines[0] == ("Espace a : jeton révoqué", False)
    assert lines[1][0].startswith("Espace b : ") and lines[1][1] is False
    assert [m for m, _ in lines].count(lines[1][0]) == 2  # once, then again after the recovery
    assert lines[-1] == ("Espace c : erreur inattendue", True)
    assert len(lines) == 4
