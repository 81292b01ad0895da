"""Connectors registered by ``kind`` (the ``platform`` of a space in the configuration)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import ValidationError

from connectors.base import Connector

if TYPE_CHECKING:
    from watcher.config import SpaceConfig

# kind -> module defining it. Imported on first use; an import error is never swallowed.
MODULES: dict[str, str] = {
    "facebook": "connectors.facebook",
    "instagram": "connectors.instagram",
    "x": "connectors.x",
    "youtube": "connectors.youtube",
}

_REGISTRY: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    """Class decorator: register a connector under its ``kind``."""
    if cls.kind in _REGISTRY and _REGISTRY[cls.kind] is not cls:
        raise ValueError(f"two connectors claim the kind {cls.kind!r}")
    _REGISTRY[cls.kind] = cls
    return cls


def get(kind: str) -> type[Connector]:
    """Given a kind, return its connector class. Raise KeyError if no connector has it."""
    if kind not in _REGISTRY and kind in MODULES:
        importlib.import_module(MODULES[kind])
    return _REGISTRY[kind]


def available() -> dict[str, type[Connector]]:
    """Return every connector, importing the modules of all known kinds."""
    for kind in MODULES:
        try:
            get(kind)
        except KeyError:
            continue
    return dict(_REGISTRY)


def validate_space(space: SpaceConfig) -> list[str]:
    """Given a space's configuration, return its connector-specific errors (key: message)."""
    from watcher.i18n import _

    try:
        cls = get(space.platform)
    except (KeyError, ModuleNotFoundError):
        return [f"platform: {_('no connector is available for this platform yet')}"]
    errors: list[str] = []
    try:
        cls.Options.model_validate(space.options)
    except ValidationError as error:
        for item in error.errors():
            key = ".".join(str(p) for p in item["loc"])
            reason = _("unknown key") if item["type"] == "extra_forbidden" else item["msg"]
            errors.append(f"options.{key}: {reason}")
    errors.extend(_missing_secrets(cls, set(space.secrets)))
    for name in sorted(set(space.secrets) - set(cls.required_secrets) - set(cls.optional_secrets)):
        errors.append(f"secrets.{name}: {_('unknown secret for this platform')}")
    if space.delete_categories and not cls.can_delete:
        errors.append(f"delete_categories: {_('this platform does not allow deleting comments')}")
    return errors


def _missing_secrets(cls: type[Connector], given: set[str]) -> list[str]:
    """Given a connector and the secret names a space gives, return what is missing."""
    from watcher.i18n import _

    sets = cls.secret_sets or (cls.required_secrets,)
    if any(set(names) <= given for names in sets):
        return []
    # The set the space began to give (most names given) says what is missing; if it gave none,
    # name every accepted set.
    started = max(sets, key=lambda names: len(given & set(names)))
    if len(sets) == 1 or given & set(started):
        return [
            f"secrets.{name}: "
            + _("required by {platform} (env:NAME or credential:NAME)").format(
                platform=cls.display_name
            )
            for name in started
            if name not in given
        ]
    choices = _(" or ").join(" + ".join(names) for names in sets)
    return [
        "secrets: "
        + _("{platform} needs one of these sets of secrets: {choices}").format(
            platform=cls.display_name, choices=choices
        )
    ]


def build(space: SpaceConfig, secrets: Mapping[str, str]) -> Connector:
    """Given a validated space and its resolved secrets, return its connector."""
    cls = get(space.platform)
    return cls(
        platform_id=space.platform_id,
        secrets=secrets,
        options=cls.Options.model_validate(space.options),
        api_base_url=space.api_base_url,
        timeout=space.request_timeout,
    )
