"""The review console driven by a real browser (Debian's chromium), end to end on the sandbox.

Vigie polls the sandbox and hides an insult; an administrator logs in, finds it in the queue,
restores it; the daemon's action runner carries the request out, and the sandbox reports the
comment visible again.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import make_config, make_runtime, post_comment, remote, space_toml
from watcher import pipeline
from watcher.console import accounts, create_app
from watcher.wsgi import WsgiServer

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGE_ID = "100064000000077"
INSULT = "Mange de la marde, espèce d'idiot."
THANKS = "Merci pour l'information, bonne journée à toute l'équipe!"
PASSWORD = "un mot de passe assez long"


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _shot_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("VIGIE_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_restore_a_hidden_comment_from_the_browser(
    browser: Any, sandbox: Any, tmp_path: Path
) -> None:
    pytest.importorskip("connectors.facebook")
    config = make_config(
        tmp_path,
        [space_toml("ecole-a", sandbox.url, platform_id=PAGE_ID, owner="École secondaire A")],
        database_url=f"sqlite:///{tmp_path / 'vigie.db'}",
    )
    runtime = make_runtime(config)
    try:
        with runtime.store.session() as db:
            accounts.add_user(db, config, "marie", PASSWORD, role="moderation",
                              display_name="Marie Gagnon")
        insult = post_comment(sandbox.url, PAGE_ID, INSULT, author_name="Troll Anonyme")
        post_comment(sandbox.url, PAGE_ID, THANKS, author_name="Julie Tremblay")
        assert pipeline.poll_space(runtime, "ecole-a").ok
        assert remote(sandbox.url, insult)["hidden"] is True

        app = create_app(config, runtime.store)
        shots = _shot_dir(tmp_path)
        with WsgiServer(app) as server:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="fr-CA")
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))

            page.goto(f"{server.url}/queue")
            assert page.url.startswith(f"{server.url}/login")
            page.get_by_label("Nom d’utilisateur").fill("marie")
            page.get_by_label("Mot de passe").fill(PASSWORD)
            page.get_by_role("button", name="Connexion").click()

            page.wait_for_url(re.compile(r".*/queue.*"))
            assert page.locator("html").get_attribute("lang") == "fr-CA"
            page.keyboard.press("Tab")  # the first stop is the skip link
            assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
            assert page.get_by_role("heading", name="File de révision").is_visible()
            row = page.get_by_role("row").filter(has_text=INSULT)
            assert row.get_by_text("Masqué").is_visible()
            assert page.get_by_role("row").filter(has_text=THANKS).count() == 0
            page.screenshot(path=str(shots / "console-queue.png"), full_page=True)
            row.get_by_role("link", name=INSULT).click()

            page.wait_for_url(re.compile(r".*/items/\d+.*"))
            assert page.get_by_role("heading", name="Commentaire de Troll Anonyme").is_visible()
            page.get_by_label("Motif (facultatif, conservé dans l’historique)").fill(
                "Vérifié : à réafficher"
            )
            page.get_by_role("button", name="Réafficher", exact=True).click()
            page.wait_for_load_state()
            assert page.get_by_text("Réaffichage enregistré").is_visible()
            assert page.get_by_text("En attente de Vigie").is_visible()

            # The daemon's action runner (it holds the token; the console does not).
            assert pipeline.run_actions(runtime) == 1
            page.reload()
            assert page.get_by_text("En attente de Vigie").count() == 0
            history = page.get_by_role("region", name="Historique")
            restored = (
                history.get_by_role("row")
                .filter(has_text="Action sur la plateforme : Réafficher")
                .filter(has_text="Vérifié : à réafficher")
            )
            assert restored.get_by_text("Fait", exact=True).is_visible()
            assert restored.get_by_text("marie").is_visible()
            page.screenshot(path=str(shots / "console-item.png"), full_page=True)
            assert problems == []

        assert remote(sandbox.url, insult)["hidden"] is False
    finally:
        runtime.close()
