"""The console's pages: login, queue, item, decisions, digests, language."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlmodel import Session, col, func, select

from watcher import audit
from watcher.categories import CATEGORIES, CATEGORY_IDS
from watcher.console import accounts, review
from watcher.console.app import REPORT_CSP, console
from watcher.console.i18n import _, ngettext
from watcher.store.models import Report, User

log = logging.getLogger(__name__)
blueprint = Blueprint("console", __name__)

DIGEST_KINDS = ("weekly", "direction")
REPORTS_PER_PAGE = 30


def _allowed(db: Session) -> set[str] | None:
    return accounts.allowed_space_ids(console().config, db, g.user.scope)


def _require_moderation() -> None:
    if g.user.role != "moderation":
        abort(403)


def _safe_next(value: str | None) -> str | None:
    """Keep only a path of this site (never another host) as a place to return to."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    return value


def _ip() -> str:
    return request.remote_addr or "unknown"


# --- Session -------------------------------------------------------------------------------


@blueprint.get("/")
def index() -> Any:
    return redirect(url_for(".queue"))


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if g.user is not None:
        return redirect(url_for(".queue"))
    ctx = console()
    next_url = _safe_next(request.values.get("next"))
    error = None
    status = 200
    if request.method == "POST":
        username = request.form.get("username", "")[:200]
        password = request.form.get("password", "")[: accounts.MAX_PASSWORD_LENGTH]
        ip = _ip()
        minutes = int(ctx.login_policy.lockout.total_seconds() // 60)
        locked_message = _(
            "Too many failed attempts: this account is locked for {minutes} minutes. "
            "Try again later, or ask the administrator to set a new password."
        ).format(minutes=minutes)
        if ctx.ip_blocked(ip):
            error = _(
                "Too many failed attempts from this address. Try again in {minutes} minutes."
            ).format(minutes=minutes)
            status = 429
            log.warning("console login refused: address %s is throttled", ip)
        else:
            signed_in: User | None = None
            with ctx.store.session() as db:
                user = accounts.get_user(db, username) if username.strip() else None
                if user is not None and accounts.is_locked(user):
                    accounts.verify_password(None, password)  # same cost as a real check
                    ctx.note_ip_failure(ip)
                    error, status = locked_message, 429
                elif accounts.verify_password(user.password_hash if user else None, password) and (
                    user is not None and not user.disabled
                ):
                    accounts.note_success(db, user, password)
                    audit.record(
                        db, f"admin:{user.username}", "console.login", details={"ip": ip}
                    )
                    signed_in = user
                else:
                    ctx.note_ip_failure(ip)
                    log.warning("console login failed for %r from %s", username, ip)
                    if user is not None and accounts.note_failure(
                        db, user, ctx.login_policy, ip
                    ):
                        error, status = locked_message, 429
                    else:
                        error, status = _("Unknown user name or wrong password."), 401
            if signed_in is not None:
                session.clear()
                session.permanent = True
                session["uid"] = signed_in.id
                session["pwd"] = accounts.password_fingerprint(signed_in.password_hash)
                session["seen"] = int(dt.datetime.now(dt.UTC).timestamp())
                return redirect(next_url or url_for(".queue"))
    expired = bool(request.args.get("expired"))
    return render_template(
        "login.html", error=error, next_url=next_url, expired=expired
    ), status


@blueprint.post("/logout")
def logout() -> Any:
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for(".login"))


@blueprint.post("/language")
def language() -> Any:
    chosen = request.form.get("lang")
    if chosen not in ("fr", "en"):
        abort(400)
    session["lang"] = chosen
    if g.user is not None:
        with console().store.session() as db:
            user = db.get(User, g.user.id)
            if user is not None:
                user.language = chosen
                db.add(user)
    return redirect(_safe_next(request.form.get("next")) or url_for(".queue"))


# --- Queue ---------------------------------------------------------------------------------


def _parse_date(value: str | None, errors: list[str]) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors.append(_("“{value}” is not a date (expected YYYY-MM-DD).").format(value=value[:40]))
        return None


