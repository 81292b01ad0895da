"""Talking to systemd: readiness, status, watchdog (sd_notify) and journal log levels.

The daemon calls :func:`notify_ready` once it is serving, :func:`watchdog_ping` from its main
loop (at least every :func:`watchdog_interval` seconds), :func:`notify_status` with a short
line that ``systemctl status vigie`` shows, and :func:`notify_stopping` when it begins to stop.
Outside systemd (no ``NOTIFY_SOCKET``) every call does nothing and returns False.

The notifications go through the ``sdnotify`` package's socket; the payload is encoded as
UTF-8 here (``sdnotify`` would encode it as Latin-1, which garbles French status lines).

Log levels in the journal are :mod:`watcher.logs`'s business (``<N>`` line prefixes).
"""

from __future__ import annotations

import logging
import os
import threading
import warnings

import sdnotify

log = logging.getLogger(__name__)



class _Notifier(sdnotify.SystemdNotifier):
    """sdnotify's notifier, closing its socket when $NOTIFY_SOCKET cannot be reached."""

    def __init__(self) -> None:
        try:
            with warnings.catch_warnings():
                # sdnotify drops its socket without closing it when connect() fails; the
                # garbage collector closes it, with a ResourceWarning that says nothing new.
                warnings.simplefilter("ignore", ResourceWarning)
                super().__init__(debug=True)
        except (OSError, TypeError, IndexError) as error:
            self.socket = None
            log.warning("cannot connect to the systemd notification socket: %s", error)


_lock = threading.Lock()
_notifier: sdnotify.SystemdNotifier | None = None
_notifier_address: str | None = None


def _socket_notifier() -> sdnotify.SystemdNotifier | None:
    """Return a notifier connected to $NOTIFY_SOCKET, or None when there is none."""
    global _notifier, _notifier_address
    address = os.environ.get("NOTIFY_SOCKET") or None
    if address != _notifier_address:
        if _notifier is not None and _notifier.socket is not None:
            _notifier.socket.close()
        _notifier = _Notifier() if address else None
        _notifier_address = address
    return _notifier


def _send(*fields: str) -> bool:
    """Send ``KEY=value`` fields to systemd; return True if a datagram was sent."""
    payload = "\n".join(fields).encode("utf-8")
    with _lock:
        notifier = _socket_notifier()
        if notifier is None or notifier.socket is None:
            return False
        try:
            notifier.socket.sendall(payload)
        except OSError as error:
            log.debug("sd_notify failed: %s", error)
            return False
    return True


def _status_line(text: str) -> str:
    # One line: systemd shows STATUS= as is, and a newline would start a new field.
    return "STATUS=" + " ".join(str(text).split())[:400]


def notify_ready(status: str | None = None) -> bool:
    """Tell systemd the daemon is up (Type=notify); optionally with a status line."""
    fields = ["READY=1"]
    if status:
        fields.append(_status_line(status))
    return _send(*fields)


def notify_status(text: str) -> bool:
    """Set the one-line status ``systemctl status`` shows."""
    return _send(_status_line(text))


def watchdog_ping() -> bool:
    """Tell systemd's watchdog the main loop is alive."""
    if watchdog_interval() is None:
        return False
    return _send("WATCHDOG=1")


def notify_reloading() -> bool:
    """Tell systemd the configuration is being reloaded (call notify_ready when done)."""
    return _send("RELOADING=1")


def notify_stopping(status: str | None = None) -> bool:
    """Tell systemd the daemon is stopping (it finishes the cycle in flight first)."""
    fields = ["STOPPING=1"]
    if status:
        fields.append(_status_line(status))
    return _send(*fields)


def watchdog_interval() -> float | None:
    """Return how often to ping the watchdog (half of WatchdogSec=), in seconds, or None.

    None when systemd set no watchdog for this process (no or bad ``WATCHDOG_USEC``, or a
    ``WATCHDOG_PID`` that is another process's).
    """
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    if value <= 0:
        return None
    return value / 1_000_000 / 2
