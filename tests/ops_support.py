"""Processes for the reliability tests: the sandbox and the daemon, each in its own process."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support import TOKEN

REPO = Path(__file__).resolve().parents[1]


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, every: float = 0.2) -> Any:
    """Wait until ``predicate()`` is truthy; return its value. Fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIE_", "NOTIFY_"))}
    env["PYTHONPATH"] = str(REPO)
    env["VIGIE_TEST_TOKEN"] = TOKEN
    env.update(extra or {})
    return env


class SandboxProcess:
    """``vigie sandbox`` in a process of its own, on a free port."""

    def __init__(self, log: Path) -> None:
        self.log_path = log
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "watcher.cli", "sandbox", "--port", "0"],
            stdout=subprocess.PIPE, stderr=self._log, env=_env(), cwd=REPO,
        )
        assert self.process.stdout is not None
        line = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            match = re.search(rb"http://127\.0\.0\.1:\d+", line)
            if match:
                self.url = match.group(0).decode()
                break
            if not line and self.process.poll() is not None:
                break
        else:
            raise AssertionError("the sandbox did not start")
        if not getattr(self, "url", None):
            raise AssertionError(f"the sandbox did not start: {line!r}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        self._log.close()


class DaemonProcess:
    """``vigie run`` in a process of its own; its standard error appended to ``log``.

    Every daemon started is remembered in ``STARTED`` so a test that fails or times out never
    leaves one behind (see :func:`kill_leftovers`).
    """

    STARTED: list[DaemonProcess] = []

    def __init__(self, config: Path, log: Path, env: dict[str, str] | None = None) -> None:
        DaemonProcess.STARTED.append(self)
        self.log_path = log
        with log.open("ab") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "watcher.cli", "-c", str(config), "run"],
                stdout=handle, stderr=subprocess.STDOUT, env=_env(env), cwd=REPO,
            )

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self, timeout: float = 90) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def kill_leftovers() -> None:
    """Kill the daemons a test left running (it failed or timed out before stopping them)."""
    while DaemonProcess.STARTED:
        daemon = DaemonProcess.STARTED.pop()
        if daemon.alive():
            daemon.kill()


def vigie(config: Path, *args: str, env: dict[str, str] | None = None,
          timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run one ``vigie`` command against ``config``; return the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "watcher.cli", "-c", str(config), *args],
        capture_output=True, text=True, env=_env(env), cwd=REPO, timeout=timeout,
    )


def query(db: Path, sql: str, *params: Any) -> list[tuple]:
    """Read the daemon's SQLite store from outside (a reader never blocks WAL writers)."""
    if not db.exists():
        return []
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return connection.execute(sql, params).fetchall()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return []
        raise
    finally:
        connection.close()


def config_text(state: Path, spaces: list[str], extra: str = "") -> str:
    return (
        f'[vigie]\nstate_dir = "{state}"\n'
        "[scheduler]\npoll_interval = 10\njitter = 0\naction_interval = 1\n"
        + extra
        + "".join(spaces)
    )


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path