def _parse_filter(args: Any, visible: dict[str, str]) -> tuple[review.QueueFilter, list[str]]:
    errors: list[str] = []
    space = args.get("space") or None
    if space and space not in visible:
        errors.append(_("Unknown space: the filter on the space was ignored."))
        space = None
    category = args.get("category") or None
    if category and category not in CATEGORY_IDS:
        errors.append(_("Unknown category: the filter on the category was ignored."))
        category = None
    status = args.get("status") or "todo"
    if status not in review.STATUSES:
        errors.append(_("Unknown status: showing the items to review."))
        status = "todo"
    try:
        page = max(1, int(args.get("page", 1)))
    except ValueError:
        page = 1
    flt = review.QueueFilter(
        space=space,
        category=category,
        status=status,
        date_from=_parse_date(args.get("from"), errors),
        date_to=_parse_date(args.get("to"), errors),
        page=page,
    )
    return flt, errors


def _filter_args(flt: review.QueueFilter, **changes: Any) -> dict[str, Any]:
    args = {
        "space": flt.space,
        "category": flt.category,
        "status": flt.status,
        "from": flt.date_from.isoformat() if flt.date_from else None,
        "to": flt.date_to.isoformat() if flt.date_to else None,
        "page": flt.page if flt.page > 1 else None,
    }
    args.update(changes)
    return {key: value for key, value in args.items() if value not in (None, "")}


def _visible_spaces(db: Session) -> dict[str, str]:
    names = console().space_names()
    allowed = _allowed(db)
    return {
        space_id: name
        for space_id, name in sorted(names.items(), key=lambda item: item[1].lower())
        if allowed is None or space_id in allowed
    }


def status_choices() -> list[tuple[str, str]]:
    return [
        ("todo", _("To review")),
        ("hidden", _("Hidden on the platform")),
        ("pending", _("Waiting for review")),
        ("confirmed", _("Hide confirmed")),
        ("restored", _("Restored")),
        ("false_alarm", _("False alarm")),
        ("reclassified", _("Reclassified")),
        ("all", _("All")),
    ]


@blueprint.get("/queue")
def queue() -> Any:
    ctx = console()
    with ctx.store.session() as db:
        visible = _visible_spaces(db)
        flt, errors = _parse_filter(request.args, visible)
        page = review.queue(db, flt, _allowed(db), ctx.tz)
    for message in errors:
        flash(message, "error")
    query = urlencode(_filter_args(flt))
    return render_template(
        "queue.html",
        page=page,
        flt=flt,
        spaces=visible,
        categories=CATEGORIES,
        statuses=status_choices(),
        filter_args=lambda **changes: _filter_args(flt, **changes),
        back=url_for(".queue") + ("?" + query if query else ""),
        can_act=g.user.role == "moderation",
        bulk_decisions=review.BULK_DECISIONS,
        bulk_limit=review.BULK_LIMIT,
    )


def decision_names() -> dict[str, str]:
    return {
        "confirm": _("Confirm the hide"),
        "restore": _("Restore (show again)"),
        "false_alarm": _("False alarm (restore)"),
        "reclassify": _("Reclassify"),
        "delete": _("Delete from the platform"),
    }


@blueprint.post("/queue/bulk")
def bulk() -> Any:
    _require_moderation()
    ctx = console()
    back = _safe_next(request.form.get("back")) or url_for(".queue")
    decision = request.form.get("decision", "")
    category = request.form.get("category") or None
    reason = request.form.get("reason", "")
    ids: list[int] = []
    for value in request.form.getlist("ids")[: review.PAGE_SIZE * 4]:
        try:
            ids.append(int(value))
        except ValueError:
            continue
    if request.form.get("target") == "filter":
        with ctx.store.session() as db:
            source = {k[2:]: v for k, v in request.form.items() if k.startswith("f_")}
            flt, _errors = _parse_filter(source, _visible_spaces(db))
            ids = review.filtered_ids(db, flt, _allowed(db), ctx.tz)
    if decision not in review.BULK_DECISIONS:
        flash(_("Choose what to do with the selected items."), "error")
        return redirect(back)
    if not ids:
        flash(_("Select at least one item."), "error")
        return redirect(back)
    if decision == "reclassify" and category not in CATEGORY_IDS:
        flash(_("Choose the category to file the selected items under."), "error")
        return redirect(back)
    done = 0
    skipped: list[str] = []
    with ctx.store.session() as db:
        allowed = _allowed(db)
        for comment_id in dict.fromkeys(ids):
            item = review.load_item(db, comment_id, allowed)
            if item is None:
                skipped.append(_("item {id}: not found").format(id=comment_id))
                continue
            try:
                review.decide(
                    db, ctx.config, item, decision, g.user.username,
                    reason=reason, category=category,
                )
            except review.DecisionError as error:
                skipped.append(f"{comment_id}: {error.message}")
                continue
            done += 1
    flash(
        ngettext("{count} item handled.", "{count} items handled.", done).format(count=done),
        "success" if done else "info",
    )
    for line in skipped[:10]:
        flash(_("Not handled: {reason}").format(reason=line), "error")
    return redirect(back)


