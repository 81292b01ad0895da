"""The e-mail itself: a multipart/alternative message, sent by SMTP or written to the outbox.

SMTP uses STARTTLS (port 587), implicit TLS (port 465) or, for a relay on the same host only,
no encryption. The server's certificate is verified against the system's authorities (set
``SSL_CERT_FILE`` in the service's environment for an internal authority). The password is read
from the secret named by ``smtp.password`` at the moment of sending and never kept.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import smtplib
import ssl
import unicodedata
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from reports.i18n import _
from watcher.config import SmtpConfig
from watcher.errors import SecretError, VigieError
from watcher.secrets import resolve

OUTBOX_SENDER = "vigie@localhost"


class DeliveryError(VigieError):
    """An e-mail could not be handed to the SMTP server or written to the outbox."""


def build_message(
    *,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    text: str,
    html: str,
    language: str,
    when: dt.datetime,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """Return a multipart/alternative message: the text part first, the HTML part preferred."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    if recipients:
        message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(when.astimezone(dt.UTC))
    message["Message-ID"] = make_msgid("vigie", domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    # After the parts: set_content and add_alternative move Content-* headers into the parts.
    message["Content-Language"] = "fr-CA" if language == "fr" else "en-CA"
    return message


def send_smtp(settings: SmtpConfig, message: EmailMessage, recipients: Sequence[str]) -> None:
    """Hand ``message`` to the configured SMTP server. Raise DeliveryError if it is not accepted.

    When the server accepts some recipients and refuses others, the message is sent and the
    refused addresses are reported in a DeliveryError only if none was accepted.
    """
    where = f"{settings.host}:{settings.port}"
    if not recipients:
        raise DeliveryError(_("No recipient is configured for this e-mail."))
    password = None
    if settings.username:
        if not settings.password:
            raise DeliveryError(
                _("smtp.username is set but smtp.password names no secret.")
            )
        try:
            password = resolve(settings.password)
        except SecretError as error:
            raise DeliveryError(
                _("The SMTP password cannot be read: {reason}").format(reason=error)
            ) from None
    context = ssl.create_default_context()
    try:
        if settings.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if settings.username and password is not None:
                client.login(settings.username, password)
            client.send_message(message, from_addr=settings.sender, to_addrs=list(recipients))
    except smtplib.SMTPAuthenticationError as error:
        raise DeliveryError(
            _("The SMTP server {server} refused the user name or password ({code}).").format(
                server=where, code=error.smtp_code
            )
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise DeliveryError(
            _("The SMTP server {server} does not offer STARTTLS or authentication.").format(
                server=where
            )
        ) from None
    except smtplib.SMTPRecipientsRefused as error:
        raise DeliveryError(
            _("The SMTP server {server} refused every recipient: {recipients}.").format(
                server=where, recipients=", ".join(sorted(error.recipients))
            )
        ) from None
    except smtplib.SMTPResponseException as error:
        reply = error.smtp_error
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        raise DeliveryError(
            _("The SMTP server {server} answered {code} {reply}.").format(
                server=where, code=error.smtp_code, reply=text.strip()
            )
        ) from None
    except smtplib.SMTPException as error:
        raise DeliveryError(
            _("The SMTP exchange with {server} failed: {reason}.").format(
                server=where, reason=error
            )
        ) from None
    except ssl.SSLError as error:
        raise DeliveryError(
            _("The TLS connection to {server} failed: {reason}.").format(
                server=where, reason=error.reason or error
            )
        ) from None
    except OSError as error:
        raise DeliveryError(
            _("The SMTP server {server} cannot be reached: {reason}.").format(
                server=where, reason=error.strerror or error.__class__.__name__
            )
        ) from None


def slug(text: str, limit: int = 40) -> str:
    """Return ``text`` as a file-name fragment: ASCII letters, digits and dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").lower()[:limit] or "all"


def write_outbox(directory: Path, stem: str, message: EmailMessage, html: str) -> list[Path]:
    """Write ``<stem>.eml`` and ``<stem>.html`` into the outbox; return their paths.

    Raise DeliveryError if the folder cannot be written.
    """
    paths = [directory / f"{stem}.eml", directory / f"{stem}.html"]
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o750)
        for path, data in zip(paths, (message.as_bytes(), html.encode("utf-8")), strict=True):
            temporary = path.with_name(f".{path.name}.tmp")
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
    except OSError as error:
        raise DeliveryError(
            _("The outbox {path} cannot be written: {reason}.").format(
                path=directory, reason=error.strerror or error
            )
        ) from None
    return paths
