"""Console accounts: argon2 password hashes, roles, scopes and login throttling.

Roles:

- ``lecture``: reads the queue, the items, their history and the digests;
- ``moderation``: also confirms, restores, reclassifies and deletes (where the space allows it).

Scope: ``*`` (every space) or a direction, i.e. the ``owner`` of spaces in the configuration;
a scoped account sees only the spaces of its direction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, col, select

from watcher import audit
from watcher.config import Config
from watcher.console.i18n import _
from watcher.errors import UsageError
from watcher.store.models import Space, User, utcnow

ROLES = ("lecture", "moderation")
ALL_SPACES = "*"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@\-]{1,119}$")

_hasher = PasswordHasher()
# Verified when the username is unknown, so that a miss takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("vigie-dummy-password-for-timing")


def hash_password(password: str) -> str:
    """Given a password, return its argon2id hash. Raise UsageError if it is too weak."""
    check_password_strength(password)
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    """Raise UsageError if the password is too short or too long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsageError(
            _("The password must have at least {count} characters.").format(
                count=MIN_PASSWORD_LENGTH
            )
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UsageError(_("The password is too long."))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Return True when the password matches the hash (a missing hash never matches)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_fingerprint(password_hash: str) -> str:
    """A short digest of the hash kept in the session: a new password ends older sessions."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:16]


def normalize_username(username: str) -> str:
    return username.strip().lower()


def directions(config: Config, session: Session | None = None) -> list[str]:
    """Return the known directions: the owners of the configured (and stored) spaces."""
    owners = {space.owner for space in config.spaces}
    if session is not None:
        owners.update(session.exec(select(Space.owner)).all())
    return sorted(owners)


def validate_scope(config: Config, session: Session, scope: str) -> str:
    """Given a scope from the command line, return it. Raise UsageError if no space has it."""
    scope = scope.strip()
    if scope == ALL_SPACES:
        return scope
    known = directions(config, session)
    if scope not in known:
        raise UsageError(
            _("No space belongs to the direction “{scope}”. Known directions: {known}.").format(
                scope=scope, known=", ".join(known) or "—"
            )
        )
    return scope


def allowed_space_ids(config: Config, session: Session, scope: str) -> set[str] | None:
    """Given an account's scope, return the ids of the spaces it sees (None: every space).

    The configuration decides a space's direction; a space no longer configured keeps the
    direction the store last knew.
    """
    if scope == ALL_SPACES:
        return None
    configured = {space.id: space.owner for space in config.spaces}
    allowed = {space_id for space_id, owner in configured.items() if owner == scope}
    for space_id, owner in session.exec(select(Space.id, Space.owner)).all():
        if space_id not in configured and owner == scope:
            allowed.add(space_id)
    return allowed


def get_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == normalize_username(username))).first()


def require_user(session: Session, username: str) -> User:
    user = get_user(session, username)
    if user is None:
        raise UsageError(_("No account is named “{name}”.").format(name=username))
    return user


def add_user(
    session: Session,
    config: Config,
    username: str,
    password: str,
    *,
    role: str,
    scope: str = ALL_SPACES,
    display_name: str = "",
    language: str = "fr",
    actor: str = "cli",
) -> User:
    """Create an account. Raise UsageError if the name is taken or a value is refused."""
    name = normalize_username(username)
    if not USERNAME.match(name):
        raise UsageError(
            _(
                "“{name}” is not a valid account name: use 2 to 120 lowercase letters, digits, "
                "dots, dashes, _ or @."
            ).format(name=username)
        )
    if role not in ROLES:
        raise UsageError(
            _("Unknown role “{role}” (expected: {roles}).").format(role=role, roles=", ".join(ROLES))
        )
    if get_user(session, name) is not None:
        raise UsageError(_("An account named “{name}” already exists.").format(name=name))
    user = User(
        username=name,
        display_name=display_name.strip()[:200],
        password_hash=hash_password(password),
        role=role,
        scope=validate_scope(config, session, scope),
        language="en" if language == "en" else "fr",
    )
    session.add(user)
    session.flush()
    audit.record(
        session, actor, "user.add", details={"username": name, "role": role, "scope": user.scope}
    )
    return user


def set_password(session: Session, username: str, password: str, *, actor: str = "cli") -> User:
    """Change an account's password and lift any lock on it."""
    user = require_user(session, username)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    audit.record(session, actor, "user.passwd", details={"username": user.username})
    return user


def set_disabled(session: Session, username: str, disabled: bool, *, actor: str = "cli") -> User:
    """Disable (or enable again) an account; a disabled account's sessions end at once."""
    user = require_user(session, username)
    user.disabled = disabled
    session.add(user)
    audit.record(
        session,
        actor,
        "user.disable" if disabled else "user.enable",
        details={"username": user.username},
    )
    return user


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.username))).all())


# --- Login throttling ----------------------------------------------------------------------


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5  # consecutive failures before an account is locked
    lockout: dt.timedelta = dt.timedelta(minutes=15)


def is_locked(user: User, now: dt.datetime | None = None) -> bool:
    return user.locked_until is not None and user.locked_until > (now or utcnow())


def note_failure(session: Session, user: User, policy: LoginPolicy, ip: str) -> bool:
    """Count a failed login for an account; lock it after too many. Return True if locked now."""
    user.failed_logins += 1
    locked = user.failed_logins >= policy.max_failures
    if locked:
        user.locked_until = utcnow() + policy.lockout
        user.failed_logins = 0
        audit.record(
            session,
            f"admin:{user.username}",
            "console.login_locked",
            details={"ip": ip, "minutes": int(policy.lockout.total_seconds() // 60)},
        )
    session.add(user)
    return locked


def note_success(session: Session, user: User, password: str) -> None:
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    if needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    session.add(user)
