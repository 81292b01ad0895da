"""The configuration: one TOML file, validated strictly.

Unknown keys are rejected, and every error of a file is reported at once with its key path
(``spaces[2].approval_ref``). Secrets are never in the file: it names them with ``env:NAME`` or
``credential:NAME`` references (see :mod:`watcher.secrets`).

The registry of approved spaces (policy 7.3 and 7.4) is the ``[[spaces]]`` list: a space without
a written approval reference is refused, and only the spaces listed here are ever polled.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from watcher.categories import CATEGORY_IDS
from watcher.errors import ConfigError
from watcher.i18n import _
from watcher.secrets import is_reference

DEFAULT_CONFIG_PATHS = (Path("/etc/vigie/vigie.toml"),)
SLUG = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,62}$")
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
PLATFORMS = ("facebook", "instagram", "x", "youtube")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_secret_ref(value: str) -> str:
    if is_reference(value):
        return value
    raise ValueError("secret_reference")


def _check_email(value: str) -> str:
    if not EMAIL.match(value):
        raise ValueError("email")
    return value


SecretRef = Annotated[str, AfterValidator(_check_secret_ref)]  # env:NAME or credential:NAME
Email = Annotated[str, AfterValidator(_check_email)]


class GeneralConfig(Strict):
    language: Literal["fr", "en"] = "fr"
    state_dir: Path = Path("/var/lib/vigie")
    timezone: str = "America/Toronto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("timezone") from None
        return value


class StoreConfig(Strict):
    url: str | None = None  # any SQLAlchemy URL; default: SQLite file in the state directory
    busy_timeout_ms: int = Field(default=10_000, ge=100, le=600_000)


class Threshold(Strict):
    hide: float = Field(ge=0.0, le=1.0)
    review: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> Threshold:
        if self.review > self.hide:
            raise ValueError("threshold_order")
        return self


DEFAULT_THRESHOLDS: dict[str, Threshold] = {
    "atteinte_droits": Threshold(hide=0.80, review=0.45),
    "discrimination": Threshold(hide=0.80, review=0.45),
    "diffamation_irrespect": Threshold(hide=0.80, review=0.45),
    "disgracieux_repetitif": Threshold(hide=0.85, review=0.50),
    "commercial_pourriel": Threshold(hide=0.85, review=0.50),
    "anonyme_repetitif": Threshold(hide=0.85, review=0.50),
    "illegal": Threshold(hide=0.75, review=0.40),
}


class PolicyConfig(Strict):
    # Extra policy folders: a site's own terms and allow-list, added to the shipped rules.
    extra_dirs: list[Path] = Field(default_factory=list)
    thresholds: dict[str, Threshold] = Field(default_factory=dict)
    repetition_window_hours: int = Field(default=72, ge=1, le=24 * 90)
    model: Path | None = None  # a model trained by `vigie train`; default: the shipped one

    @field_validator("thresholds")
    @classmethod
    def _known_categories(cls, value: dict[str, Threshold]) -> dict[str, Threshold]:
        unknown = sorted(set(value) - set(CATEGORY_IDS))
        if unknown:
            raise ValueError("unknown_category:" + ",".join(unknown))
        return value

    def threshold(self, category: str) -> Threshold:
        return self.thresholds.get(category) or DEFAULT_THRESHOLDS[category]


class SchedulerConfig(Strict):
    poll_interval: int = Field(default=300, ge=10, le=86_400)  # seconds, default for spaces
    jitter: int = Field(default=15, ge=0, le=600)
    action_interval: int = Field(default=5, ge=1, le=600)  # how often requested actions run
    max_action_attempts: int = Field(default=8, ge=1, le=100)


class ReportConfig(Strict):
    # Weekly vigil report (7.3): "mon 08:00" in the general timezone.
    weekly_at: str = "mon 08:00"
    recipients: list[Email] = Field(default_factory=list)  # communications service
    send_direction_digests: bool = True
    mask_authors: bool = True
    excerpt_length: int = Field(default=140, ge=20, le=1000)
    outbox_dir: Path | None = None  # default: <state_dir>/outbox, used until SMTP is set


    @field_validator("weekly_at")
    @classmethod
    def _schedule(cls, value: str) -> str:
        if not re.match(r"^(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):[0-5]\d$", value):
            raise ValueError("weekly_at")
        return value


class SmtpConfig(Strict):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretRef | None = None
    sender: Email
    timeout: float = Field(default=30.0, gt=0, le=600)
    max_attempts: int = Field(default=5, ge=1, le=50)



class AlertConfig(Strict):
    enabled: bool = True
    recipients: list[Email] = Field(default_factory=list)  # besides the space's contacts
    sysadmin: list[Email] = Field(default_factory=list)  # told when a token expires or is revoked



class ConsoleConfig(Strict):
    base_url: str = "http://127.0.0.1:8470"  # links in e-mails point here
    listen: str = "127.0.0.1:8470"
    secret_key: SecretRef | None = None  # session signing key; generated in state_dir if absent
    session_minutes: int = Field(default=60, ge=5, le=24 * 60)
    login_max_failures: int = Field(default=5, ge=1, le=100)  # then the account is locked
    login_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    proxy_hops: int = Field(default=1, ge=0, le=5)  # reverse proxies in front (0: none)



class WebhookConfig(Strict):
    enabled: bool = False
    listen: str = "127.0.0.1:8471"
    app_secret: SecretRef | None = None
    verify_token: SecretRef | None = None



class MetricsConfig(Strict):
    # Prometheus /metrics served by the daemon; on this machine only by default.
    enabled: bool = False
    listen: str = "127.0.0.1:9470"


class RetentionConfig(Strict):
    # Days; 0 keeps forever. Counts needed by reports are kept when text is purged.
    comments_left_up_days: int = Field(default=90, ge=0)
    hidden_items_days: int = Field(default=365 * 2, ge=0)
    reports_days: int = Field(default=365 * 2, ge=0)
    # The audit log holds no comment text and is kept for the life of the installation:
    # deleting its oldest events would break its hash chain (docs/privacy.md).


class SpaceConfig(Strict):
    id: str
    platform: Literal["facebook", "instagram", "x", "youtube"]
    platform_id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    owner: str = Field(min_length=1, max_length=200)  # établissement or service
    contacts: list[Email] = Field(min_length=1)  # its direction's e-mails (7.4)
    approval_ref: str = Field(min_length=1, max_length=200)  # written approval (7.3)
    approval_date: dt.date
    administrators: list[str] = Field(min_length=1)
    mode: Literal["observe", "enforce"] = "observe"
    poll_interval: int | None = Field(default=None, ge=10, le=86_400)
    enabled: bool = True
    api_base_url: str | None = None  # points a space at the sandbox
    request_timeout: float = Field(default=30.0, ge=0.5, le=300)  # seconds per platform call
    secrets: dict[str, SecretRef] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)  # validated by the connector
    delete_categories: list[str] = Field(default_factory=list)  # 8.2: off by default

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("slug")
        return value

    @field_validator("approval_ref")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("approval_ref")
        return value


    @field_validator("delete_categories")
    @classmethod
    def _categories(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(CATEGORY_IDS))
        if unknown:
            raise ValueError("unknown_category:" + ",".join(unknown))
        return value

    @field_validator("api_base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("url")
        return value.rstrip("/") if value else value


class Config(Strict):
    vigie: GeneralConfig = Field(default_factory=GeneralConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    smtp: SmtpConfig | None = None
    alerts: AlertConfig = Field(default_factory=AlertConfig)
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)
    webhook: WebhookConfig = Field(default_factory=WebhookConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    spaces: list[SpaceConfig] = Field(default_factory=list)

    # Where the file was read from (not a key of the file).
    source: Path | None = Field(default=None, exclude=True)

    @property
    def database_url(self) -> str:
        if self.store.url:
            return self.store.url
        return f"sqlite:///{self.vigie.state_dir / 'vigie.db'}"

    @property
    def outbox_dir(self) -> Path:
        return self.report.outbox_dir or (self.vigie.state_dir / "outbox")

    def space(self, space_id: str) -> SpaceConfig:
        for space in self.spaces:
            if space.id == space_id:
                return space
        raise KeyError(space_id)

    def poll_interval(self, space: SpaceConfig) -> int:
        return space.poll_interval or self.scheduler.poll_interval


# --- Error messages -------------------------------------------------------------------------


def _describe(error: dict[str, Any]) -> str:
    """Given one pydantic error, return a sentence in the user's language."""
    kind = error["type"]
    context = error.get("ctx") or {}
    message = str(context.get("error", "")) if kind == "value_error" else ""
    if message.startswith("unknown_category:"):
        return _("unknown category: {names} (known: {known})").format(
            names=message.split(":", 1)[1], known=", ".join(CATEGORY_IDS)
        )
    custom = {
        "secret_reference": _(
            "secrets are never written in the file: give a reference env:NAME or credential:NAME"
        ),
        "email": _("not a valid e-mail address"),
        "slug": _("use lowercase letters, digits, - and _ (at most 63 characters)"),
        "approval_ref": _("a space needs the reference of its written approval (policy 7.3)"),
        "threshold_order": _("the review threshold must not be above the hide threshold"),
        "timezone": _("unknown time zone (example: America/Toronto)"),
        "weekly_at": _("expected a day and time such as “mon 08:00”"),
        "url": _("expected an http:// or https:// address"),
    }
    if message in custom:
        return custom[message]
    simple = {
        "missing": _("this key is required"),
        "extra_forbidden": _("unknown key"),
        "string_type": _("expected text"),
        "int_type": _("expected a whole number"),
        "int_parsing": _("expected a whole number"),
        "float_type": _("expected a number"),
        "float_parsing": _("expected a number"),
        "bool_type": _("expected true or false"),
        "bool_parsing": _("expected true or false"),
        "list_type": _("expected a list"),
        "dict_type": _("expected a table"),
        "model_type": _("expected a table"),
        "date_type": _("expected a date such as 2024-09-03"),
        "date_parsing": _("expected a date such as 2024-09-03"),
        "date_from_datetime_parsing": _("expected a date such as 2024-09-03"),
        "too_short": _("must not be empty"),
        "string_too_short": _("must not be empty"),
        "string_too_long": _("is too long"),
    }
    if kind in simple:
        return simple[kind]
    if kind == "literal_error":
        choices = str(context.get("expected", "")).replace(" or ", ", ")
        return _("expected one of: {choices}").format(choices=choices)
    if kind in ("greater_than_equal", "greater_than"):
        return _("must be at least {limit}").format(
            limit=context.get("ge", context.get("gt", ""))
        )
    if kind in ("less_than_equal", "less_than"):
        return _("must be at most {limit}").format(limit=context.get("le", context.get("lt", "")))
    return error.get("msg", kind)


