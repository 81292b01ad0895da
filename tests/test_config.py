"""Strict configuration: the shipped example loads; each broken config gives a precise message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from watcher.config import load_config, parse_config
from watcher.errors import ConfigError, SecretError
from watcher.secrets import resolve

REPO = Path(__file__).resolve().parents[1]

SPACE = """
[[spaces]]
id = "css-facebook"
platform = "facebook"
platform_id = "100064123456789"
name = "CSS De La Jonquière"
owner = "Service des communications"
contacts = ["communications@csjonquiere.qc.ca"]
approval_ref = "SGC-2024-017"
approval_date = 2024-09-03
administrators = ["Équipe des communications"]
secrets = { page_token = "env:FB_TOKEN" }
"""


def errors_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return str(caught.value)


def test_shipped_example_loads() -> None:
    config = load_config(REPO / "config" / "vigie.toml")
    assert config.spaces and config.spaces[0].approval_ref
    assert config.vigie.language == "fr"


def test_minimal_space_is_valid_and_observe_by_default() -> None:
    config = parse_config(SPACE)
    assert config.spaces[0].mode == "observe"
    assert config.poll_interval(config.spaces[0]) == 300


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[vigie]\nlanguag = 'fr'\n", "vigie.languag: clé inconnue"),
        ("[vigie]\nlanguage = 'de'\n", "vigie.language: valeur attendue parmi"),
        ("[vigie]\ntimezone = 'Mars/Olympus'\n", "fuseau horaire inconnu"),
        ("[scheduler]\npoll_interval = 2\n", "scheduler.poll_interval: doit être au moins 10"),
        ("[scheduler]\npoll_interval = 'often'\n", "un nombre entier"),
        (SPACE.replace('approval_ref = "SGC-2024-017"\n', ""), "spaces[0] (css-facebook).approval_ref"),
        (SPACE.replace('"SGC-2024-017"', '"   "'), "approbation écrite"),
        (SPACE.replace("env:FB_TOKEN", "EAAB-a-real-token"), "jamais écrits dans le fichier"),
        (SPACE.replace('"communications@csjonquiere.qc.ca"', '"not-an-address"'),
         "adresse courriel valide"),
        (SPACE.replace('platform = "facebook"', 'platform = "myspace"'), "spaces[0] (css-facebook).platform"),
        (SPACE.replace('id = "css-facebook"', 'id = "CSS Facebook!"'), "lettres minuscules"),
        (SPACE + 'mode = "delete-everything"\n', "spaces[0] (css-facebook).mode"),
        (SPACE + SPACE, "déjà utilisé"),
        ("[policy.thresholds.insultes]\nhide = 0.9\nreview = 0.5\n", "catégorie inconnue"),
        ("[policy.thresholds.illegal]\nhide = 0.3\nreview = 0.5\n", "seuil de révision"),
        ("[report]\nweekly_at = 'monday 8am'\n", "« mon 08:00 »"),
        ("[vigie\n", "n'est pas du TOML valide"),
        (SPACE.replace("approval_date = 2024-09-03", "approval_date = 'hier'"), "une date"),
    ],
)
def test_broken_configs_give_precise_messages(text: str, expected: str) -> None:
    assert expected in errors_of(text)


def test_every_error_of_a_file_is_reported_at_once() -> None:
    text = "[vigie]\nlanguag = 'fr'\n[scheduler]\njitter = -1\n" + SPACE.replace(
        "env:FB_TOKEN", "plain"
    )
    message = errors_of(text)
    assert "3 erreur(s)" in message
    assert "vigie.languag" in message and "scheduler.jitter" in message
    assert "secrets.page_token" in message


def test_messages_in_english_on_request() -> None:
    from watcher.i18n import use_language

    with use_language("en"):
        assert "unknown key" in errors_of("[vigie]\nlanguag = 'fr'\n")


def test_world_writable_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vigie.toml"
    path.write_text(SPACE, encoding="utf-8")
    os.chmod(path, 0o666)
    with pytest.raises(ConfigError, match="n'importe quel utilisateur"):
        load_config(path)


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="vigie init"):
        load_config(tmp_path / "absent.toml")


def test_secrets_from_environment_and_credentials(tmp_path: Path) -> None:
    (tmp_path / "page-token").write_text("s3cret\n", encoding="utf-8")
    environ = {"FB_TOKEN": "abc", "CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert resolve("env:FB_TOKEN", environ) == "abc"
    assert resolve("credential:page-token", environ) == "s3cret"
    with pytest.raises(SecretError, match="FB_MISSING"):
        resolve("env:FB_MISSING", environ)
    with pytest.raises(SecretError, match="absent"):
        resolve("credential:absent", environ)
    with pytest.raises(SecretError, match="CREDENTIALS_DIRECTORY"):
        resolve("credential:page-token", {})
