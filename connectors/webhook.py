"""Facebook Page (and Instagram) webhooks: comments pushed within seconds, polling as safety net.

``vigie webhook`` runs a small Flask app that

- answers the subscription challenge (``GET`` with ``hub.mode=subscribe``, ``hub.verify_token``,
  ``hub.challenge``);
- checks ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app secret, compared in
  constant time) and refuses any delivery without a valid one;
- de-duplicates: Meta retries a delivery for up to 36 hours, so every change is keyed by the
  hash of its content in the ``webhook_deliveries`` table and handled once;
- hands the comments of ``feed`` changes (``item=comment``, ``verb=add``) and of Instagram
  ``comments`` changes to a callback ``(space id, comments)`` — in the daemon, the pipeline's
  ``ingest_and_process``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, request
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import select

from connectors.base import RemoteComment
from connectors.errors import BadPayload
from connectors.graph import _, parse_time
from watcher.store.db import Store
from watcher.store.models import WebhookDelivery

log = logging.getLogger(__name__)

Handler = Callable[[str, list[RemoteComment]], None]
MAX_BODY = 1024 * 1024  # Meta batches at most 1000 changes; a megabyte is plenty


def signature_ok(app_secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` (``sha256=<hex>``) is the HMAC-SHA256 of ``body`` with the secret."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256="):].strip().lower())


def change_key(platform: str, entry_id: str, change: Mapping[str, Any]) -> str:
    """The de-duplication key of one change: a hash of its canonical JSON."""
    canonical = json.dumps([platform, entry_id, change], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _time(value: Any) -> dt.datetime:
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return parse_time(value)


def comment_from_feed_change(page_id: str, value: Mapping[str, Any]) -> RemoteComment | None:
    """Given the ``value`` of a Page ``feed`` change, return the new comment, if it is one."""
    if value.get("item") != "comment" or value.get("verb") != "add":
        return None
    if not value.get("comment_id"):
        raise BadPayload(_("The platform sent a comment without an id."))
    author = value.get("from") if isinstance(value.get("from"), Mapping) else {}
    post_id = str(value["post_id"]) if value.get("post_id") else None
    parent = str(value["parent_id"]) if value.get("parent_id") else None
    author_id = str(author["id"]) if author.get("id") else None
    return RemoteComment(
        platform_id=str(value["comment_id"]),
        text=str(value.get("message") or ""),
        created_time=_time(value.get("created_time")),
        author_id=author_id,
        author_name=author.get("name"),
        post_id=post_id,
        parent_id=parent if parent != post_id else None,  # a top-level comment's parent is the post
        by_owner=author_id == page_id,
        author_meta={"name_given": bool(author.get("name"))},
    )


def comment_from_instagram_change(account_id: str, value: Mapping[str, Any],
                                  received: dt.datetime) -> RemoteComment | None:
    """Given the ``value`` of an Instagram ``comments`` change, return the comment."""
    if not value.get("id"):
        raise BadPayload(_("The platform sent a comment without an id."))
    author = value.get("from") if isinstance(value.get("from"), Mapping) else {}
    media = value.get("media") if isinstance(value.get("media"), Mapping) else {}
    author_id = str(author["id"]) if author.get("id") else None
    return RemoteComment(
        platform_id=str(value["id"]),
        text=str(value.get("text") or ""),
        created_time=received,  # Instagram's change carries no time: use the delivery's
        author_id=author_id,
        author_name=author.get("username"),
        post_id=str(media["id"]) if media.get("id") else None,
        parent_id=str(value["parent_id"]) if value.get("parent_id") else None,
        by_owner=author_id == account_id,
        author_meta={"username": author["username"]} if author.get("username") else {},
    )


def parse_delivery(payload: Any, received: dt.datetime
                   ) -> list[tuple[str, str, str, RemoteComment | None]]:
    """Given a delivery's JSON, return (key, platform, account id, comment or None) per change.

    Raise BadPayload if the delivery is not shaped like a Graph webhook.
    """
    if not isinstance(payload, Mapping) or not isinstance(payload.get("entry"), list):
        raise BadPayload(_("The webhook delivery is not a Graph webhook."))
    obj = payload.get("object")
    platform = {"page": "facebook", "instagram": "instagram"}.get(str(obj))
    out: list[tuple[str, str, str, RemoteComment | None]] = []
    if platform is None:
        return out
    for entry in payload["entry"]:
        if not isinstance(entry, Mapping):
            raise BadPayload(_("The webhook delivery is not a Graph webhook."))
        account = str(entry.get("id", ""))
        for change in entry.get("changes") or []:
            if not isinstance(change, Mapping) or not isinstance(change.get("value"), Mapping):
                raise BadPayload(_("The webhook delivery is not a Graph webhook."))
            key = change_key(platform, account, change)
            comment = None
            if platform == "facebook" and change.get("field") == "feed":
                comment = comment_from_feed_change(account, change["value"])
            elif platform == "instagram" and change.get("field") == "comments":
                comment = comment_from_instagram_change(account, change["value"], received)
            out.append((key, platform, account, comment))
    return out


def create_app(
    *,
    store: Store,
    spaces: Mapping[tuple[str, str], str],
    app_secret: str,
    verify_token: str,
    handler: Handler,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> Flask:
    """Return the webhook app.

    ``spaces`` maps (platform, platform id) to the space id of every approved space; changes
    for any other Page or account are acknowledged and ignored.
    """
    app = Flask("vigie-webhook")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY

    @app.get("/webhook")
    def verify() -> Response:
        mode = request.args.get("hub.mode", "")
        token = request.args.get("hub.verify_token", "")
        challenge = request.args.get("hub.challenge", "")
        if mode == "subscribe" and hmac.compare_digest(token.encode(), verify_token.encode()):
            return Response(challenge, 200, mimetype="text/plain")
        return Response("forbidden", 403, mimetype="text/plain")

    @app.post("/webhook")
    def deliver() -> Response:
        body = request.get_data(cache=False)
        if not signature_ok(app_secret, body, request.headers.get("X-Hub-Signature-256")):
            log.warning("webhook delivery refused: bad or missing X-Hub-Signature-256")
            return Response("bad signature", 403, mimetype="text/plain")
        try:
            changes = parse_delivery(json.loads(body), clock())
        except (ValueError, BadPayload) as error:
            log.warning("webhook delivery refused: %s", error)
            return Response("bad payload", 400, mimetype="text/plain")
        handled = handle_changes(store, spaces, changes, handler, clock())
        return Response(json.dumps({"handled": handled}), 200, mimetype="application/json")

    return app


def handle_changes(
    store: Store,
    spaces: Mapping[tuple[str, str], str],
    changes: Iterable[tuple[str, str, str, RemoteComment | None]],
    handler: Handler,
    now: dt.datetime,
) -> int:
    """Hand the comments of changes not handled before to ``handler``; return how many.

    A change's key is recorded only after its comments were handed over, so a delivery that
    failed half-way is handled again when Meta retries it (the pipeline stores idempotently).
    """
    changes = list(changes)
    keys = [key for key, *_rest in changes]
    with store.session() as session:
        done = set(session.exec(select(WebhookDelivery.key).where(
            WebhookDelivery.key.in_(keys))))  # type: ignore[attr-defined]
    by_space: dict[str, list[RemoteComment]] = {}
    new_keys: list[str] = []
    for key, platform, account, comment in changes:
        if key in done or key in new_keys:
            continue
        new_keys.append(key)
        space_id = spaces.get((platform, account))
        if comment is None:
            continue
        if space_id is None:
            log.info("webhook change for %s %s, which is not an approved space", platform,
                     account)
            continue
        by_space.setdefault(space_id, []).append(comment)
    count = 0
    for space_id, comments in by_space.items():
        handler(space_id, comments)
        count += len(comments)
    if new_keys:
        table = WebhookDelivery.__table__
        with store.session() as session:
            insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
            for key in new_keys:
                session.execute(insert(table).values(key=key, received_at=now)
                                .on_conflict_do_nothing())
    return count


def purge_deliveries(store: Store, older_than: dt.datetime) -> int:
    """Forget deliveries older than Meta's 36 hours of retries; return how many."""
    with store.session() as session:
        result = session.execute(sa.delete(WebhookDelivery.__table__).where(  # type: ignore
            WebhookDelivery.__table__.c.received_at < older_than))  # type: ignore[attr-defined]
        return int(result.rowcount or 0)


