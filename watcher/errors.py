"""Vigie's own exceptions.

Each error carries one human sentence (already translated for the user) and, where it helps,
a list of details. The command line prints ``str(error)`` and exits non-zero; the traceback is
shown only with ``--debug``.

    VigieError
    ├── ConfigError          the configuration file is missing, unreadable or invalid
    ├── SecretError          a secret named in the configuration cannot be read
    ├── StoreError           the store cannot be opened, migrated or written
    └── UsageError           the command line asks for something that cannot be done

Platform errors have their own tree in :mod:`connectors.errors`.
"""

from __future__ import annotations


class VigieError(Exception):
    """Base of every error Vigie reports to a person."""

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details or [])

    def __str__(self) -> str:
        if not self.details:
            return self.message
        return self.message + "\n" + "\n".join(f"  - {line}" for line in self.details)


class ConfigError(VigieError):
    """The configuration file is missing, unreadable or invalid."""


class SecretError(VigieError):
    """A secret named in the configuration cannot be read."""


class StoreError(VigieError):
    """The store cannot be opened, migrated or written."""


class UsageError(VigieError):
    """The command line asks for something that cannot be done."""
