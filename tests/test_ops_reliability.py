"""Reliability: the daemon killed at random moments, faults of every kind, SIGTERM mid-cycle.

The sandbox platform and the daemon (`vigie run`) each run in their own process, as in
production; the store is the daemon's SQLite file, read from outside. Random moments come from
a seeded generator (``VIGIE_RELIABILITY_SEED``, default 20261128) so a failure can be replayed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.ops_support import (
    DaemonProcess,
    SandboxProcess,
    config_text,
    kill_leftovers,
    query,
    vigie,
    wait_for,
    write_config,
)
from tests.support import TOKEN, fault, graph_hides, post_comment, remote, space_toml

pytest.importorskip("connectors.facebook")

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("VIGIE_RELIABILITY_SEED", "20261128"))
LITIGIOUS = [
    "Mange de la marde, espèce d'idiot.",
    "Je vais te tuer à la sortie de l'école.",
    "T'es un idiot fini, le directeur.",
]
ACCEPTABLE = [
    "Merci pour l'information sur la rentrée, bonne journée à toute l'équipe!",
    "Est-ce que l'horaire du transport scolaire change en janvier?",
    "Cette décision sur le transport est mal communiquée et injuste pour les familles.",
    "Bravo aux élèves pour le spectacle de fin d'année.",
]


@pytest.fixture
def sandbox_process(tmp_path: Path):
    server = SandboxProcess(tmp_path / "sandbox.log")
    try:
        yield server
    finally:
        kill_leftovers()  # before the sandbox goes: no daemon outlives its test
        server.stop()


def _hide_posts(url: str) -> Counter:
    """Count the hide requests made per comment (alone or inside a batch request)."""
    return Counter(graph_hides(url))


@pytest.mark.timeout(1200)  # tens of Python start-ups: slow on a loaded 2-core machine
def test_sigkill_at_random_moments_loses_and_repeats_nothing(
    sandbox_process: SandboxProcess, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    url = sandbox_process.url
    pages = [f"1000640000031{n}" for n in range(8)]
    config = write_config(
        tmp_path / "vigie.toml",
        config_text(tmp_path / "state",
                    [space_toml(f"p{n}", url, platform_id=page) for n, page in enumerate(pages)]),
    )
    db = tmp_path / "state" / "vigie.db"
    log = tmp_path / "daemon.log"
    posted: dict[str, bool] = {}  # platform id -> litigious
    serial = 0

    def post_some(count: int) -> None:
        nonlocal serial
        for _ in range(count):
            serial += 1
            litigious = rng.random() < 0.4
            text = rng.choice(LITIGIOUS if litigious else ACCEPTABLE)
            cid = post_comment(url, rng.choice(pages), f"{text} ({serial})",
                               author_id=f"a{serial}", author_name=f"Personne {serial}")
            posted[cid] = litigious

    lives = sigterms = 0
    started = time.monotonic()
    while True:
        cycles = query(db, "SELECT count(*) FROM poll_runs")
        if lives >= 20 and cycles and cycles[0][0] >= 100:
            break
        assert lives < 120, "fewer than 100 cycles in 120 lives"
        post_some(rng.randint(0, 4))
        last_run = (query(db, "SELECT max(id) FROM poll_runs") or [(None,)])[0][0] or 0
        daemon = DaemonProcess(config, log)
        lives += 1
        if lives % 5 == 0:
            time.sleep(rng.uniform(0.1, 2.5))  # during start-up: migrations, recovery
        else:
            # Once its first cycle has begun (however slow the machine is to start Python):
            # mid-fetch, mid-classification, mid-action, or idle between cycles.
            wait_for(lambda d=daemon, last=last_run: query(
                db, "SELECT 1 FROM poll_runs WHERE id > ?", last) or not d.alive(),
                timeout=60, every=0.05)
            assert daemon.alive(), log.read_text(encoding="utf-8")[-3000:]
            time.sleep(rng.uniform(0.0, 2.0))
        if lives % 7 == 3:
            # Now and then a polite stop instead: the cycle in flight ends, nothing is left open.
            code = daemon.terminate()
            sigterms += 1
            # Before its handlers are set (Python still importing) the process just ends,
            # and then it has written nothing; afterwards it always exits cleanly.
            assert code == 0 or (code == -signal.SIGTERM and query(
                db, "SELECT count(*) FROM poll_runs WHERE id > ?", last_run) in ([], [(0,)]))
            assert query(db, "SELECT count(*) FROM actions WHERE state = 'in_flight'") in (
                [], [(0,)])
            assert query(db, "SELECT count(*) FROM poll_runs WHERE finished_at IS NULL "
                             "AND id > ?", last_run) in ([], [(0,)])
        else:
            daemon.kill()
    killed_for = time.monotonic() - started

    # One last life, left to finish: everything posted is judged and acted on.
    post_some(3)
    daemon = DaemonProcess(config, log)
    try:
        def settled() -> bool:
            rows = query(db, "SELECT count(*) FROM comments WHERE classified = 1")
            open_actions = query(
                db, "SELECT count(*) FROM actions WHERE state IN ('requested', 'in_flight')")
            return bool(rows and rows[0][0] == len(posted) and open_actions == [(0,)])

        wait_for(settled, timeout=90)
    finally:
        assert daemon.terminate() == 0

    cycles = query(db, "SELECT count(*), sum(ok) FROM poll_runs")[0]
    print(f"seed {SEED}: {lives} lives ({sigterms} SIGTERM), {cycles[0]} cycles started "
          f"({cycles[1]} ok), {len(posted)} comments, {killed_for:.0f} s of kills")

    # Every comment posted is stored once and classified exactly once.
    stored = Counter(pid for (pid,) in query(db, "SELECT platform_id FROM comments"))
    assert set(stored) == set(posted)
    assert max(stored.values()) == 1
    verdicts = Counter(cid for (cid,) in query(db, "SELECT comment_id FROM verdicts"))
    assert len(verdicts) == len(posted) and max(verdicts.values()) == 1

    # No platform action twice.
    hides = _hide_posts(url)
    assert hides and max(hides.values()) == 1, hides.most_common(3)

    # No litigious comment left visible; nothing acceptable hidden.
    decisions = dict(query(
        db, "SELECT c.platform_id, v.decision FROM comments c JOIN verdicts v "
            "ON v.comment_id = c.id"))
    for cid, litigious in posted.items():
        state = remote(url, cid)
        if decisions[cid] == "hide":
            assert state["hidden"], cid
        if litigious:
            assert decisions[cid] == "hide" and state["hidden"], (cid, state["text"])
        else:
            assert not state["hidden"], (cid, state["text"])
    assert set(hides) == {cid for cid, d in decisions.items() if d == "hide"}

    # The audit chain survived every kill.
    result = vigie(config, "audit", "verify")
    assert result.returncode == 0, result.stderr
    text = log.read_text(encoding="utf-8")
    assert "Traceback" not in text
    assert TOKEN not in text


def _scan_for_secrets(secrets: list[str], texts: dict[str, str], folder: Path) -> None:
    """Fail if any secret appears in the texts or in any file under ``folder`` (the store and
    its WAL included, byte for byte)."""
    for name, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"a secret appears in {name}"
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"a secret appears in {path}"


@pytest.mark.timeout(900)
def test_platform_faults_are_survived_reported_and_caught_up(
    sandbox_process: SandboxProcess, tmp_path: Path
) -> None:
    url = sandbox_process.url
    pages = {
        "ok": "100064000000401",
        "err500": "100064000000402",
        "slow": "100064000000403",
        "limited": "100064000000404",
        "expired": "100064000000405",
    }
    old_token, new_token = "EAAB-old-" + os.urandom(8).hex(), "EAAB-new-" + os.urandom(8).hex()
    smtp_password = "smtp-" + os.urandom(8).hex()
    requests_post(f"{url}/_sandbox/graph/tokens", {
        "token": old_token, "space": pages["expired"], "bind": True,
        "expires_at": "2026-01-01T00:00:00+0000"})
    spaces = [
        space_toml(name, url, platform_id=page,
                   secrets='{ page_token = "env:EXPIRED_TOKEN" }' if name == "expired" else None,
                   extra="request_timeout = 1.0" if name == "slow" else "")
        for name, page in pages.items()
    ]
    # SMTP down: nothing listens on this port.
    smtp = ('[smtp]\nhost = "127.0.0.1"\nport = 9\nsecurity = "none"\nusername = "vigie"\n'
            'password = "env:SMTP_PASSWORD"\nsender = "vigie@csjonquiere.qc.ca"\ntimeout = 2\n'
            '[alerts]\nrecipients = ["communications@csjonquiere.qc.ca"]\n')
    config = write_config(tmp_path / "vigie.toml",
                          config_text(tmp_path / "state", spaces, extra=smtp))
    log = tmp_path / "daemon.log"
    insults = {name: post_comment(url, page, f"{LITIGIOUS[0]} [{name}]", author_id=f"i-{name}")
               for name, page in pages.items()}
    threat = post_comment(url, pages["ok"], LITIGIOUS[1], author_id="t-1")  # an alert to send
    fault(url, platform="facebook", space=pages["err500"], kind="http500", count=2)
    fault(url, platform="facebook", space=pages["slow"], kind="timeout", delay=3, count=2)
    fault(url, platform="facebook", space=pages["limited"], kind="error", code=80001, count=1)
    env = {"EXPIRED_TOKEN": old_token, "SMTP_PASSWORD": smtp_password}
    outputs: dict[str, str] = {}

    daemon = DaemonProcess(config, log, env)
    try:
        # The healthy space is not held up by the others.
        wait_for(lambda: remote(url, insults["ok"])["hidden"] and remote(url, threat)["hidden"],
                 timeout=60)
        # Each fault is said, in one line naming the space.
        for name in ("err500", "slow", "limited", "expired"):
            wait_for(lambda name=name: f"Espace {name} " in log.read_text(encoding="utf-8")
                     or f"Espace {name}:" in log.read_text(encoding="utf-8"), timeout=60)
        status = vigie(config, "status", "--json", env=env)
        outputs["status --json (faults)"] = status.stdout + status.stderr
        assert status.returncode == 3, status.stdout + status.stderr
        report = {s["id"]: s for s in json.loads(status.stdout)["spaces"]}
        assert report["expired"]["state"] == "unhealthy" and report["expired"]["problems"]
        assert report["ok"]["problems"] == []
        assert daemon.alive()
        # The expired token: the sysadmin puts a new one in and restarts the service.
        requests_post(f"{url}/_sandbox/graph/tokens",
                      {"token": new_token, "space": pages["expired"], "bind": True})
        assert daemon.terminate() == 0
        env["EXPIRED_TOKEN"] = new_token
        daemon = DaemonProcess(config, log, env)
        wait_for(lambda: remote(url, insults["expired"])["hidden"], timeout=60)
        # Transient faults clear by themselves: those spaces catch up (the rate-limited one
        # after the minute the platform asked for, restart or not).
        for name in ("err500", "slow", "limited"):
            wait_for(lambda name=name: remote(url, insults[name])["hidden"], timeout=120)
        # A hide may be done by the actions job before the space's next poll has cleared its
        # health: the state is "ok" again by that poll (the interval is 10 s here).
        def recovered() -> bool:
            status = vigie(config, "status", "--json", env=env)
            outputs["status --json (recovered)"] = status.stdout + status.stderr
            spaces = json.loads(status.stdout)["spaces"]
            return all(s["state"] == "ok" for s in spaces)

        try:
            wait_for(recovered, timeout=90, every=2)
        except AssertionError:
            raise AssertionError(outputs["status --json (recovered)"]) from None
    finally:
        code = daemon.terminate()
    assert code == 0
    hides = _hide_posts(url)
    assert max(hides.values()) == 1
    text = log.read_text(encoding="utf-8")
    outputs["daemon log"] = text
    for command in (["status"], ["audit", "verify"], ["check"]):
        result = vigie(config, *command, env=env)
        outputs[" ".join(command)] = result.stdout + result.stderr
    assert "Traceback" not in text
    # SMTP down: the urgent alert is kept, with its error, to be sent again (nothing lost).
    alerts = query(tmp_path / "state" / "vigie.db",
                   "SELECT status, last_error FROM reports WHERE kind = 'alert'")
    assert alerts and all(status != "sent" and error for status, error in alerts), alerts
    _scan_for_secrets([TOKEN, old_token, new_token, smtp_password], outputs, tmp_path / "state")


def requests_post(url: str, body: dict) -> None:
    import requests

    requests.post(url, json=body, timeout=10).raise_for_status()


def _store_fault_config(url: str, tmp_path: Path, state: Path, page: str) -> Path:
    return write_config(
        tmp_path / "vigie.toml",
        config_text(state, [space_toml("page", url, platform_id=page)],
                    extra="[store]\nbusy_timeout_ms = 500\n"),
    )


def _problem_lines(log: Path, needle: str) -> list[str]:
    return [line for line in log.read_text(encoding="utf-8").splitlines() if needle in line]


def test_store_locked_is_survived_and_caught_up(
    sandbox_process: SandboxProcess, tmp_path: Path
) -> None:
    url, page = sandbox_process.url, "100064000000501"
    state = tmp_path / "state"
    config = _store_fault_config(url, tmp_path, state, page)
    log = tmp_path / "daemon.log"
    first = post_comment(url, page, LITIGIOUS[0], author_id="l-1")
    daemon = DaemonProcess(config, log)
    try:
        wait_for(lambda: remote(url, first)["hidden"], timeout=60)
        # Another program holds the store's write lock for longer than the busy timeout.
        import sqlite3

        blocker = sqlite3.connect(state / "vigie.db", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            during = post_comment(url, page, LITIGIOUS[2], author_id="l-2")
            wait_for(lambda: _problem_lines(log, "database is locked"), timeout=60)
            assert daemon.alive()
            assert not remote(url, during)["hidden"]
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        wait_for(lambda: remote(url, during)["hidden"], timeout=60)
    finally:
        assert daemon.terminate() == 0
    text = log.read_text(encoding="utf-8")
    assert "Traceback" not in text
    assert max(_hide_posts(url).values()) == 1


def test_state_directory_full_is_survived_and_caught_up(
    sandbox_process: SandboxProcess, tmp_path: Path
) -> None:
    import subprocess

    state = tmp_path / "state"
    state.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(state)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        url, page = sandbox_process.url, "100064000000601"
        config = _store_fault_config(url, tmp_path, state, page)
        log = tmp_path / "daemon.log"
        first = post_comment(url, page, LITIGIOUS[0], author_id="f-1")
        daemon = DaemonProcess(config, log)
        try:
            wait_for(lambda: remote(url, first)["hidden"], timeout=60)
            filler = state / "filler"
            descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
            try:  # fill the file system to its last block
                while os.write(descriptor, b"\0" * 65536):
                    pass
            except OSError:
                pass
            finally:
                os.close(descriptor)
            during = [post_comment(url, page, f"{LITIGIOUS[2]} ({n})", author_id=f"f-{n}")
                      for n in range(2, 40)]
            wait_for(lambda: _problem_lines(log, "disk is full"),
                     timeout=60)
            assert daemon.alive()
            filler.unlink()
            wait_for(lambda: all(remote(url, c)["hidden"] for c in during), timeout=90)
        finally:
            assert daemon.terminate() == 0
        text = log.read_text(encoding="utf-8")
        assert "Traceback" not in text
        assert max(_hide_posts(url).values()) == 1
        stored = query(state / "vigie.db", "SELECT count(*), sum(classified) FROM comments")
        assert stored == [(len(during) + 1, len(during) + 1)]
    finally:
        subprocess.run(["umount", "-l", str(state)], check=False)
