"""The console's Flask application: ``create_app(config, store)``.

Security is set here, for every page at once:

- every page but the login page needs a session (``_require_login``);
- session cookies are HttpOnly, SameSite=Lax, Secure when ``console.base_url`` is https, and
  end after ``console.session_minutes`` without activity or when the password changes;
- every POST carries a CSRF token (Flask-WTF ``CSRFProtect``);
- responses carry a strict Content-Security-Policy (no script at all), ``nosniff``, no framing;
- behind a reverse proxy, ``ProxyFix`` trusts ``console.proxy_hops`` proxies for the client's
  address and scheme.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlmodel import select
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from watcher.config import Config
from watcher.console import accounts
from watcher.console.i18n import _
from watcher.console.secret import load_secret_key
from watcher.console.templating import install_templating
from watcher.i18n import normalize, use_language
from watcher.store.db import Store
from watcher.store.models import Space, User, utcnow

log = logging.getLogger(__name__)

EXTENSION = "vigie_console"
# Endpoints reachable without a session.
PUBLIC_ENDPOINTS = frozenset({"console.login", "console.language", "static"})

CSP = "; ".join(
    (
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
# A stored digest, shown inside the console's sandboxed frame: its own inline styles only.
REPORT_CSP = "; ".join(
    (
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src data:",
        "frame-ancestors 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "sandbox",
    )
)


@dataclass
class Console:
    """What the views need: the configuration, the store, the throttles, the time zone."""

    config: Config
    store: Store
    login_policy: accounts.LoginPolicy
    tz: ZoneInfo
    ip_failures: int  # failed logins from one address within the lockout window
    _limiter: MovingWindowRateLimiter = field(init=False)
    _ip_item: RateLimitItemPerMinute = field(init=False)

    def __post_init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        minutes = max(1, int(self.login_policy.lockout.total_seconds() // 60))
        self._ip_item = RateLimitItemPerMinute(self.ip_failures, minutes)

    def ip_blocked(self, ip: str) -> bool:
        return not self._limiter.test(self._ip_item, "login", ip)

    def note_ip_failure(self, ip: str) -> None:
        self._limiter.hit(self._ip_item, "login", ip)

    def space_names(self) -> dict[str, str]:
        names = {space.id: space.name for space in self.config.spaces}
        with self.store.session() as db:
            for space_id, name in db.exec(select(Space.id, Space.name)).all():
                names.setdefault(space_id, name)
        return names


def console() -> Console:
    return current_app.extensions[EXTENSION]


def create_app(config: Config, store: Store, *, testing: bool = False) -> Flask:
    """Given the configuration and an open store, return the console's WSGI application."""
    app = Flask(__name__, static_folder="static", template_folder="templates")
    secure = config.console.base_url.lower().startswith("https://")
    minutes = config.console.session_minutes
    app.config.update(
        SECRET_KEY=load_secret_key(config),
        TESTING=testing,
        SESSION_COOKIE_NAME="vigie_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(minutes=minutes),
        SESSION_REFRESH_EACH_REQUEST=True,
        WTF_CSRF_TIME_LIMIT=minutes * 60,
        WTF_CSRF_SSL_STRICT=secure,
        MAX_CONTENT_LENGTH=256 * 1024,
        PREFERRED_URL_SCHEME="https" if secure else "http",
    )
    policy = accounts.LoginPolicy(
        max_failures=config.console.login_max_failures,
        lockout=dt.timedelta(minutes=config.console.login_lockout_minutes),
    )
    app.extensions[EXTENSION] = Console(
        config=config,
        store=store,
        login_policy=policy,
        tz=ZoneInfo(config.vigie.timezone),
        ip_failures=config.console.login_max_failures * 4,
    )
    if config.console.proxy_hops:
        hops = config.console.proxy_hops
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops
        )

    app.before_request(_load_user)
    app.before_request(_require_login)
    CSRFProtect(app)
    app.teardown_request(_leave_language)
    app.after_request(_security_headers)
    install_templating(app)

    from watcher.console.views import blueprint

    app.register_blueprint(blueprint)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    return app


def _load_user() -> None:
    """Find the session's account; end the session when it expired or the account changed."""
    g.user = None
    g.session_expired = False
    uid = session.get("uid")
    if uid is not None:
        now = utcnow().timestamp()
        seen = session.get("seen")
        limit = console().config.console.session_minutes * 60
        if not isinstance(seen, int | float) or now - seen > limit:
            session.clear()
            g.session_expired = True
        else:
            with console().store.session() as db:
                user = db.get(User, uid)
            fingerprint = accounts.password_fingerprint(user.password_hash) if user else None
            if user is None or user.disabled or session.get("pwd") != fingerprint:
                session.clear()
            else:
                session["seen"] = int(now)
                g.user = user
    language = g.user.language if g.user else session.get("lang")
    g.lang = normalize(language or console().config.vigie.language)
    g.language_scope = use_language(g.lang)
    g.language_scope.__enter__()


def _leave_language(_error: BaseException | None) -> None:
    scope = g.pop("language_scope", None)
    if scope is not None:
        scope.__exit__(None, None, None)


def _require_login() -> Any:
    if g.user is not None or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    target = None
    if request.method == "GET" and request.endpoint not in (None, "console.index"):
        target = request.full_path.rstrip("?")
    return redirect(
        url_for("console.login", next=target, expired=1 if g.session_expired else None)
    )


def _security_headers(response: Any) -> Any:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


def _csrf_error(error: CSRFError) -> Any:
    log.warning("CSRF refused on %s: %s", request.path, error.description)
    message = _(
        "This form has expired or did not come from the console. Go back, reload the page "
        "and try again."
    )
    return render_template("error.html", code=400, message=message), 400


def _http_error(error: HTTPException) -> Any:
    messages = {
        403: _("Your account is not allowed to do this."),
        404: _("This page does not exist, or your account cannot see it."),
        405: _("This address cannot be used this way."),
        413: _("The form sent is too large."),
    }
    code = error.code or 500
    message = messages.get(code, _("The request could not be handled."))
    return render_template("error.html", code=code, message=message), code
