"""Vigie's own processes (``vigie run``, ``vigie webhook``) started for a benchmark."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.common import bench_env, vigie_command


class VigieProcess:
    """``vigie --config FILE <args>`` in a child process, stopped with SIGTERM on exit."""

    def __init__(self, config_path: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.config_path = config_path
        self.args = args
        self.env = bench_env()
        self.env.update(env or {})
        self.log_path = config_path.with_suffix(f".{args[0]}.log")
        self.process: subprocess.Popen[Any] | None = None

    def __enter__(self) -> VigieProcess:
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            vigie_command(self.config_path, *self.args),
            stdout=self._log, stderr=subprocess.STDOUT, env=self.env,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise RuntimeError(f"vigie {self.args[0]} exited early: {self.tail()}")

    def tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._log.close()


def wait_for(predicate: Any, timeout: float, step: float = 0.1, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(step)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
