"""The key that signs the console's session cookies.

From ``console.secret_key`` (``env:NAME`` or ``credential:NAME``) when the configuration names
one; otherwise generated once into ``<state_dir>/console-secret.key`` (mode 0600) and reused, so
sessions survive a restart.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from watcher.config import Config
from watcher.console.i18n import _
from watcher.errors import ConfigError
from watcher.secrets import resolve

KEY_FILE = "console-secret.key"


def load_secret_key(config: Config) -> str:
    """Return the session signing key. Raise ConfigError or SecretError if it cannot be had."""
    if config.console.secret_key:
        return resolve(config.console.secret_key)
    return _key_file(config.vigie.state_dir / KEY_FILE)


def _key_file(path: Path) -> str:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
        info = path.stat()
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                _(
                    "The console key {path} can be read by other users; refusing it "
                    "(chmod 600 {path})."
                ).format(path=path)
            )
        key = path.read_text(encoding="ascii").strip()
    except OSError as error:
        raise ConfigError(
            _("The console key {path} cannot be read or created: {reason}.").format(
                path=path, reason=error.strerror or error.__class__.__name__
            )
        ) from None
    if len(key) < 32:
        raise ConfigError(
            _("The console key {path} is too short; delete it to have a new one made.").format(
                path=path
            )
        )
    return key
