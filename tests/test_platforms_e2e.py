"""Each platform end to end over real HTTP with its real SDK: a comment posted to the sandbox
is classified, hidden, then restored by an administrator's action."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from tests.support import make_config, make_runtime, post_comment, remote, space_toml
from watcher import audit, pipeline
from watcher.store.models import Action, Comment

ACCOUNTS = {
    "facebook": "100064000000031",
    "instagram": "17841400000000031",
    "x": "1500000000000000031",
    "youtube": "UCsandboxChannel0000031",
}
INSULT = "Mange de la marde, espèce d'idiot."
THANKS = "Merci beaucoup pour votre travail auprès des élèves!"


@pytest.mark.parametrize("platform", sorted(ACCOUNTS))
def test_hidden_then_restored_by_an_administrator(platform: str, sandbox, tmp_path: Path,
                                                  database_url: str) -> None:
    account = ACCOUNTS[platform]
    config = make_config(
        tmp_path,
        [space_toml("space", sandbox.url, platform=platform, platform_id=account)],
        database_url=database_url,
    )
    runtime = make_runtime(config)
    try:
        insult = post_comment(sandbox.url, account, INSULT, platform=platform,
                              author_name="Compte Jetable")
        thanks = post_comment(sandbox.url, account, THANKS, platform=platform,
                              author_name="Annie Lavoie")

        outcome = pipeline.poll_space(runtime, "space")

        assert outcome.ok, outcome.error
        assert remote(sandbox.url, insult)["hidden"] is True
        assert remote(sandbox.url, thanks)["hidden"] is False

        # An administrator restores it (as the console does: a request the daemon carries out).
        with runtime.store.session() as session:
            comment = session.exec(select(Comment).where(Comment.platform_id == insult)).one()
            comment.review_status = "restored"
            session.add(comment)
            session.add(Action(comment_id=comment.id, kind="unhide",
                               requested_by="admin:marie", reason="faux positif"))
            audit.record(session, "admin:marie", "review.restore", space_id="space",
                         comment_id=comment.id)
        assert pipeline.run_actions(runtime, "space") == 1
        assert remote(sandbox.url, insult)["hidden"] is False
        with runtime.store.session() as session:
            comment = session.exec(select(Comment).where(Comment.platform_id == insult)).one()
            assert comment.platform_state == "visible"
            unhide = session.exec(select(Action).where(Action.kind == "unhide")).one()
            assert unhide.state == "done" and unhide.requested_by == "admin:marie"
    finally:
        runtime.close()
