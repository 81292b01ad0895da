"""Structure of the hand-written evaluation data: the demo scenario and the held-out French set.

These files are ground truth for `vigie demo` and for the classifier's independent check
(tests/data/README.md). The tests here keep them well formed and balanced as they are edited;
they do not run the classifier.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from connectors.sandbox.server import load_scenario
from connectors.sandbox.state import SandboxState
from watcher.categories import CATEGORY_IDS

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "config" / "demo" / "scenario.json"
HELDOUT = REPO / "tests" / "data" / "heldout_fr.jsonl"

ACTIONS = {"allow", "review", "hide"}
REPETITIVE = {"disgracieux_repetitif", "anonyme_repetitif"}
NOVEMBER_2026 = (
    dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
)


def _norm(text: str) -> str:
    """Case-, accent- and punctuation-blind form used to compare near-duplicates."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join(re.sub(r"[\W_]+", " ", "".join(c for c in decomposed if c.isascii())).split())


def _near(a: str, b: str) -> bool:
    na, nb = _norm(a), _norm(b)
    if not na or not nb:  # emoji-only messages: compare them as written
        return a.strip() == b.strip() or (set(a.strip()) == set(b.strip()))
    return difflib.SequenceMatcher(None, na, nb).ratio() >= 0.8


def _time(value: Any) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"naive time {value!r}"
    return parsed


# ---------------------------------------------------------------- scenario


@pytest.fixture(scope="module")
def scenario() -> dict[str, Any]:
    return json.loads(SCENARIO.read_text(encoding="utf-8"))


def test_scenario_top_level_and_space(scenario: dict[str, Any]) -> None:
    assert set(scenario) == {"spaces", "posts", "comments"}
    assert len(scenario["spaces"]) == 1
    space = scenario["spaces"][0]
    assert space["platform"] == "facebook"
    assert space["id"].isdigit()
    assert space["name"] == "Centre de services scolaire De La Jonquière"


def test_scenario_posts(scenario: dict[str, Any]) -> None:
    page = scenario["spaces"][0]["id"]
    posts = scenario["posts"]
    assert 6 <= len(posts) <= 10
    keys = [p["key"] for p in posts]
    assert len(set(keys)) == len(keys)
    for post in posts:
        assert post["platform"] == "facebook"
        assert post["space"] == page
        assert post["text"].strip()
        assert NOVEMBER_2026[0] <= _time(post["created_time"]) < NOVEMBER_2026[1]


def test_scenario_comments_are_well_formed(scenario: dict[str, Any]) -> None:
    page = scenario["spaces"][0]["id"]
    posts = {p["key"]: _time(p["created_time"]) for p in scenario["posts"]}
    seen: dict[str, dict[str, Any]] = {}  # comment key -> comment, in file order
    allowed = {
        "platform",
        "space",
        "post",
        "key",
        "parent",
        "author_name",
        "author_id",
        "text",
        "created_time",
        "by_owner",
        "expected",
        "category",
    }
    for index, comment in enumerate(scenario["comments"]):
        where = f"comment #{index}: {comment.get('text', '')[:50]!r}"
        assert set(comment) <= allowed, where
        assert comment["platform"] == "facebook", where
        assert comment["space"] == page, where
        assert comment["post"] in posts, where
        assert comment["text"].strip(), where
        assert comment["author_name"].strip(), where
        assert comment["author_id"].isdigit(), where
        created = _time(comment["created_time"])
        assert posts[comment["post"]] < created < NOVEMBER_2026[1], where
        # expected verdict and category agree with watcher/categories.py
        assert comment["expected"] in ACTIONS, where
        if comment["expected"] == "allow":
            assert comment["category"] is None, where
        else:
            assert comment["category"] in CATEGORY_IDS, where
        # the Page's own answers are acceptable and signed by the Page
        if comment.get("by_owner"):
            assert comment["author_id"] == page and comment["expected"] == "allow", where
        else:
            assert comment["author_id"] != page, where
        # replies point to an earlier comment of the same post (load_scenario reads in order)
        if "parent" in comment:
            parent = seen.get(comment["parent"])
            assert parent is not None, f"{where}: unknown or later parent {comment['parent']!r}"
            assert parent["post"] == comment["post"], where
            assert _time(parent["created_time"]) < created, where
        if "key" in comment:
            assert comment["key"] not in seen and comment["key"] not in posts, where
            seen[comment["key"]] = comment


def test_scenario_balance(scenario: dict[str, Any]) -> None:
    comments = scenario["comments"]
    assert 180 <= len(comments) <= 240
    share = {a: n / len(comments) for a, n in Counter(c["expected"] for c in comments).items()}
    assert 0.55 <= share["allow"] <= 0.65, share
    assert 0.25 <= share["hide"] <= 0.35, share
    assert 0.06 <= share["review"] <= 0.14, share
    hidden = Counter(c["category"] for c in comments if c["expected"] == "hide")
    for category in CATEGORY_IDS:
        assert hidden[category] >= 2, f"{category}: {hidden[category]} hidden comments"
    assert sum(1 for c in comments if "parent" in c) >= 30  # real threads, not a flat list


