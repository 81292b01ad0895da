"""Secrets come from the environment or from systemd credentials, never from the config file.

The configuration names a secret with a reference:

- ``env:NAME``: the environment variable ``NAME``;
- ``credential:NAME``: the file ``$CREDENTIALS_DIRECTORY/NAME`` (systemd ``LoadCredential=``).

A secret's value is never logged, never put in an error message and never stored.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from watcher.errors import SecretError
from watcher.i18n import _

REF_PATTERN = re.compile(r"^(env|credential):([A-Za-z0-9_.\-]{1,128})$")


def is_reference(value: str) -> bool:
    """Return True when ``value`` is a well-formed secret reference."""
    return bool(REF_PATTERN.match(value))


# systemd/vigie.service loads the whole folder /etc/vigie/credentials with
# ``LoadCredential=vigie:/etc/vigie/credentials``, which names each file ``vigie_<file>``
# (the console's folder: ``vigie-console_<file>``); ``credential:<file>`` finds either.
CREDENTIAL_PREFIXES = ("vigie_", "vigie-console_")


def _credential_path(directory: Path, name: str) -> Path:
    """Return the credential file for ``name``: as named, or as loaded from a folder."""
    for candidate in (name, *(prefix + name for prefix in CREDENTIAL_PREFIXES)):
        if (directory / candidate).is_file():
            return directory / candidate
    return directory / name


def resolve(reference: str, environ: dict[str, str] | None = None) -> str:
    """Given a secret reference, return the secret. Raise SecretError if it cannot be read."""
    environ = dict(os.environ) if environ is None else environ
    match = REF_PATTERN.match(reference)
    if not match:
        raise SecretError(
            _("“{ref}” is not a secret reference (expected env:NAME or credential:NAME).").format(
                ref=reference
            )
        )
    source, name = match.groups()
    if source == "env":
        value = environ.get(name)
        if not value:
            raise SecretError(
                _("The environment variable {name} is not set or is empty.").format(name=name)
            )
        return value.strip()
    directory = environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        raise SecretError(
            _(
                "The credential {name} is named but CREDENTIALS_DIRECTORY is not set "
                "(use LoadCredential= in the systemd unit)."
            ).format(name=name)
        )
    path = _credential_path(Path(directory), name)
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise SecretError(
            _("The credential {name} cannot be read: {reason}.").format(
                name=name, reason=error.strerror or error.__class__.__name__
            )
        ) from None
    if not value:
        raise SecretError(_("The credential {name} is empty.").format(name=name))
    return value
