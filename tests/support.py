"""Helpers for tests that run Vigie against the sandbox: configs, runtimes, sandbox calls."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import requests

from connectors.sandbox.graph import hidden_ids
from connectors.sandbox.spaces import space_toml as sandbox_space_toml
from watcher.config import Config, parse_config
from watcher.runtime import Runtime
from watcher.store.db import open_store

TOKEN = "sandbox-page-token"

DEFAULT_SECRETS = {
    "facebook": '{{ page_token = "env:VIGIE_TEST_TOKEN" }}',
    "instagram": '{{ access_token = "env:VIGIE_TEST_TOKEN" }}',
    "youtube": '{{ access_token = "env:VIGIE_TEST_YT_{account}" }}',
    "x": (
        '{{ consumer_key = "env:VIGIE_TEST_X_KEY", consumer_secret = "env:VIGIE_TEST_X_SECRET", '
        'access_token = "env:VIGIE_TEST_X_{account}", access_token_secret = "env:VIGIE_TEST_X_TS" }}'
    ),
}


def space_toml(
    space_id: str,
    url: str,
    *,
    platform: str = "facebook",
    platform_id: str | None = None,
    mode: str = "enforce",
    interval: int = 10,
    owner: str = "Service des communications",
    contact: str = "communications@csjonquiere.qc.ca",
    secrets: str | None = None,
    extra: str = "",
) -> str:
    platform_id = platform_id or f"1000{abs(hash(space_id)) % 10**8}"
    return sandbox_space_toml(
        space_id,
        url,
        platform=platform,
        platform_id=platform_id,
        secrets=secrets or DEFAULT_SECRETS[platform].format(account=platform_id),
        mode=mode,
        interval=interval,
        owner=owner,
        contact=contact,
        approval_prefix="SGC-TEST",
        extra=extra,
    )


def make_config(
    state_dir: Path,
    spaces: Iterable[str],
    *,
    database_url: str | None = None,
    extra: str = "",
) -> Config:
    """Return a validated config with the given ``[[spaces]]`` blocks."""
    store = f'[store]\nurl = "{database_url}"\n' if database_url else ""
    text = (
        f'[vigie]\nstate_dir = "{state_dir}"\n{store}'
        "[scheduler]\npoll_interval = 10\njitter = 0\naction_interval = 1\n"
        + extra
        + "".join(spaces)
    )
    return parse_config(text)


def test_environ(config: Config) -> dict[str, str]:
    """The environment holding every test space's secrets (X tokens begin with the user id)."""
    env = {"VIGIE_TEST_TOKEN": TOKEN, "VIGIE_TEST_X_KEY": "consumer-key",
           "VIGIE_TEST_X_SECRET": "consumer-secret", "VIGIE_TEST_X_TS": "token-secret"}
    for space in config.spaces:
        if space.platform == "x":
            env[f"VIGIE_TEST_X_{space.platform_id}"] = f"{space.platform_id}-sandboxtoken"
        if space.platform == "youtube":  # the sandbox's default token of a channel
            env[f"VIGIE_TEST_YT_{space.platform_id}"] = f"ya29.{space.platform_id}"
    return env


def make_runtime(config: Config, environ: dict[str, str] | None = None) -> Runtime:
    env = test_environ(config)
    env.update(environ or {})
    store = open_store(config.database_url)
    return Runtime.open(config, store=store, environ=env)


def post_comment(sandbox_url: str, space: str, text: str, *, platform: str = "facebook",
                 **fields: Any) -> str:
    response = requests.post(
        f"{sandbox_url}/_sandbox/comments",
        json={"platform": platform, "space": space, "text": text, **fields},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["id"]


def remote(sandbox_url: str, comment_id: str) -> dict[str, Any]:
    response = requests.get(f"{sandbox_url}/_sandbox/comments/{comment_id}", timeout=10)
    response.raise_for_status()
    return response.json()


def calls(sandbox_url: str, **filters: str) -> list[dict[str, Any]]:
    response = requests.get(f"{sandbox_url}/_sandbox/calls", params=filters, timeout=10)
    response.raise_for_status()
    return response.json()["data"]


def graph_hides(sandbox_url: str) -> list[str]:
    """Return the ids of the comments the sandbox's Graph was asked to hide, in order (one
    entry a request: sent alone, ``POST /{id}`` with ``is_hidden=true``, or inside a batch)."""
    return [target for call in calls(sandbox_url, platform="facebook")
            for target in hidden_ids(call["method"], call["path"], call["query"])]


def fault(sandbox_url: str, **spec: Any) -> None:
    requests.post(f"{sandbox_url}/_sandbox/faults", json=spec, timeout=10).raise_for_status()


def clear_faults(sandbox_url: str) -> None:
    requests.delete(f"{sandbox_url}/_sandbox/faults", timeout=10).raise_for_status()


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that nothing listens on (for a server a test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