def _space_label(data: dict[str, Any], index: int) -> str:
    """Name the space spaces[index] by its id when the file gives one."""
    spaces = data.get("spaces")
    if isinstance(spaces, list) and index < len(spaces):
        entry = spaces[index]
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            return f" ({entry['id']})"
    return ""


def _path(location: tuple[Any, ...], data: dict[str, Any]) -> str:
    """Given a pydantic error location, return a key path such as spaces[2] (css-fb).mode."""
    parts: list[str] = []
    for position, item in enumerate(location):
        if isinstance(item, int):
            parts.append(f"[{item}]")
            if position == 1 and location[0] == "spaces":
                parts.append(_space_label(data, item))
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(config)"


def _cross_checks(config: Config) -> list[str]:
    """Return the errors that span several keys: duplicates and connector options."""
    from connectors import registry  # local import: connectors depend on nothing here

    errors: list[str] = []
    seen_ids: dict[str, int] = {}
    seen_accounts: dict[tuple[str, str], int] = {}
    for index, space in enumerate(config.spaces):
        if space.id in seen_ids:
            errors.append(
                f"spaces[{index}].id: "
                + _("the id “{id}” is already used by spaces[{other}]").format(
                    id=space.id, other=seen_ids[space.id]
                )
            )
        seen_ids.setdefault(space.id, index)
        account = (space.platform, space.platform_id)
        if account in seen_accounts:
            errors.append(
                f"spaces[{index}].platform_id: "
                + _("this account is already listed as spaces[{other}]").format(
                    other=seen_accounts[account]
                )
            )
        seen_accounts.setdefault(account, index)
        errors.extend(
            f"spaces[{index}] ({space.id}).{problem}"
            for problem in registry.validate_space(space)
        )
    return errors


