"""HTTP plumbing shared by connectors: point an SDK's fixed API host at another base URL.

SDKs such as facebook-sdk build their URLs from a module constant
(``https://graph.facebook.com/``). Rather than patch that global, a connector mounts a
:class:`RewriteAdapter` on the SDK's own ``requests.Session``: every request for the real host
is sent to ``api_base_url`` instead (the sandbox platform, or a proxy), over real HTTP.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter


class RewriteAdapter(HTTPAdapter):
    """A transport adapter that replaces the URL prefix ``original`` with ``target``."""

    def __init__(self, original: str, target: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.original = original.rstrip("/") + "/"
        self.target = target.rstrip("/") + "/"

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        if request.url and request.url.startswith(self.original):
            request.url = self.target + request.url[len(self.original):]
        return super().send(request, *args, **kwargs)


def session_for(original: str, target: str | None) -> requests.Session:
    """Return a session whose requests for ``original`` go to ``target`` (when different)."""
    session = requests.Session()
    if target and target.rstrip("/") != original.rstrip("/"):
        session.mount(original.rstrip("/") + "/", RewriteAdapter(original, target))
    return session
