"""Store failures in words: a locked, full, read-only or unreachable store, said in one line.

The daemon keeps running through them (the cycle is tried again at its next turn, and nothing
half-written remains: every write is one transaction). What the sysadmin reads is one sentence
naming the cause; the traceback only with ``log_level = "DEBUG"``.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from watcher.i18n import WATCHER_LOCALE_DIR, translator

_ = translator("ops", WATCHER_LOCALE_DIR)


def is_store_error(error: BaseException) -> bool:
    """Return True when ``error`` comes from the database (not from Vigie's own code)."""
    return isinstance(error, SQLAlchemyError)


def describe(error: BaseException) -> str:
    """Given a database error, return one sentence saying what is wrong with the store."""
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0][:300]
    lowered = reason.lower()
    if "locked" in lowered or "busy" in lowered or "lock timeout" in lowered:
        cause = _("the store is locked by another program (database is locked)")
    elif "full" in lowered or "no space" in lowered or "disk" in lowered and "full" in lowered:
        cause = _("the disk holding the store is full (database or disk is full)")
    elif "readonly" in lowered or "read-only" in lowered:
        cause = _("the store is read-only: {reason}").format(reason=reason)
    elif isinstance(error, DBAPIError) and error.connection_invalidated:
        cause = _("the connection to the store was lost: {reason}").format(reason=reason)
    elif "could not connect" in lowered or "connection refused" in lowered:
        cause = _("the store cannot be reached: {reason}").format(reason=reason)
    else:
        cause = _("the store refused a write: {reason}").format(reason=reason)
    return _("{cause}; nothing was half-written, and it will be tried again.").format(
        cause=cause
    )
