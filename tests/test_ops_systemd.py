"""watcher.systemd against a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from watcher import systemd


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = tmp_path / "notify"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield server
    server.close()
    monkeypatch.delenv("NOTIFY_SOCKET")
    systemd._send("X=1")  # drop the cached notifier for the next test


def _receive(server: socket.socket) -> list[str]:
    return server.recv(4096).decode("utf-8").split("\n")


def test_ready_status_watchdog_stopping(notify_socket: socket.socket, monkeypatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "120000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert systemd.notify_ready()
    assert _receive(notify_socket) == ["READY=1"]
    assert systemd.notify_status("3 espaces surveillés — dernier cycle à 02:10\nok")
    assert _receive(notify_socket) == ["STATUS=3 espaces surveillés — dernier cycle à 02:10 ok"]
    assert systemd.watchdog_ping()
    assert _receive(notify_socket) == ["WATCHDOG=1"]
    assert systemd.notify_reloading()
    assert _receive(notify_socket) == ["RELOADING=1"]
    assert systemd.notify_stopping("arrêt: fin du cycle en cours")
    assert _receive(notify_socket) == ["STOPPING=1", "STATUS=arrêt: fin du cycle en cours"]


def test_abstract_socket_address(monkeypatch) -> None:
    name = f"vigie-test-{os.getpid()}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind("\0" + name)
    server.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    try:
        assert systemd.notify_ready("prêt")
        assert _receive(server) == ["READY=1", "STATUS=prêt"]
    finally:
        server.close()
        monkeypatch.delenv("NOTIFY_SOCKET")
        systemd._send("X=1")


def test_no_systemd_means_no_op(monkeypatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert systemd.notify_ready() is False
    assert systemd.notify_status("x") is False
    assert systemd.watchdog_ping() is False
    assert systemd.notify_stopping() is False
    assert systemd.watchdog_interval() is None


def test_socket_gone_is_not_an_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "absent"))
    try:
        assert systemd.notify_ready() is False
    finally:
        monkeypatch.delenv("NOTIFY_SOCKET")
        systemd._send("X=1")


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        ("120000000", None, 60.0),
        ("120000000", "self", 60.0),
        ("120000000", "1", None),  # another process's watchdog
        ("0", None, None),
        ("abc", None, None),
        ("", None, None),
    ],
)
def test_watchdog_interval(monkeypatch, usec, pid, expected) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", usec)
    if pid is None:
        monkeypatch.delenv("WATCHDOG_PID", raising=False)
    else:
        monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()) if pid == "self" else pid)
    assert systemd.watchdog_interval() == expected


def test_watchdog_not_pinged_without_watchdog(notify_socket, monkeypatch) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert systemd.watchdog_ping() is False


def test_credentials_loaded_from_the_units_folder_are_found(tmp_path: Path) -> None:
    """LoadCredential=vigie:/etc/vigie/credentials names each file vigie_<file>; the
    configuration still says credential:<file>."""
    from watcher.errors import SecretError
    from watcher.secrets import resolve

    (tmp_path / "vigie_css-facebook-page-token").write_text("EAAB-daemon\n")
    (tmp_path / "vigie-console_secret-key").write_text("console-key")
    (tmp_path / "plain").write_text("as-named")
    environ = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert resolve("credential:css-facebook-page-token", environ) == "EAAB-daemon"
    assert resolve("credential:secret-key", environ) == "console-key"
    assert resolve("credential:plain", environ) == "as-named"
    with pytest.raises(SecretError):
        resolve("credential:absent", environ)
