"""Serving Vigie's web apps (the review console, the webhook receiver) with waitress.

waitress is a production WSGI server; both apps sit behind the site's TLS reverse proxy.
"""

from __future__ import annotations

import threading
from typing import Any

from waitress.server import create_server

from watcher.errors import UsageError
from watcher.i18n import _


def parse_listen(value: str) -> tuple[str, int]:
    """Given ``HOST:PORT`` (``[::1]:8470`` for IPv6), return (host, port). Raise UsageError."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(
            _("“{value}” is not an address to listen on (expected HOST:PORT, such as "
              "127.0.0.1:8470).").format(value=value)
        )
    return host, int(port)


class WsgiServer:
    """A WSGI app served by waitress on a local address (``ident``: its name in responses)."""

    def __init__(self, app: Any, listen: str = "127.0.0.1:0", threads: int = 4,
                 ident: str = "vigie") -> None:
        host, port = parse_listen(listen)
        try:
            self._server = create_server(
                app,
                host=host,
                port=port,
                threads=threads,
                ident=ident,
                clear_untrusted_proxy_headers=False,  # ProxyFix in the app decides
            )
        except OSError as error:
            raise UsageError(
                _("Cannot listen on {listen}: {reason}.").format(
                    listen=listen, reason=error.strerror or error
                )
            ) from None
        self.host = host
        self.port = int(self._server.effective_port)  # type: ignore[union-attr]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        self._server.run()

    def start(self) -> WsgiServer:
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> WsgiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
