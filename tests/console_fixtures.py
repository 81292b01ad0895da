"""Helpers for the console tests: a configuration, accounts and comments in a real store."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from sqlmodel import select

from watcher.config import Config
from watcher.console import accounts
from watcher.store.db import Store
from watcher.store.models import Comment, Post, Space, Verdict

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

SPACES = (
    # id, name, owner (direction), delete_categories
    ("ecole-a", "École A — Facebook", "École secondaire A", []),
    ("ecole-b", "École B — Facebook", "École primaire B", ["commercial_pourriel"]),
)


def make_config(tmp_path: Path, **console: Any) -> Config:
    """A configuration with two spaces of two directions (validated by the real schema)."""
    spaces = [
        {
            "id": space_id,
            "platform": "facebook",
            "platform_id": f"10{index}",
            "name": name,
            "owner": owner,
            "contacts": [f"direction{index}@example.org"],
            "approval_ref": f"APP-{index}",
            "approval_date": dt.date(2026, 9, 1),
            "administrators": ["Communications"],
            "mode": "enforce",
            "delete_categories": delete,
        }
        for index, (space_id, name, owner, delete) in enumerate(SPACES)
    ]
    return Config.model_validate(
        {
            "vigie": {"state_dir": tmp_path / "state"},
            "console": {"proxy_hops": 0, **console},
            "spaces": spaces,
        }
    )


def seed_spaces(store: Store, config: Config) -> None:
    with store.session() as db:
        for space in config.spaces:
            db.add(
                Space(
                    id=space.id,
                    platform=space.platform,
                    platform_id=space.platform_id,
                    name=space.name,
                    owner=space.owner,
                    mode=space.mode,
                )
            )


def add_user(store: Store, config: Config, username: str, role: str, scope: str = "*") -> None:
    with store.session() as db:
        accounts.add_user(db, config, username, PASSWORD, role=role, scope=scope)


def add_comment(
    store: Store,
    space_id: str,
    text: str,
    *,
    platform_id: str,
    state: str = "hidden",
    decision: str = "hide",
    categories: tuple[str, ...] = ("diffamation_irrespect",),
    author: str = "Jean Tremblay",
    author_id: str = "u-1",
    post: str = "p-1",
    when: dt.datetime | None = None,
    review_status: str = "none",
) -> int:
    """Store a comment, its post and a verdict; return the comment's id."""
    when = when or dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
    with store.session() as db:
        existing = db.exec(
            select(Post).where(Post.space_id == space_id, Post.platform_id == post)
        ).first()
        if existing is None:
            db.add(Post(space_id=space_id, platform_id=post, text="Rentrée scolaire : horaires",
                        created_time=when - dt.timedelta(hours=2)))
        comment = Comment(
            space_id=space_id,
            platform="facebook",
            platform_id=platform_id,
            post_platform_id=post,
            text=text,
            author_id=author_id,
            author_name=author,
            created_time=when,
            platform_state=state,
            classified=True,
            review_status=review_status,
            decision=decision,  # as the pipeline writes it with the verdict
        )
        db.add(comment)
        db.flush()
        evidence = [
            {
                "category": category,
                "rule_id": f"{category}.test",
                "message_fr": "Propos irrespectueux envers une personne",
                "message_en": "Disrespectful words about a person",
                "span": None,
                "excerpt": text[:40],
            }
            for category in categories
        ]
        db.add(
            Verdict(
                comment_id=comment.id or 0,
                action="hide" if decision in ("hide", "observe_hide") else decision,
                decision=decision,
                mode="enforce",
                categories=list(categories),
                scores={category: 0.91 for category in categories},
                evidence=evidence,
                rule_ids=[e["rule_id"] for e in evidence],
                classifier_version="test-1",
            )
        )
        return comment.id or 0


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client: Any, username: str, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    token = csrf_token(page.get_data(as_text=True))
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def page_token(client: Any, path: str) -> str:
    return csrf_token(client.get(path).get_data(as_text=True))