def test_scenario_repetitions_have_their_originals(scenario: dict[str, Any]) -> None:
    earlier: list[dict[str, Any]] = []
    for comment in sorted(scenario["comments"], key=lambda c: _time(c["created_time"])):
        category = comment["category"]
        if category in REPETITIVE:
            same_author = category == "disgracieux_repetitif"
            matches = [
                e
                for e in earlier
                if (e["author_id"] == comment["author_id"]) == same_author
                and _near(e["text"], comment["text"])
            ]
            assert matches, f"{category} without an earlier copy: {comment['text']!r}"
            window = _time(comment["created_time"]) - _time(matches[-1]["created_time"])
            assert window <= dt.timedelta(hours=1), comment["text"]
        earlier.append(comment)
    # outside the repetitions, every text is distinct
    texts = Counter(
        _norm(c["text"]) or c["text"]
        for c in scenario["comments"]
        if c["category"] not in REPETITIVE
    )
    assert [t for t, n in texts.items() if n > 1] == []
    # `vigie demo` matches the platform's comments to expectations by (text, author name)
    expected: dict[tuple[str, str], str] = {}
    for comment in scenario["comments"]:
        key = (comment["text"], comment["author_name"])
        assert expected.setdefault(key, comment["expected"]) == comment["expected"], key


def test_scenario_loads_into_the_sandbox() -> None:
    sandbox = SandboxState()
    added = load_scenario(sandbox, SCENARIO)
    data = json.loads(SCENARIO.read_text(encoding="utf-8"))
    assert added == len(data["comments"]) == len(sandbox.comments)
    assert len(sandbox.posts) == len(data["posts"])
    replies = [c for c in sandbox.comments.values() if c.parent is not None]
    assert len(replies) == sum(1 for c in data["comments"] if "parent" in c)
    for reply in replies:
        assert sandbox.comments[reply.parent].post == reply.post


# ---------------------------------------------------------------- held-out set


@pytest.fixture(scope="module")
def heldout() -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(HELDOUT.read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"line {number} is empty"
        row = json.loads(line)
        assert isinstance(row, dict), f"line {number} is not an object"
        rows.append(row)
    return rows


def test_heldout_rows_are_well_formed(heldout: list[dict[str, Any]]) -> None:
    labels = {"acceptable", *CATEGORY_IDS}
    for number, row in enumerate(heldout, 1):
        assert {"text", "label", "kind"} <= set(row) <= {"text", "label", "kind", "author", "group"}
        assert isinstance(row["text"], str) and row["text"].strip(), number
        assert row["label"] in labels, f"line {number}: {row['label']!r}"
        assert re.fullmatch(r"[a-z_]{3,24}", row["kind"]), f"line {number}: {row['kind']!r}"
        if row["label"] in REPETITIVE:
            assert "group" in row and "author" in row, f"line {number}: repetition without group"


def test_heldout_balance(heldout: list[dict[str, Any]]) -> None:
    assert 360 <= len(heldout) <= 440
    labels = Counter(row["label"] for row in heldout)
    assert 0.45 <= labels["acceptable"] / len(heldout) <= 0.55, labels
    for category in CATEGORY_IDS:
        assert labels[category] >= 2, f"{category}: {labels[category]}"
    acceptable_kinds = Counter(r["kind"] for r in heldout if r["label"] == "acceptable")
    for kind in (
        "counter_speech",
        "group_mention",
        "negation",
        "criticism",
        "contact_official",
        "sacre_joy",
    ):
        assert acceptable_kinds[kind] >= 10, f"{kind}: {acceptable_kinds[kind]}"


def test_heldout_repetition_groups(heldout: list[dict[str, Any]]) -> None:
    groups: dict[str, list[int]] = {}
    for index, row in enumerate(heldout):
        if "group" in row:
            groups.setdefault(row["group"], []).append(index)
    assert groups
    for name, indexes in groups.items():
        assert indexes == list(range(indexes[0], indexes[0] + len(indexes))), (
            f"{name} not contiguous"
        )
        rows = [heldout[i] for i in indexes]
        assert len(rows) >= 3, name
        assert rows[0]["label"] not in REPETITIVE, f"{name}: first message cannot repeat anything"
        copies = {r["label"] for r in rows[1:]}
        assert len(copies) == 1 and copies <= REPETITIVE, name
        authors = [r["author"] for r in rows]
        if rows[1]["label"] == "disgracieux_repetitif":
            assert len(set(authors)) == 1, name
        else:
            assert len(set(authors)) == len(authors), name
        assert all(_near(rows[0]["text"], r["text"]) for r in rows[1:]), name


def test_heldout_texts_are_distinct_and_not_from_the_scenario(
    heldout: list[dict[str, Any]], scenario: dict[str, Any]
) -> None:
    texts = Counter(_norm(r["text"]) or r["text"] for r in heldout if "group" not in r)
    assert [t for t, n in texts.items() if n > 1] == []
    scenario_texts = {_norm(c["text"]) or c["text"] for c in scenario["comments"]}
    shared = [r["text"] for r in heldout if (_norm(r["text"]) or r["text"]) in scenario_texts]
    assert shared == []