# --- the ``vigie webhook`` command -------------------------------------------------------


def cmd_webhook(args: argparse.Namespace) -> int:
    from watcher import secrets as secret_store
    from watcher.config import load_config
    from watcher.errors import ConfigError
    from watcher.pipeline import ingest_and_process
    from watcher.runtime import Runtime
    from watcher.wsgi import WsgiServer, parse_listen

    config = load_config(args.config)
    hook = config.webhook
    if not hook.enabled:
        raise ConfigError(_("Webhooks are disabled in the configuration ([webhook] enabled = "
                            "false)."))
    if not hook.app_secret or not hook.verify_token:
        raise ConfigError(_("Webhooks need [webhook] app_secret and verify_token (references "
                            "env:NAME or credential:NAME)."))
    app_secret = secret_store.resolve(hook.app_secret)
    verify_token = secret_store.resolve(hook.verify_token)
    listen = args.listen or hook.listen
    parse_listen(listen)  # a wrong address is said before the store is opened
    runtime = Runtime.open(config)
    spaces = {(s.platform, s.platform_id): s.id for s in runtime.spaces()
              if s.platform in ("facebook", "instagram")}

    def handler(space_id: str, comments: list[RemoteComment]) -> None:
        ingest_and_process(runtime, space_id, comments)

    purge_deliveries(runtime.store, dt.datetime.now(dt.UTC) - dt.timedelta(hours=48))
    app = create_app(store=runtime.store, spaces=spaces, app_secret=app_secret,
                     verify_token=verify_token, handler=handler)
    try:
        server = WsgiServer(app, listen, threads=args.threads, ident="vigie-webhook")
        print(_("Webhook listening on {url}/webhook for {count} spaces (Ctrl-C to "
                "stop).").format(url=server.url, count=len(spaces)), flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "webhook", help=_("receive Facebook and Instagram webhooks (comments within seconds)"))
    parser.add_argument("--listen", metavar="HOST:PORT",
                        help=_("address to listen on (default: [webhook] listen)"))
    parser.add_argument("--threads", type=int, default=8, metavar="N",
                        help=_("requests served at once (default: 8)"))
    parser.set_defaults(func=cmd_webhook)