# --- One item ------------------------------------------------------------------------------


@blueprint.get("/items/<int:comment_id>")
def item(comment_id: int) -> Any:
    ctx = console()
    with ctx.store.session() as db:
        found = review.load_item(db, comment_id, _allowed(db))
    if found is None:
        abort(404)
    names = ctx.space_names()
    return render_template(
        "item.html",
        item=found,
        space_name=names.get(found.comment.space_id, found.comment.space_id),
        can_act=g.user.role == "moderation",
        can_delete=review.can_delete(ctx.config, found.comment.space_id),
        categories=CATEGORIES,
        decisions=decision_names(),
        back=_safe_next(request.args.get("back")) or url_for(".queue"),
    )


@blueprint.post("/items/<int:comment_id>/decide")
def decide(comment_id: int) -> Any:
    _require_moderation()
    ctx = console()
    decision = request.form.get("decision", "")
    target = url_for(".item", comment_id=comment_id)
    with ctx.store.session() as db:
        found = review.load_item(db, comment_id, _allowed(db))
        if found is None:
            abort(404)
        try:
            outcome = review.decide(
                db,
                ctx.config,
                found,
                decision,
                g.user.username,
                reason=request.form.get("reason", ""),
                category=request.form.get("category") or None,
            )
        except review.DecisionError as error:
            flash(error.message, "error")
            return redirect(target)
    messages = {
        "confirm": _("The hide is confirmed."),
        "restore": _("Restore recorded."),
        "false_alarm": _("Marked as a false alarm."),
        "reclassify": _("Reclassified."),
        "delete": _("Deletion recorded."),
    }
    text = messages[outcome.decision]
    if outcome.action_kind:
        text += " " + _(
            "Vigie will carry it out on the platform within a few seconds; "
            "reload this page to follow it."
        )
    flash(text, "success")
    return redirect(target)


# --- Statistics ----------------------------------------------------------------------------

STAT_PERIODS = (7, 30, 90, 365)


@blueprint.get("/stats")
def stats() -> Any:
    ctx = console()
    try:
        days = int(request.args.get("days", 30))
    except ValueError:
        days = 30
    if days not in STAT_PERIODS:
        days = 30
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    with ctx.store.session() as db:
        per_space, per_category = review.statistics(db, _allowed(db), since)
    return render_template(
        "stats.html",
        per_space=per_space,
        per_category=per_category,
        names=ctx.space_names(),
        days=days,
        periods=STAT_PERIODS,
        since=since,
    )


# --- Digests -------------------------------------------------------------------------------


def _reports_query(db: Session) -> Any:
    statement = select(Report).where(col(Report.kind).in_(DIGEST_KINDS))
    if g.user.scope != accounts.ALL_SPACES:
        allowed = sorted(_allowed(db) or set())
        statement = statement.where(col(Report.scope).in_([g.user.scope, *allowed]))
    return statement


@blueprint.get("/reports")
def reports() -> Any:
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    with console().store.session() as db:
        statement = _reports_query(db)
        total = db.exec(select(func.count()).select_from(statement.subquery())).one()
        pages = max(1, -(-int(total) // REPORTS_PER_PAGE))
        page = min(page, pages)
        items = db.exec(
            statement.order_by(col(Report.created_at).desc(), col(Report.id).desc())
            .offset((page - 1) * REPORTS_PER_PAGE)
            .limit(REPORTS_PER_PAGE)
        ).all()
    return render_template("reports.html", reports=items, page=page, pages=pages, total=total)


def _report_or_404(report_id: int) -> Report:
    with console().store.session() as db:
        found = db.exec(_reports_query(db).where(Report.id == report_id)).first()
    if found is None:
        abort(404)
    return found


@blueprint.get("/reports/<int:report_id>")
def report(report_id: int) -> Any:
    return render_template("report.html", report=_report_or_404(report_id))


@blueprint.get("/reports/<int:report_id>/content")
def report_content(report_id: int) -> Any:
    found = _report_or_404(report_id)
    if found.html:
        response = make_response(found.html)
        response.mimetype = "text/html"
    else:
        response = make_response(found.text)
        response.mimetype = "text/plain"
    response.headers["Content-Security-Policy"] = REPORT_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