def parse_config(text: str, source: Path | None = None) -> Config:
    """Given the text of a TOML configuration, return the Config. Raise ConfigError if invalid."""
    where = str(source) if source else "<config>"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            _("{file} is not valid TOML: {reason}").format(file=where, reason=error)
        ) from None
    try:
        config = Config.model_validate(data)
    except ValidationError as error:
        details = [
            f"{_path(e['loc'], data)}: {_describe(e)}"
            for e in error.errors()
        ]
        raise ConfigError(
            _("{file} has {count} error(s):").format(file=where, count=len(details)), details
        ) from None
    errors = _cross_checks(config)
    if errors:
        raise ConfigError(
            _("{file} has {count} error(s):").format(file=where, count=len(errors)), errors
        )
    return config.model_copy(update={"source": source})


def find_config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """Return the config file to read: the one given, $VIGIE_CONFIG, ./vigie.toml, /etc/vigie."""
    if explicit:
        return Path(explicit)
    if os.environ.get("VIGIE_CONFIG"):
        return Path(os.environ["VIGIE_CONFIG"])
    local = Path("vigie.toml")
    if local.is_file():
        return local
    return DEFAULT_CONFIG_PATHS[0]


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Given a path (or None for the default places), return the validated Config.

    Raise ConfigError if the file is missing, unreadable, writable by others, or invalid.
    """
    config_path = find_config_path(path)
    try:
        info = config_path.stat()
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            _("No configuration file at {path}. Create one with “vigie init”.").format(
                path=config_path
            )
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            _("The configuration file {path} cannot be read: {reason}").format(
                path=config_path, reason=getattr(error, "strerror", None) or error
            )
        ) from None
    if info.st_mode & stat.S_IWOTH:
        raise ConfigError(
            _(
                "The configuration file {path} can be modified by any user of the machine; "
                "refusing it (chmod o-w {path})."
            ).format(path=config_path)
        )
    return parse_config(text, config_path)
