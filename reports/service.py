"""What the daemon and the command line call: render, archive, deliver, retry.

Every e-mail is first archived in the ``reports`` table (subject, recipients, HTML and text,
status ``pending``), then delivered: by SMTP when ``[smtp]`` is configured, else written to the
outbox folder (``.eml`` and ``.html``). A failed delivery is retried with a growing delay
(1 min, 4 min, 16 min, 64 min, then every 6 h) until ``smtp.max_attempts``; nothing is lost, and
``vigie report resend ID`` sends any archived report again.

Statuses: ``pending`` (to send), ``sending`` (claimed by a process; taken back if that process
dies), ``sent``, ``outbox`` (written to the outbox), ``failed`` (``next_attempt_at`` says when it
is tried again; none once the attempts are used up).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import jinja2
import sqlalchemy as sa
from sqlmodel import Session, col, select

from reports.digest import build_alert, build_digest, build_health, directions
from reports.i18n import _
from reports.mail import (
    OUTBOX_SENDER,
    DeliveryError,
    build_message,
    send_smtp,
    slug,
    write_outbox,
)
from reports.period import Week, due_week, parse_week, week_containing
from reports.render import Rendered, render
from watcher import audit
from watcher.config import Config
from watcher.errors import UsageError
from watcher.i18n import use_language
from watcher.store.db import Store
from watcher.store.models import Comment, Report, Space, Verdict, utcnow

log = logging.getLogger(__name__)

RETRY_FIRST = dt.timedelta(minutes=1)
RETRY_FACTOR = 4
RETRY_LONGEST = dt.timedelta(hours=6)
SENDING_LEASE = dt.timedelta(minutes=15)  # a claim older than this is taken back
OUTBOX_ATTEMPTS = 5  # when there is no [smtp] section to say how many
ALERT_MAX_AGE = dt.timedelta(days=7)  # older flagged comments are left to the weekly digest
DELIVERABLE = ("pending", "failed", "sending")
DIGEST_KINDS = ("weekly", "direction")


def retry_delay(attempts: int) -> dt.timedelta:
    """Return how long to wait after the given number of failed attempts."""
    delay = RETRY_FIRST * (RETRY_FACTOR ** max(0, attempts - 1))
    return min(delay, RETRY_LONGEST)


def _unique(addresses: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for address in addresses:
        seen.setdefault(address.lower(), address)
    return list(seen.values())


def _lock_reports(session: Session) -> None:
    """Serialize writers that decide whether a report exists (SQLite's BEGIN IMMEDIATE does it)."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(sa.text("LOCK TABLE reports IN SHARE ROW EXCLUSIVE MODE"))  # type: ignore[call-overload]


def _as_week(config: Config, week: Week | str | None, now: dt.datetime) -> Week:
    if isinstance(week, Week):
        return week
    return parse_week(week, config.vigie.timezone, now)


# --- Rendering --------------------------------------------------------------------------------


def _render_digest(
    config: Config,
    session: Session,
    week: Week,
    now: dt.datetime,
    language: str,
    *,
    space_id: str | None = None,
    owner: str | None = None,
) -> Rendered:
    with use_language(language):
        digest = build_digest(config, session, week, now, space_id=space_id, owner=owner)
    return render("weekly", digest, language)


def render_weekly(
    config: Config,
    store: Store,
    week: Week | str | None = None,
    space_id: str | None = None,
    *,
    owner: str | None = None,
    now: dt.datetime | None = None,
    language: str | None = None,
) -> Rendered:
    """Given a week (``2026-W47``, ``last``, ``current`` or a Week; default the last complete
    week), return the digest as (subject, html, text): every space, one direction (``owner``) or
    one space. Nothing is archived or sent. Raise UsageError for an unknown week or space.
    """
    now = now or utcnow()
    chosen = _as_week(config, week, now)
    with store.session() as session:
        return _render_digest(config, session, chosen, now, language or config.vigie.language,
                              space_id=space_id, owner=owner)


# --- Archive and delivery ---------------------------------------------------------------------


def _archive(
    session: Session,
    *,
    kind: str,
    period: str,
    scope: str,
    rendered: Rendered,
    recipients: Sequence[str],
    language: str,
    now: dt.datetime,
) -> Report:
    report = Report(
        kind=kind,
        period=period,
        scope=scope[:200],
        subject=rendered.subject,
        recipients=list(recipients),
        html=rendered.html,
        text=rendered.text,
        language=language,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(report)
    session.flush()
    return report


def _claim(store: Store, report_id: int, now: dt.datetime) -> Report | None:
    """Mark a due report as being sent by this process; return it, or None if not ours to send."""
    with store.session() as session:
        result = session.exec(  # type: ignore[call-overload]
            sa.update(Report)
            .where(
                col(Report.id) == report_id,
                col(Report.status).in_(DELIVERABLE),
                sa.or_(col(Report.next_attempt_at).is_(None), col(Report.next_attempt_at) <= now),
            )
            .values(status="sending", attempts=col(Report.attempts) + 1,
                    next_attempt_at=now + SENDING_LEASE)
        )
        if result.rowcount != 1:
            return None
        return session.get(Report, report_id)


def _outbox_stem(report: Report) -> str:
    created = report.created_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    parts = [created, report.kind, slug(report.period)]
    if report.scope:
        parts.append(slug(report.scope))
    parts.append(str(report.id))
    return "-".join(parts)


def outbox_paths(config: Config, report: Report) -> list[Path]:
    """Return where the outbox holds a report delivered there (``.eml`` then ``.html``)."""
    stem = _outbox_stem(report)
    return [config.outbox_dir / f"{stem}.eml", config.outbox_dir / f"{stem}.html"]


def _send(config: Config, report: Report, now: dt.datetime) -> tuple[str, list[Path]]:
    """Deliver one archived report; return its new status and the outbox files written."""
    sender = config.smtp.sender if config.smtp else OUTBOX_SENDER
    message = build_message(
        sender=sender,
        recipients=report.recipients,
        subject=report.subject,
        text=report.text,
        html=report.html,
        language=report.language,
        when=now,
        headers={"X-Vigie-Report": f"{report.id} {report.kind} {report.period}".strip()},
    )
    if config.smtp is None:
        stem = _outbox_stem(report)
        return "outbox", write_outbox(config.outbox_dir, stem, message, report.html)
    send_smtp(config.smtp, message, report.recipients)
    return "sent", []


def deliver(config: Config, store: Store, report_id: int, now: dt.datetime | None = None) -> Report | None:
    """Deliver one archived report if it is due; return it with its new status.

    Return None when the report is not due or another process is sending it. A failure is
    recorded on the report (``last_error``, ``next_attempt_at``), never raised.
    """
    now = now or utcnow()
    report = _claim(store, report_id, now)
    if report is None:
        return None
    try:
        status, paths = _send(config, report, now)
    except DeliveryError as error:
        limit = config.smtp.max_attempts if config.smtp else OUTBOX_ATTEMPTS
        permanent = not report.recipients and config.smtp is not None
        retry = None if permanent or report.attempts >= limit else now + retry_delay(report.attempts)
        with store.session() as session:
            row = session.get(Report, report_id)
            assert row is not None
            row.status = "failed"
            row.last_error = error.message
            row.next_attempt_at = retry
            session.add(row)
        log.warning(
            "report %s (%s %s) not delivered, attempt %s: %s%s",
            report_id, report.kind, report.period, report.attempts, error.message,
            f"; next attempt at {retry.isoformat()}" if retry else "; no more attempts",
        )
        report.status, report.last_error, report.next_attempt_at = "failed", error.message, retry
        return report
    with store.session() as session:
        row = session.get(Report, report_id)
        assert row is not None
        row.status = status
        row.sent_at = now
        row.last_error = None
        row.next_attempt_at = None
        session.add(row)
        if row.kind == "alert" and row.period.startswith("comment:"):
            _mark_alert_sent(session, int(row.period.split(":", 1)[1]), now)
    for path in paths:
        log.info("report %s written to %s", report_id, path)
    log.info("report %s (%s %s) delivered: %s", report_id, report.kind, report.period, status)
    report.status, report.sent_at, report.last_error, report.next_attempt_at = status, now, None, None
    return report


def _due_ids(store: Store, now: dt.datetime, kinds: Sequence[str] | None = None) -> list[int]:
    with store.session() as session:
        query = (
            select(Report.id)
            .where(
                col(Report.status).in_(DELIVERABLE),
                col(Report.next_attempt_at).is_not(None),
                col(Report.next_attempt_at) <= now,
            )
            .order_by(col(Report.id))
        )
        if kinds is not None:
            query = query.where(col(Report.kind).in_(list(kinds)))
        return [i for i in session.exec(query) if i is not None]


def _deliver_all(config: Config, store: Store, ids: Iterable[int], now: dt.datetime) -> list[Report]:
    delivered = []
    for report_id in ids:
        report = deliver(config, store, report_id, now)
        if report is not None:
            delivered.append(report)
    return delivered


def _ok(reports: Iterable[Report]) -> int:
    return sum(1 for r in reports if r.status in ("sent", "outbox"))


# --- Weekly digests ---------------------------------------------------------------------------


def _create_week(
    config: Config, session: Session, week: Week, now: dt.datetime, *, kind: str = "weekly"
) -> list[Report]:
    """Render and archive the communications digest and each direction's digest of a week."""
    language = config.vigie.language
    reports = [
        _archive(
            session,
            kind=kind,
            period=week.label,
            scope="",
            rendered=_render_digest(config, session, week, now, language),
            recipients=_unique(config.report.recipients),
            language=language,
            now=now,
        )
    ]
    if config.report.send_direction_digests:
        for owner, contacts in directions(config).items():
            reports.append(
                _archive(
                    session,
                    kind="direction",
                    period=week.label,
                    scope=owner,
                    rendered=_render_digest(config, session, week, now, language, owner=owner),
                    recipients=_unique(contacts),
                    language=language,
                    now=now,
                )
            )
    return reports


def _vigil_started(session: Session) -> dt.datetime | None:
    return session.exec(select(sa.func.min(Space.created_at))).first()


def send_due_reports(config: Config, store: Store, now: dt.datetime | None = None) -> int:
    """Send the weekly digests when their time has come (``report.weekly_at``, each week once),
    and retry every archived report whose next attempt is due. Return how many were delivered.

    A week that ended before Vigie knew any space is not reported.
    """
    now = now or utcnow()
    week = due_week(config.report.weekly_at, config.vigie.timezone, now)
    with store.session() as session:
        _lock_reports(session)
        exists = session.exec(
            select(Report.id).where(Report.kind == "weekly", Report.period == week.label).limit(1)
        ).first()
        started = _vigil_started(session)
        if exists is None and started is not None and week.end > started:
            created = _create_week(config, session, week, now)
            log.info("weekly digests of %s archived: %s", week.label, len(created))
    return _ok(_deliver_all(config, store, _due_ids(store, now), now))


def send_week(
    config: Config, store: Store, week: Week | str | None = None, now: dt.datetime | None = None
) -> list[Report]:
    """Render, archive and send the digests of a week now, even if they were sent before."""
    now = now or utcnow()
    chosen = _as_week(config, week, now)
    with store.session() as session:
        ids = [r.id for r in _create_week(config, session, chosen, now)]
    return _deliver_all(config, store, [i for i in ids if i is not None], now)


def resend(
    config: Config,
    store: Store,
    report_id: int,
    recipients: Sequence[str] | None = None,
    now: dt.datetime | None = None,
    actor: str = "cli",
) -> Report:
    """Send an archived report again, as a new archived copy (to other recipients if given).

    Raise UsageError if there is no such report.
    """
    now = now or utcnow()
    with store.session() as session:
        original = session.get(Report, report_id)
        if original is None:
            raise UsageError(_("There is no archived report number {id}.").format(id=report_id))
        copy = _archive(
            session,
            kind=original.kind,
            period=original.period,
            scope=original.scope,
            rendered=Rendered(original.subject, original.html, original.text),
            recipients=_unique(recipients) if recipients else list(original.recipients),
            language=original.language,
            now=now,
        )
        audit.record(session, actor, "report.resend",
                     details={"report": report_id, "copy": copy.id, "recipients": copy.recipients})
        copy_id = copy.id
    assert copy_id is not None
    result = deliver(config, store, copy_id, now)
    assert result is not None
    return result


# --- Urgent alerts ----------------------------------------------------------------------------


def alert_recipients(config: Config, space_id: str) -> list[str]:
    """The space's direction (its contacts) and the communications service."""
    contacts: list[str] = []
    for space in config.spaces:
        if space.id == space_id:
            contacts = list(space.contacts)
    service = config.alerts.recipients or config.report.recipients
    return _unique([*contacts, *service])


def _mark_alert_sent(session: Session, comment_id: int, now: dt.datetime) -> None:
    verdict = session.exec(select(Verdict).where(Verdict.comment_id == comment_id)).first()
    if verdict is not None and verdict.alert_sent_at is None:
        verdict.alert_sent_at = now
        session.add(verdict)
        audit.record(session, "system", "alert.sent", space_id=None, comment_id=comment_id,
                     details={"at": now.isoformat()})


def send_pending_alerts(config: Config, store: Store, now: dt.datetime | None = None) -> int:
    """E-mail at once every comment flagged ``alert`` whose alert is not sent yet; set its
    ``alert_sent_at`` when delivered. Failed deliveries are retried on the next calls.
    Return how many alerts were delivered.
    """
    if not config.alerts.enabled:
        return 0
    now = now or utcnow()
    language = config.vigie.language
    with store.session() as session:
        _lock_reports(session)
        rows = session.exec(
            select(Verdict, Comment)
            .join(Comment, col(Comment.id) == Verdict.comment_id)
            .where(col(Verdict.alert).is_(True), col(Verdict.alert_sent_at).is_(None),
                   Verdict.created_at >= now - ALERT_MAX_AGE)
            .order_by(col(Verdict.created_at))
        ).all()
        if rows:
            periods = [f"comment:{comment.id}" for _verdict, comment in rows]
            archived = set(
                session.exec(
                    select(Report.period).where(Report.kind == "alert",
                                                col(Report.period).in_(periods))
                )
            )
            for verdict, comment in rows:
                period = f"comment:{comment.id}"
                if period in archived:
                    continue
                try:
                    with use_language(language):
                        mail = build_alert(config, session, comment, verdict, now)
                    rendered = render("alert", mail, language)
                except (jinja2.TemplateError, ValueError, TypeError, KeyError) as error:
                    log.error("alert for comment %s cannot be rendered: %s", comment.id, error)
                    continue
                _archive(session, kind="alert", period=period, scope=comment.space_id,
                         rendered=rendered, recipients=alert_recipients(config, comment.space_id),
                         language=language, now=now)
    return _ok(_deliver_all(config, store, _due_ids(store, now, ("alert",)), now))


# --- Health notices ---------------------------------------------------------------------------


def health_recipients(config: Config) -> list[str]:
    return _unique([*config.alerts.sysadmin, *config.report.recipients])


def send_health_notice(
    config: Config, store: Store, space_id: str, message: str, now: dt.datetime | None = None
) -> None:
    """Tell the system administrators and the communications service that a space needs them
    (token expired or revoked, space unhealthy), once per incident: not again until the space
    has had a successful poll. A space unknown to both the configuration and the store is
    logged and ignored.
    """
    if not config.alerts.enabled:
        return
    now = now or utcnow()
    language = config.vigie.language
    with store.session() as session:
        _lock_reports(session)
        space = session.get(Space, space_id)
        query = select(Report.id).where(Report.kind == "health", Report.scope == space_id)
        if space is not None and space.last_good_poll_at is not None:
            query = query.where(Report.created_at > space.last_good_poll_at)
        if session.exec(query.limit(1)).first() is not None:
            return
        try:
            with use_language(language):
                mail = build_health(config, session, space_id, message, now)
        except UsageError as error:  # a space neither configured nor stored: nothing to tell
            log.error("health notice for %s not sent: %s", space_id, error)
            return
        report = _archive(session, kind="health", period=now.strftime("%Y-%m-%d"),
                          scope=space_id, rendered=render("health", mail, language),
                          recipients=health_recipients(config), language=language, now=now)
        report_id = report.id
    assert report_id is not None
    deliver(config, store, report_id, now)


# --- Demo -------------------------------------------------------------------------------------


def write_demo_outbox(config: Config, store: Store, now: dt.datetime | None = None) -> list[Path]:
    """Write the digests of the current week (so far) into the outbox; return the file paths.

    This is what ``vigie demo`` shows: the same e-mails the Monday schedule would send, written
    as ``.eml`` and ``.html`` files whatever the ``[smtp]`` section says. Nothing is archived.
    """
    now = now or utcnow()
    week = week_containing(now, config.vigie.timezone)
    language = config.vigie.language
    sender = config.smtp.sender if config.smtp else OUTBOX_SENDER
    scopes: list[tuple[str | None, list[str]]] = [(None, _unique(config.report.recipients))]
    if config.report.send_direction_digests:
        scopes += [(owner, _unique(c)) for owner, c in directions(config).items()]
    paths: list[Path] = []
    with store.session() as session:
        for owner, recipients in scopes:
            rendered = _render_digest(config, session, week, now, language, owner=owner)
            message = build_message(sender=sender, recipients=recipients,
                                    subject=rendered.subject, text=rendered.text,
                                    html=rendered.html, language=language, when=now)
            stem = f"demo-{week.label}-" + ("direction-" + slug(owner) if owner else "weekly")
            paths += write_outbox(config.outbox_dir, stem, message, rendered.html)
    return paths
