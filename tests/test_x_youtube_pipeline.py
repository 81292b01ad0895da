"""X and YouTube through the whole pipeline: a comment posted to the sandbox is classified,
hidden on the platform, then restored by an administrator's action. Real tweepy / requests over
real HTTP, real stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from tests.support import TOKEN, calls, make_config, make_runtime, post_comment, remote, space_toml
from watcher import pipeline
from watcher.store.models import Action, Comment

INSULT = "Mange de la marde, espèce d'idiot."
THANKS = "Merci pour l'information, bonne journée à toute l'équipe!"
CRITICISM = "Cette décision sur le transport est mal communiquée et injuste pour les familles."

X_ACCOUNT = "1500000000000000001"
CHANNEL = "UCcssdelajonquiere00001"
PLATFORMS = {
    "x": (X_ACCOUNT, '{ user_token = "env:VIGIE_TEST_TOKEN" }'),
    "youtube": (CHANNEL, '{ access_token = "env:VIGIE_TEST_TOKEN" }'),
}


@pytest.fixture(params=sorted(PLATFORMS))
def platform(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def runtime(sandbox, tmp_path: Path, database_url: str, platform: str):
    account, secrets = PLATFORMS[platform]
    sandbox.state.ensure_space(platform, account, "CSS De La Jonquière")
    sandbox.state.add_post(platform, account, "La rentrée scolaire aura lieu le 28 août.")
    config = make_config(
        tmp_path,
        [space_toml("space", sandbox.url, platform=platform, platform_id=account,
                    secrets=secrets)],
        database_url=database_url,
    )
    opened = make_runtime(config)
    yield opened
    opened.close()


def test_comment_hidden_then_restored_by_an_administrator(sandbox, runtime, platform) -> None:
    account = PLATFORMS[platform][0]
    insult = post_comment(sandbox.url, account, INSULT, platform=platform,
                          author_name="Troll Anonyme")
    thanks = post_comment(sandbox.url, account, THANKS, platform=platform,
                          author_name="Julie Tremblay")
    critic = post_comment(sandbox.url, account, CRITICISM, platform=platform,
                          author_name="Marc Gagnon")

    outcome = pipeline.poll_space(runtime, "space")
    assert outcome.ok and outcome.classified == 3
    assert remote(sandbox.url, insult)["hidden"] is True
    assert remote(sandbox.url, thanks)["hidden"] is False
    assert remote(sandbox.url, critic)["hidden"] is False  # criticism without insult stays up
    if platform == "youtube":
        assert remote(sandbox.url, insult)["moderation_status"] == "heldForReview"

    with runtime.store.session() as session:
        row = session.exec(select(Comment).where(Comment.platform_id == insult)).one()
        assert row.platform_state == "hidden"
        session.add(Action(comment_id=row.id, kind="unhide", requested_by="admin:julie",
                           reason="faux positif"))
    assert pipeline.run_actions(runtime, "space") == 1
    assert remote(sandbox.url, insult)["hidden"] is False
    if platform == "youtube":
        assert remote(sandbox.url, insult)["moderation_status"] == "published"
    with runtime.store.session() as session:
        row = session.exec(select(Comment).where(Comment.platform_id == insult)).one()
        assert row.platform_state == "visible"

    again = pipeline.poll_space(runtime, "space", force=True)
    assert again.ok and again.new_comments == 0
    assert not any(c["over_limit"] for c in calls(sandbox.url, platform=platform))
    assert TOKEN  # the lead's shared test token works as the space's credential
