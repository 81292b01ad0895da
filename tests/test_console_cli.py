"""`vigie users` and `vigie console` as an administrator runs them (real processes, real store)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlmodel import select

from tests.support import free_port
from watcher.cli import main
from watcher.console import accounts
from watcher.store.db import open_store
from watcher.store.models import AuditEvent, Space, User

VIGIE = [sys.executable, "-m", "watcher.cli"]
PASSWORD = "un mot de passe assez long"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def vigie(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run ``vigie ARGS`` in this process (standard input given as text), as the shell would."""

    def run(*args: str, stdin: str | None = None) -> Result:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def setup(tmp_path: Path) -> tuple[Path, str]:
    """A configuration (no space: the store knows the directions) and a migrated store."""
    url = f"sqlite:///{tmp_path / 'vigie.db'}"
    config = tmp_path / "vigie.toml"
    config.write_text(
        f'[vigie]\nstate_dir = "{tmp_path / "state"}"\n[store]\nurl = "{url}"\n'
        '[console]\nlisten = "127.0.0.1:0"\nproxy_hops = 0\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    store = open_store(url)
    with store.session() as db:
        db.add(Space(id="ecole-a", platform="facebook", platform_id="1", name="École A",
                     owner="École secondaire A", mode="enforce"))
    store.dispose()
    return config, url


def users(url: str) -> dict[str, User]:
    store = open_store(url, migrate=False)
    with store.session() as db:
        found = {u.username: u for u in db.exec(select(User))}
    store.dispose()
    return found


def test_users_add_list_passwd_disable(tmp_path: Path, vigie: Any) -> None:
    config, url = setup(tmp_path)
    c = str(config)
    added = vigie("-c", c, "users", "add", "Marie", "--role", "moderation", "--name",
                  "Marie Gagnon", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "Compte « marie » créé (rôle moderation, portée *)" in added.stdout
    scoped = vigie("-c", c, "users", "add", "dir-a", "--role", "lecture", "--scope",
                   "École secondaire A", "--password-stdin", stdin=PASSWORD)
    assert scoped.returncode == 0, scoped.stderr
    found = users(url)
    assert found["marie"].role == "moderation" and found["marie"].scope == "*"
    assert found["marie"].password_hash.startswith("$argon2id$")
    assert PASSWORD not in found["marie"].password_hash
    assert accounts.verify_password(found["marie"].password_hash, PASSWORD)
    assert found["dir-a"].scope == "École secondaire A"

    listing = vigie("-c", c, "users", "list")
    assert listing.returncode == 0
    assert "marie" in listing.stdout and "Marie Gagnon" in listing.stdout
    assert "École secondaire A" in listing.stdout and "actif" in listing.stdout

    new_password = "un autre mot de passe long"
    changed = vigie("-c", c, "users", "passwd", "marie", "--password-stdin", stdin=new_password)
    assert changed.returncode == 0, changed.stderr
    assert accounts.verify_password(users(url)["marie"].password_hash, new_password)

    disabled = vigie("-c", c, "users", "disable", "dir-a")
    assert disabled.returncode == 0 and "désactivé" in disabled.stdout
    assert users(url)["dir-a"].disabled
    assert "désactivé" in vigie("-c", c, "users", "list").stdout
    enabled = vigie("-c", c, "users", "disable", "dir-a", "--enable")
    assert enabled.returncode == 0 and not users(url)["dir-a"].disabled

    store = open_store(url, migrate=False)
    with store.session() as db:
        kinds = [e.kind for e in db.exec(select(AuditEvent))]
    store.dispose()
    assert kinds == ["user.add", "user.add", "user.passwd", "user.disable", "user.enable"]


def test_users_refusals_are_clear_and_change_nothing(tmp_path: Path, vigie: Any) -> None:
    config, url = setup(tmp_path)
    c = str(config)
    short = vigie("-c", c, "users", "add", "paul", "--role", "lecture", "--password-stdin",
                  stdin="court")
    assert short.returncode == 1
    assert "au moins 12 caractères" in short.stderr and "Traceback" not in short.stderr
    scope = vigie("-c", c, "users", "add", "paul", "--role", "lecture", "--scope", "Inconnue",
                  "--password-stdin", stdin=PASSWORD)
    assert scope.returncode == 1
    assert "Aucun espace n’appartient à la direction « Inconnue »" in scope.stderr
    assert "École secondaire A" in scope.stderr
    role = vigie("-c", c, "users", "add", "paul", "--role", "admin", "--password-stdin",
                 stdin=PASSWORD)
    assert role.returncode == 2
    no_terminal = vigie("-c", c, "users", "add", "paul", "--role", "lecture", stdin="")
    assert no_terminal.returncode == 1 and "--password-stdin" in no_terminal.stderr
    assert users(url) == {}
    vigie("-c", c, "users", "add", "paul", "--role", "lecture", "--password-stdin",
          stdin=PASSWORD)
    again = vigie("-c", c, "users", "add", "Paul", "--role", "lecture", "--password-stdin",
                  stdin=PASSWORD)
    assert again.returncode == 1 and "existe déjà" in again.stderr
    missing = vigie("-c", c, "users", "passwd", "nobody", "--password-stdin", stdin=PASSWORD)
    assert missing.returncode == 1 and "Aucun compte" in missing.stderr
    assert list(users(url)) == ["paul"]



def test_vigie_console_serves_the_login_page_with_waitress(tmp_path: Path) -> None:
    config, _url = setup(tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    process = subprocess.Popen(
        [*VIGIE, "-c", str(config), "console", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        deadline = time.monotonic() + 30
        response = None
        while time.monotonic() < deadline:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/queue", timeout=5,
                                        allow_redirects=False)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert response is not None, "the console did not start"
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        login = requests.get(f"http://127.0.0.1:{port}/login", timeout=5)
        assert login.status_code == 200 and "Connexion" in login.text
        assert login.headers["Server"] == "vigie-console"
        key = tmp_path / "state" / "console-secret.key"
        assert key.stat().st_mode & 0o077 == 0
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]


def test_vigie_console_refuses_a_store_not_migrated(tmp_path: Path, vigie: Any) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    config = tmp_path / "vigie.toml"
    config.write_text(f'[vigie]\nstate_dir = "{tmp_path}"\n[store]\nurl = "{url}"\n',
                      encoding="utf-8")
    result = vigie("-c", str(config), "console", "--listen", "127.0.0.1:0")
    assert result.returncode == 1
    assert "vigie db upgrade" in result.stderr and "Traceback" not in result.stderr
