"""Security of the review console, with the Flask test client on a real store (both backends)."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from tests.console_fixtures import (
    PASSWORD,
    add_comment,
    add_user,
    login,
    make_config,
    page_token,
    seed_spaces,
)
from watcher import audit
from watcher.config import Config
from watcher.console import create_app
from watcher.console.secret import KEY_FILE
from watcher.store.db import Store
from watcher.store.models import Action, AuditEvent, Comment, ReviewLabel, User, utcnow

HOSTILE = '<script>alert("x")</script><img src=x onerror="alert(1)"><b>gras</b> fin'


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def app(config: Config, store: Store) -> Any:
    seed_spaces(store, config)
    add_user(store, config, "marie", "moderation")
    add_user(store, config, "luc", "lecture")
    add_user(store, config, "dir-a", "moderation", scope="École secondaire A")
    return create_app(config, store, testing=True)


def _ids(store: Store) -> dict[str, int]:
    return {
        "a": add_comment(store, "ecole-a", "Texte de l'école A, propos injurieux", platform_id="ca"),
        "b": add_comment(store, "ecole-b", "Texte de l'école B, propos injurieux", platform_id="cb"),
    }


def test_nothing_but_the_login_page_without_a_session(app: Any, store: Store) -> None:
    ids = _ids(store)
    client = app.test_client()
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        values = {name: ids["a"] for name in rule.arguments}
        path = rule.build(values)[1] if rule.arguments else rule.rule
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.append((method, path))
    paths += [("GET", "/does-not-exist"), ("GET", "/items/999999"), ("POST", "/queue")]
    assert len(paths) > 8
    for method, path in paths:
        response = client.open(path, method=method)
        if path == "/login" and method == "GET":
            assert response.status_code == 200, path
            continue
        if path in ("/login", "/language"):  # public forms, but still need their CSRF token
            assert response.status_code == 400
            continue
        assert response.status_code == 302, (method, path, response.status_code)
        assert response.headers["Location"].startswith("/login"), (method, path)
        assert "propos injurieux" not in response.get_data(as_text=True)
    login_page = client.get("/login").get_data(as_text=True)
    assert "propos injurieux" not in login_page
    assert 'name="password"' in login_page


def test_lecture_account_cannot_act(app: Any, store: Store) -> None:
    ids = _ids(store)
    client = app.test_client()
    assert login(client, "luc").status_code == 302
    page = client.get(f"/items/{ids['a']}").get_data(as_text=True)
    assert "propos injurieux" in page  # it can read
    assert 'name="decision"' not in page  # but is offered no decision
    token = page_token(client, "/queue")
    for decision in ("restore", "confirm", "false_alarm", "delete"):
        response = client.post(
            f"/items/{ids['a']}/decide", data={"decision": decision, "csrf_token": token}
        )
        assert response.status_code == 403
    response = client.post(
        "/queue/bulk", data={"decision": "restore", "ids": [ids["a"]], "csrf_token": token}
    )
    assert response.status_code == 403
    with store.session() as db:
        assert db.exec(select(Action)).all() == []
        assert db.exec(select(ReviewLabel)).all() == []
        assert db.get(Comment, ids["a"]).review_status == "none"


def test_scoped_account_sees_no_other_direction(app: Any, store: Store) -> None:
    ids = _ids(store)
    client = app.test_client()
    login(client, "dir-a")
    queue = client.get("/queue?status=all").get_data(as_text=True)
    assert "Texte de l&#39;école A" in queue
    assert "école B" not in queue and "École B" not in queue
    assert client.get(f"/items/{ids['b']}").status_code == 404
    # Asking for the other space by name is ignored, not obeyed.
    filtered = client.get("/queue?space=ecole-b&status=all").get_data(as_text=True)
    assert "école B" not in filtered
    token = page_token(client, "/queue")
    response = client.post(
        f"/items/{ids['b']}/decide", data={"decision": "restore", "csrf_token": token}
    )
    assert response.status_code == 404
    client.post(
        "/queue/bulk",
        data={"decision": "restore", "ids": [ids["b"], ids["a"]], "csrf_token": token},
    )
    with store.session() as db:
        assert db.get(Comment, ids["b"]).review_status == "none"
        assert db.get(Comment, ids["a"]).review_status == "restored"
        requested = db.exec(select(Action)).all()
    assert [a.comment_id for a in requested] == [ids["a"]]


def test_post_without_csrf_token_is_refused(app: Any, store: Store) -> None:
    ids = _ids(store)
    client = app.test_client()
    login(client, "marie")
    response = client.post(f"/items/{ids['a']}/decide", data={"decision": "restore"})
    assert response.status_code == 400
    response = client.post(
        f"/items/{ids['a']}/decide", data={"decision": "restore", "csrf_token": "forged"}
    )
    assert response.status_code == 400
    response = client.post("/queue/bulk", data={"decision": "restore", "ids": [ids["a"]]})
    assert response.status_code == 400
    # A token taken from another session is refused too.
    other = app.test_client()
    login(other, "luc")
    foreign = page_token(other, "/queue")
    response = client.post(
        f"/items/{ids['a']}/decide", data={"decision": "restore", "csrf_token": foreign}
    )
    assert response.status_code == 400
    with store.session() as db:
        assert db.get(Comment, ids["a"]).review_status == "none"
        assert db.exec(select(Action)).all() == []
    # The login form itself needs its token.
    fresh = app.test_client()
    response = fresh.post("/login", data={"username": "marie", "password": PASSWORD})
    assert response.status_code == 400


def test_html_and_script_in_a_comment_show_as_text(app: Any, store: Store) -> None:
    comment_id = add_comment(store, "ecole-a", HOSTILE, platform_id="evil",
                             author='<i onmouseover="x()">Hostile</i>')
    with store.session() as db:
        comment = db.get(Comment, comment_id)
        comment.permalink = "javascript:alert(document.cookie)"
        db.add(comment)
    client = app.test_client()
    login(client, "marie")
    for path in ("/queue", f"/items/{comment_id}"):
        response = client.get(path)
        page = response.get_data(as_text=True)
        assert "<script>" not in page
        assert "<img src=x" not in page
        assert "<b>gras</b>" not in page
        assert '<i onmouseover' not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
        assert "&lt;i onmouseover=" in page
        assert "javascript:" not in page
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_login_throttling_locks_the_account(app: Any, store: Store, config: Config) -> None:
    client = app.test_client()
    limit = config.console.login_max_failures
    for _attempt in range(limit - 1):
        assert login(client, "marie", "wrong password!").status_code == 401
    response = login(client, "marie", "wrong password!")
    assert response.status_code == 429
    assert "verrouillé" in response.get_data(as_text=True)
    # Locked: even the right password is refused.
    assert login(client, "marie").status_code == 429
    with store.session() as db:
        user = db.exec(select(User).where(User.username == "marie")).one()
        assert user.locked_until is not None and user.locked_until > utcnow()
        kinds = [e.kind for e in db.exec(select(AuditEvent))]
        assert "console.login_locked" in kinds
        assert audit.verify(db) == []
        user.locked_until = utcnow() - dt.timedelta(seconds=1)  # the lock has run out
        db.add(user)
    assert login(client, "marie").status_code == 302


def test_login_throttling_per_address(app: Any, store: Store, config: Config) -> None:
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    per_ip = config.console.login_max_failures * 4
    for index in range(per_ip):
        # A different unknown name each time: no account gets locked, the address does.
        assert login(attacker, f"nobody{index}", "x" * 12).status_code == 401
    assert login(attacker, "marie").status_code == 429
    neighbour = app.test_client()
    neighbour.environ_base["REMOTE_ADDR"] = "192.0.2.11"
    assert login(neighbour, "marie").status_code == 302


def test_session_expires_after_inactivity(app: Any, store: Store, config: Config) -> None:
    client = app.test_client()
    login(client, "marie")
    assert client.get("/queue").status_code == 200
    with client.session_transaction() as session:
        session["seen"] = int(utcnow().timestamp()) - config.console.session_minutes * 60 - 5
    response = client.get("/queue")
    assert response.status_code == 302
    assert "expired=1" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Votre session a expiré" in page
    assert client.get("/queue").status_code == 302  # the session is gone, not just refused


def test_password_change_and_disabling_end_sessions(app: Any, store: Store) -> None:
    from watcher.console import accounts

    client = app.test_client()
    login(client, "marie")
    assert client.get("/queue").status_code == 200
    with store.session() as db:
        accounts.set_password(db, "marie", "another long password")
    assert client.get("/queue").status_code == 302
    login(client, "marie", "another long password")
    assert client.get("/queue").status_code == 200
    with store.session() as db:
        accounts.set_disabled(db, "marie", True)
    assert client.get("/queue").status_code == 302
    assert login(client, "marie", "another long password").status_code == 401


def test_session_cookie_flags(tmp_path: Path, store: Store) -> None:
    plain = make_config(tmp_path / "plain")
    seed_spaces(store, plain)
    add_user(store, plain, "marie", "moderation")
    response = login(create_app(plain, store).test_client(), "marie")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = make_config(tmp_path / "tls", base_url="https://vigie.example.org")
    app = create_app(secure, store)
    client = app.test_client()
    page = client.get("/login", base_url="https://vigie.example.org")
    assert "Secure" in page.headers["Set-Cookie"]
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")


def test_secret_key_generated_once_with_private_mode(tmp_path: Path, store: Store) -> None:
    config = make_config(tmp_path)
    first = create_app(config, store).secret_key
    path = config.vigie.state_dir / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert create_app(config, store).secret_key == first  # reused: sessions survive a restart
    path.chmod(0o644)
    from watcher.errors import ConfigError

    with pytest.raises(ConfigError, match="chmod 600"):
        create_app(config, store)


def test_secret_key_from_a_reference(tmp_path: Path, store: Store, monkeypatch: Any) -> None:
    monkeypatch.setenv("VIGIE_TEST_CONSOLE_KEY", "k" * 48)
    config = make_config(tmp_path, secret_key="env:VIGIE_TEST_CONSOLE_KEY")
    assert create_app(config, store).secret_key == "k" * 48
    assert not (config.vigie.state_dir / KEY_FILE).exists()
