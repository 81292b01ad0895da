"""`vigie webhook`: the real command, in its own process, against the sandbox."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support import TOKEN, free_port, remote, space_toml

PAGE = "55555555"
VIGIE = [sys.executable, "-m", "watcher.cli"]



def config(tmp_path: Path, sandbox_url: str, enabled: bool = True) -> Path:
    text = (
        f'[vigie]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[webhook]\nenabled = {"true" if enabled else "false"}\n'
        'app_secret = "env:VIGIE_TEST_APP_SECRET"\nverify_token = "env:VIGIE_TEST_VERIFY"\n'
        + space_toml("page", sandbox_url, platform_id=PAGE)
    )
    path = tmp_path / "vigie.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env.update({"VIGIE_TEST_TOKEN": TOKEN, "VIGIE_TEST_APP_SECRET": "s3cret",
                "VIGIE_TEST_VERIFY": "verify"})
    return env


def test_disabled_webhooks_are_refused_in_one_sentence(sandbox, tmp_path: Path) -> None:
    path = config(tmp_path, sandbox.url, enabled=False)
    result = subprocess.run([*VIGIE, "-c", str(path), "webhook"], capture_output=True,
                            text=True, env=environment(), timeout=60, check=False)
    assert result.returncode == 1
    assert "Les webhooks sont désactivés" in result.stderr
    assert "Traceback" not in result.stderr


def test_webhook_command_hides_a_pushed_comment(sandbox, tmp_path: Path) -> None:
    path = config(tmp_path, sandbox.url)
    port = free_port()
    process = subprocess.Popen(
        [*VIGIE, "-c", str(path), "webhook", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment())
    try:
        banner = process.stdout.readline()  # type: ignore[union-attr]
        assert f"127.0.0.1:{port}/webhook" in banner
        url = f"http://127.0.0.1:{port}/webhook"
        challenge = requests.get(url, params={"hub.mode": "subscribe",
                                              "hub.verify_token": "verify",
                                              "hub.challenge": "42"}, timeout=5)
        assert challenge.text == "42"

        comment = sandbox.state.add_comment("facebook", PAGE, "Mange de la marde, espèce d'idiot.",
                                            author_name="Troll")
        value = {"from": {"id": comment.author_id, "name": "Troll"}, "item": "comment",
                 "verb": "add", "comment_id": comment.id, "post_id": comment.post,
                 "parent_id": comment.post, "message": comment.text,
                 "created_time": int(comment.created_time.timestamp())}
        body = json.dumps({"object": "page", "entry": [
            {"id": PAGE, "time": int(time.time()), "changes": [{"field": "feed",
                                                               "value": value}]}]}).encode()
        signature = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        started = time.monotonic()
        answer = requests.post(url, data=body, timeout=30, headers={
            "X-Hub-Signature-256": f"sha256={signature}", "Content-Type": "application/json"})
        elapsed = time.monotonic() - started
        assert answer.status_code == 200 and answer.json() == {"handled": 1}
        assert remote(sandbox.url, comment.id)["hidden"] is True
        assert elapsed < 10
    finally:
        process.terminate()
        process.communicate(timeout=30)  # waits, and closes the pipes
