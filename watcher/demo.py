"""``vigie demo``: the real daemon against the sandbox, on a bundled French scenario.

Starts the sandbox with ``config/demo/scenario.json`` (a school service centre's Page), writes a
configuration pointing one enforce-mode space at it, runs the daemon until every comment is
judged and every action carried out, then prints what was hidden, queued and left up, and why,
and checks the sandbox's own state against the scenario's expectations.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from connectors.sandbox.server import SandboxServer, load_scenario
from watcher.categories import label
from watcher.config import load_config
from watcher.daemon import Daemon
from watcher.i18n import _, current_language
from watcher.resources import shipped
from watcher.store.models import Action, Comment, Verdict

SCENARIO = shipped("demo", "scenario.json")
TOKEN_ENV = "VIGIE_DEMO_PAGE_TOKEN"  # noqa: S105 - the name of a variable

CONFIG_TEMPLATE = """\
# Written by `vigie demo`: one enforce-mode space on the local sandbox.
[vigie]
language = "{language}"
state_dir = "{state_dir}"

[scheduler]
poll_interval = 10
jitter = 0
action_interval = 1

[report]
recipients = ["communications@csjonquiere.qc.ca"]

[alerts]
recipients = ["communications@csjonquiere.qc.ca"]
sysadmin = ["ti@csjonquiere.qc.ca"]

[[spaces]]
id = "css-facebook"
platform = "facebook"
platform_id = "{page_id}"
name = "{page_name}"
owner = "Service du secrétariat général et des communications"
contacts = ["communications@csjonquiere.qc.ca"]
approval_ref = "SGC-2024-017"
approval_date = 2024-09-03
administrators = ["Équipe des communications"]
mode = "enforce"
poll_interval = 10
api_base_url = "{api_base_url}"
secrets = {{ page_token = "env:{token_env}" }}
"""


def _excerpt(text: str, length: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


def _settled(store: Any, expected: int) -> bool:
    with store.session() as session:
        total = session.exec(select(sa.func.count()).select_from(Comment)).one()
        unclassified = session.exec(
            select(sa.func.count()).select_from(Comment).where(col(Comment.classified).is_(False))
        ).one()
        open_actions = session.exec(
            select(sa.func.count())
            .select_from(Action)
            .where(col(Action.state).in_(("requested", "in_flight")))
        ).one()
    return total >= expected and unclassified == 0 and open_actions == 0


def run_demo(out: Path, timeout: float = 50.0) -> int:
    """Run the demo in ``out``; return 0 when it ran end to end (its check is printed)."""
    started = time.monotonic()
    scenario = json.loads(SCENARIO.read_text(encoding="utf-8"))
    page = scenario["spaces"][0]
    out.mkdir(parents=True, exist_ok=True)
    with SandboxServer() as server:
        count = load_scenario(server.state, SCENARIO)
        config_path = out / "vigie.toml"
        config_path.write_text(
            CONFIG_TEMPLATE.format(
                language=current_language(),
                state_dir=(out / "state").resolve(),
                page_id=page["id"],
                page_name=page.get("name", page["id"]).replace('"', "'"),
                api_base_url=server.url,
                token_env=TOKEN_ENV,
            ),
            encoding="utf-8",
        )
        os.chmod(config_path, 0o600)
        os.environ[TOKEN_ENV] = "demo-page-token"
        config = load_config(config_path)
        print(_("Sandbox started at {url} with {count} comments on the Page “{name}”.").format(
            url=server.url, count=count, name=page.get("name", page["id"])))
        daemon = Daemon(config, config_path=config_path)
        daemon.start()
        try:
            assert daemon.runtime is not None
            store = daemon.runtime.store
            while not _settled(store, count):
                if time.monotonic() - started > timeout:
                    print(_("The demo did not settle within {s} seconds.").format(s=int(timeout)))
                    return 1
                time.sleep(0.3)
        finally:
            daemon.stop()
        return _summarize(config, scenario, server, out, time.monotonic() - started)


def _summarize(config: Any, scenario: dict, server: SandboxServer, out: Path,
               elapsed: float) -> int:
    from watcher.store.db import Store

    store = Store(config.database_url)
    language = current_language()
    expectations = {
        (c["text"], c.get("author_name", "Anonyme")): c.get("expected", "allow")
        for c in scenario["comments"]
    }
    groups: dict[str, list[tuple[Comment, Verdict]]] = {"hide": [], "review": [], "allow": []}
    with store.session() as session:
        for comment, verdict in session.exec(
            select(Comment, Verdict).join(Verdict, col(Verdict.comment_id) == Comment.id)
            .order_by(col(Comment.created_time))
        ):
            key = "hide" if verdict.decision == "hide" else (
                "review" if verdict.decision == "review" else "allow")
            groups[key].append((comment, verdict))
    store.dispose()

    def reason(verdict: Verdict) -> str:
        if verdict.evidence:
            first = verdict.evidence[0]
            return first.get("message_fr" if language == "fr" else "message_en", "")
        return ", ".join(label(c) for c in verdict.categories)

    print()
    print(_("Hidden on the platform ({n}):").format(n=len(groups["hide"])))
    for comment, verdict in groups["hide"]:
        print(f"  ✗ « {_excerpt(comment.text)} » — {reason(verdict)}")
    print()
    print(_("Queued for an administrator's review ({n}):").format(n=len(groups["review"])))
    for comment, verdict in groups["review"]:
        print(f"  ? « {_excerpt(comment.text)} » — {reason(verdict)}")
    print()
    print(_("Left up ({n}): thanks, questions, criticism without insult…").format(
        n=len(groups["allow"])))
    for comment, _verdict in groups["allow"][:8]:
        print(f"  ✓ « {_excerpt(comment.text)} »")
    if len(groups["allow"]) > 8:
        print("  " + _("… and {n} more.").format(n=len(groups["allow"]) - 8))

    # What the platform itself now shows, against what the scenario expects.
    wrongful, missed = [], []
    with server.state.locked() as state:
        remote = list(state.comments.values())
    for item in remote:
        expected = expectations.get((item.text, item.author_name), "allow")
        if item.hidden and expected == "allow":
            wrongful.append(item)
        if not item.hidden and expected == "hide":
            missed.append(item)
    hidden_categories = Counter(
        c for _comment, verdict in groups["hide"] for c in verdict.categories[:1]
    )
    print()
    print(_("By category (hidden):"))
    for category, n in hidden_categories.most_common():
        print(f"  {n:4d}  {label(category)}")
    outbox = _write_outbox(config)
    for path in outbox:
        print(_("Digest written: {path}").format(path=path))
    print()
    print(
        _("Sandbox check: {hidden} hidden, {wrongful} acceptable comment(s) hidden by mistake, "
          "{missed} litigious comment(s) left visible. ({seconds:.1f} s)").format(
            hidden=sum(1 for r in remote if r.hidden), wrongful=len(wrongful),
            missed=len(missed), seconds=elapsed)
    )
    for item in wrongful:
        print("  " + _("hidden by mistake: «{text}»").format(text=_excerpt(item.text)))
    for item in missed:
        print("  " + _("left visible: «{text}»").format(text=_excerpt(item.text)))
    print(_("Store and configuration of this demo: {path}").format(path=out.resolve()))
    # The run itself succeeded: the check above says how well the classifier did.
    return 0


def _write_outbox(config: Any) -> list[Path]:
    """Write the weekly digest the demo would send into the outbox (.eml and .html)."""
    from reports.service import write_demo_outbox
    from watcher.store.db import Store

    store = Store(config.database_url)
    try:
        return write_demo_outbox(config, store)
    finally:
        store.dispose()
