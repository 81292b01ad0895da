"""``vigie classify``, ``vigie evaluate`` and ``vigie train`` run as a person would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
KEYS = {"id", "action", "categories", "scores", "evidence", "alert"}


def vigie(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "VIGIE_LANG": "fr"}
    env.pop("VIGIE_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "watcher.cli", *args], input=stdin,
                          capture_output=True, cwd=cwd or REPO, env=env, timeout=120, check=False)


def test_classify_reads_stdin_and_writes_one_line_per_input_line() -> None:
    lines = [
        {"id": "1", "text": "Merci pour la belle soirée!", "author": "a", "created_time": "2026-03-01T10:00:00Z"},
        {"id": "2", "text": "T'es juste un connard", "author": "b"},
        {"text": "Je vais te tuer"},
    ]
    stdin = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode() + b"\n"
    result = vigie("classify", stdin=stdin)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(out) == 3
    assert all(set(o) == KEYS for o in out)
    assert [o["id"] for o in out] == ["1", "2", None]
    assert [o["action"] for o in out] == ["allow", "hide", "hide"]
    assert out[2]["alert"] is True and "illegal" in out[2]["categories"]
    assert out[1]["evidence"][0]["message_fr"].startswith("Insulte visant une personne : « ")


def test_bad_lines_are_reported_with_their_number_and_processing_goes_on(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(
        b'{"id": "ok1", "text": "Bonjour"}\n'
        b"this is not json\n"
        b'{"id": "x", "texte": "missing text"}\n'
        b'\xff\xfe broken bytes\n'
        b'{"id": "t", "text": "Bonjour", "created_time": "yesterday"}\n'
        b'["a list"]\n'
        b'{"id": "ok2", "text": "Bravo aux \xc3\xa9l\xc3\xa8ves"}\n')
    result = vigie("classify", str(source))
    assert result.returncode == 0
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(out) == 7
    assert out[0]["action"] == "allow" and out[6]["action"] == "allow" and out[6]["id"] == "ok2"
    assert [o.get("line") for o in out[1:6]] == [2, 3, 4, 5, 6]
    assert out[2]["id"] == "x"
    errors = result.stderr.decode()
    for number in (2, 3, 4, 5, 6):
        assert f"ligne {number}" in errors


def test_unreadable_input_exits_non_zero(tmp_path: Path) -> None:
    result = vigie("classify", str(tmp_path / "absent.jsonl"))
    assert result.returncode != 0
    assert "absent.jsonl" in result.stderr.decode()


def test_repetition_is_detected_within_the_stream() -> None:
    text = "Allez tous voter contre la réforme, partagez ce message partout!!"
    lines = [json.dumps({"id": str(i), "text": text, "author": "same",
                         "created_time": f"2026-03-01T10:0{i}:00Z"}) for i in range(4)]
    result = vigie("classify", stdin="\n".join(lines).encode())
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert out[0]["scores"]["disgracieux_repetitif"] == 0.0
    assert "disgracieux_repetitif" in out[3]["categories"]


def test_classify_uses_a_site_policy_folder(tmp_path: Path) -> None:
    (tmp_path / "allowlist.toml").write_text('phones = ["418-555-0101"]\n', encoding="utf-8")
    stdin = json.dumps({"text": "Appelez Julie au 418-555-0101"}).encode()
    assert json.loads(vigie("classify", stdin=stdin).stdout)["action"] != "allow"
    with_site = vigie("classify", "--extra-dir", str(tmp_path), stdin=stdin)
    assert json.loads(with_site.stdout)["action"] == "allow"


def test_evaluate_skips_absent_sets_and_reads_heldout_files(tmp_path: Path) -> None:
    heldout = tmp_path / "heldout_demo.jsonl"
    heldout.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in [
        {"text": "T'es un connard", "label": "litigious"},
        {"text": "Merci pour la belle soirée", "label": "acceptable"},
    ]), encoding="utf-8")
    result = vigie("evaluate", "--datasets", str(tmp_path / "none"), "--heldout-dir", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [r["name"] for r in report["results"]] == ["heldout_demo"]
    assert report["results"][0]["recall_flagged"] == 1.0
    assert report["results"][0]["false_flag_rate"] == 0.0
    assert "absent" in result.stderr.decode()


def test_evaluate_counts_a_heldout_set_per_kind_without_printing_its_lines(tmp_path: Path) -> None:
    lines = [
        {"text": "T'es un connard", "label": "diffamation_irrespect", "kind": "insult"},
        {"text": "Ferme ta gueule, gros cave", "label": "diffamation_irrespect", "kind": "insult"},
        {"text": "Merci pour la belle soirée", "label": "acceptable", "kind": "thanks"},
    ]
    (tmp_path / "heldout_kinds.jsonl").write_text(
        "\n".join(json.dumps(e, ensure_ascii=False) for e in lines), encoding="utf-8")
    args = ("evaluate", "--datasets", str(tmp_path / "none"), "--heldout-dir", str(tmp_path))
    result = vigie(*args, "--by-kind")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "heldout_kinds, par type de ligne" in out
    rows = {line.split()[0]: [int(n) for n in line.split()[1:]] for line in out.splitlines()
            if line.startswith("  ")}
    assert rows == {"insult": [2, 0, 0, 0, 0, 0], "thanks": [0, 0, 0, 0, 0, 1]}
    assert "connard" not in out and "Merci" not in out  # counts only
    report = json.loads(vigie(*args, "--json").stdout)
    assert report["results"][0]["by_kind"] == {"insult": {"litigious_hide": 2},
                                                "thanks": {"acceptable_allow": 1}}


def test_train_writes_a_model_that_classify_can_use(tmp_path: Path) -> None:
    model = tmp_path / "model.npz"
    result = vigie("train", "--without-store", "--output", str(model))
    assert result.returncode == 0, result.stderr
    assert model.exists()
    out = vigie("classify", "--model", str(model), stdin=b'{"text": "T\'es un connard"}\n')
    assert json.loads(out.stdout)["action"] == "hide"


@pytest.mark.parametrize("args", [["classify", "--model", "/nonexistent/model.npz"]])
def test_bad_model_path_is_a_clear_error(args: list[str]) -> None:
    result = vigie(*args, stdin=b"")
    assert result.returncode == 1
    assert "model" in result.stderr.decode().lower()
