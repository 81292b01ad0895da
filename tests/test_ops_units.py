"""The systemd units: hardened (systemd-analyze security), commented, and runnable commands."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from watcher.cli import build_parser

UNITS = Path(__file__).resolve().parents[1] / "systemd"
UNIT_NAMES = ("vigie.service", "vigie-console.service", "vigie-webhook.service")
MAX_EXPOSURE = 2.0


def _service_lines(name: str) -> list[str]:
    lines = (UNITS / name).read_text(encoding="utf-8").splitlines()
    start = lines.index("[Service]")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("["))
    return lines[start + 1 : end]


def _settings(name: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


@pytest.mark.parametrize("name", UNIT_NAMES)
def test_exposure_is_ok(name: str, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    unit = tmp_path / name
    unit.write_text((UNITS / name).read_text(encoding="utf-8"), encoding="utf-8")
    result = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "Unknown option" in result.stderr or "unrecognized option" in result.stderr:
        pytest.skip("this systemd-analyze has no --offline (systemd older than 252)")
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout[-2000:] + result.stderr[-2000:]
    exposure = float(match.group(1))
    assert exposure <= MAX_EXPOSURE, f"{name}: exposure {exposure}\n{result.stdout}"


@pytest.mark.parametrize("name", UNIT_NAMES)
def test_every_setting_is_explained(name: str) -> None:
    """Each group of settings in [Service] follows a comment that says why."""
    lines = _service_lines(name)
    for index, line in enumerate(lines):
        if not line or line.startswith("#"):
            continue
        above = index - 1
        while above >= 0 and lines[above] and not lines[above].startswith("#"):
            above -= 1
        assert above >= 0 and lines[above].startswith("#"), f"{name}: no comment above {line!r}"


def test_daemon_unit_contract() -> None:
    settings = _settings("vigie.service")
    assert settings["Type"] == ["notify"]
    assert settings["NotifyAccess"] == ["main"]
    assert int(settings["WatchdogSec"][0]) >= 30
    assert settings["Restart"] == ["on-failure"]
    assert settings["StateDirectory"] == ["vigie"]
    assert settings["DynamicUser"] == ["yes"]
    assert any(v.startswith("vigie:/etc/vigie/") for v in settings["LoadCredential"])
    assert settings["SyslogLevelPrefix"] == ["yes"]
    assert settings["CapabilityBoundingSet"] == [""]


def test_console_unit_shares_user_and_state() -> None:
    daemon, console = _settings("vigie.service"), _settings("vigie-console.service")
    for key in ("User", "DynamicUser", "StateDirectory"):
        assert console[key] == daemon[key]
    # The console holds no platform token: not the daemon's credential folder.
    assert not set(console["LoadCredential"]) & set(daemon["LoadCredential"])


def test_webhook_unit_shares_user_state_and_credentials() -> None:
    """The webhook hides comments: it runs as the daemon's user with the daemon's tokens."""
    daemon, webhook = _settings("vigie.service"), _settings("vigie-webhook.service")
    for key in ("User", "DynamicUser", "StateDirectory", "LoadCredential",
                "CapabilityBoundingSet"):
        assert webhook[key] == daemon[key], key
    assert shlex.split(webhook["ExecStart"][0])[-1] == "webhook"


@pytest.mark.parametrize("name", UNIT_NAMES)
def test_execstart_is_a_vigie_command(name: str) -> None:
    argv = shlex.split(_settings(name)["ExecStart"][0])
    assert argv[0].endswith("/vigie")
    parser = build_parser()
    subcommands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    rest = argv[1:]
    command = rest[2] if rest[0] in ("-c", "--config") else rest[0]
    if command not in subcommands:
        pytest.skip(f"`vigie {command}` is not on this branch yet")
    args = parser.parse_args(argv[1:])
    assert callable(args.func)
