"""The daemon's Prometheus endpoint: what a sysadmin's scraper reads, on the real daemon."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support import (
    TOKEN,
    fault,
    free_port,
    make_config,
    make_runtime,
    post_comment,
    remote,
    space_toml,
)
from watcher.config import Config
from watcher.daemon import Daemon

PAGE = "100064000000031"
BROKEN_PAGE = "100064000000032"
INSULT = "Ferme ta gueule, espèce de crisse d'idiot."



def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = requests.get(url, timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_metrics_follow_the_daemon_and_the_store(sandbox, tmp_path: Path) -> None:
    port = free_port()
    config: Config = make_config(
        tmp_path / "state",
        [space_toml("page", sandbox.url, platform_id=PAGE),
         space_toml("broken", sandbox.url, platform_id=BROKEN_PAGE)],
        extra=f'[metrics]\nenabled = true\nlisten = "127.0.0.1:{port}"\n',
    )
    fault(sandbox.url, platform="facebook", space=BROKEN_PAGE, kind="error", code=190, count=1000)
    daemon = Daemon(config, runtime_factory=lambda c: make_runtime(c))
    comment = post_comment(sandbox.url, PAGE, INSULT, author_id="m-1")
    post_comment(sandbox.url, BROKEN_PAGE, "Bonne rentrée à tous!", author_id="m-2")
    daemon.start()
    try:
        deadline = time.monotonic() + 60
        while not remote(sandbox.url, comment)["hidden"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert remote(sandbox.url, comment)["hidden"]
        url = f"http://127.0.0.1:{port}/metrics"
        # The two spaces are polled side by side: the broken one's failed cycle may end a moment
        # after the other space's hide.
        samples = _samples(url)
        while _value(samples, "vigie_poll_cycles_total", space="broken", outcome="error") is None \
                and time.monotonic() < deadline:
            time.sleep(0.2)
            samples = _samples(url)
        assert _value(samples, "vigie_store_up") == 1
        assert _value(samples, "vigie_space_hidden", space="page", platform="facebook") == 1
        assert _value(samples, "vigie_space_comments", space="page", platform="facebook") == 1
        assert _value(samples, "vigie_poll_cycles_total", space="page", outcome="ok") >= 1
        assert _value(samples, "vigie_comments_stored_total", space="page") == 1
        assert _value(samples, "vigie_space_state", space="page", platform="facebook",
                      mode="enforce", state="ok") == 1
        assert _value(samples, "vigie_space_last_good_poll_timestamp_seconds", space="page",
                      platform="facebook") > time.time() - 120
        # The failing space is counted and shown, the other unaffected.
        assert _value(samples, "vigie_poll_cycles_total", space="broken", outcome="error") >= 1
        assert _value(samples, "vigie_space_problems", space="broken", platform="facebook") >= 1
        assert _value(samples, "vigie_attention") == 1
        text = requests.get(url, timeout=10).text
        assert "idiot" not in text and TOKEN not in text  # never a comment or a secret
    finally:
        daemon.stop()
    # Stopping the daemon closes the endpoint.
    try:
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
        raise AssertionError("the endpoint still answers after stop")
    except requests.ConnectionError:
        pass


def test_metrics_are_off_by_default_and_a_busy_port_is_one_sentence(tmp_path: Path) -> None:
    from watcher.errors import UsageError
    from watcher.metrics import Metrics

    assert make_config(tmp_path, []).metrics.enabled is False
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        try:
            Metrics(lambda: None).serve(f"127.0.0.1:{port}")
            raise AssertionError("a busy port was accepted")
        except UsageError as error:
            assert f"127.0.0.1:{port}" in str(error)
