"""Evaluation on labelled sets read in place: ``../shared/datasets`` and held-out files.

Each reader yields ``(text, litigious)`` pairs. Metrics, per set: recall of litigious content
(flagged = hide or review; and hidden), false-hide and false-flag rates on acceptable content,
balanced accuracy (flagged taken as the prediction), and throughput of the whole classifier.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from watcher.policy.engine import Context, Policy, classify
from watcher.policy.types import CommentInput, Thresholds

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATASETS = REPO_ROOT.parent / "shared" / "datasets"
HELDOUT_GLOB = "heldout_*.jsonl"
DEFAULT_HELDOUT_DIR = REPO_ROOT / "tests" / "data"
_TAG = re.compile(r"<[^>]+>")
_ANCHOR = re.compile(r"<a\s[^>]*>(.*?)</a>", re.I | re.S)

Pairs = Iterator[tuple[str, bool]]


def _clean_html(text: str) -> str:
    text = _ANCHOR.sub(r" \1 ", text)
    return html.unescape(_TAG.sub(" ", text)).replace("\ufeff", "").strip()


def read_mlma(folder: Path) -> Pairs:
    with (folder / "fr_dataset.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            yield row["tweet"], row["sentiment"].strip() != "normal"


def read_cyberagression(folder: Path) -> Pairs:
    with (folder / "cyberagression_large_majority.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            label = (row.get("HATE") or "").strip()
            if label in ("OAG", "CAG", "NAG") and (row.get("TEXT") or "").strip():
                yield row["TEXT"], label != "NAG"


def read_youtube(folder: Path) -> Pairs:
    for path in sorted(folder.glob("Youtube0*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                yield _clean_html(row["CONTENT"]), row["CLASS"].strip() == "1"


def read_sms(folder: Path) -> Pairs:
    with (folder / "SMSSpamCollection").open(encoding="utf-8") as handle:
        for line in handle:
            label, _, text = line.rstrip("\n").partition("\t")
            if label in ("ham", "spam"):
                yield text, label == "spam"


ACCEPTABLE_LABELS = {"acceptable", "ok", "allow", "allowed", "none", "neutral", "normal", "clean",
                     "non-litigious", "not_litigious", "0", "false", "keep", "nag"}


def heldout_label(entry: dict) -> bool | None:
    """Given a held-out entry, return True (litigious), False (acceptable) or None (unknown)."""
    for key in ("litigious", "toxic", "hateful", "offensive", "is_litigious"):
        if isinstance(entry.get(key), bool):
            return entry[key]
    for key in ("expected", "expected_action", "action"):
        value = entry.get(key)
        if isinstance(value, str):
            return value.strip().lower() != "allow"
        if isinstance(value, list):
            return any(str(v).lower() != "allow" for v in value)
    if isinstance(entry.get("categories"), list):
        return bool(entry["categories"])
    for key in ("label", "labels", "class", "gold"):
        value = entry.get(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return value != 0
        if isinstance(value, str):
            return value.strip().lower() not in ACCEPTABLE_LABELS
        if isinstance(value, list):
            return any(str(v).strip().lower() not in ACCEPTABLE_LABELS for v in value)
    return None


def _heldout_entries(path: Path) -> Iterator[tuple[dict, bool]]:
    """Yield each usable line of a held-out file, parsed, with its label."""
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
            continue
        label = heldout_label(entry)
        if label is not None:
            yield entry, label


def read_heldout_with_kinds(path: Path) -> tuple[list[tuple], list[str]]:
    """What ``read_heldout`` yields, as a list, and the ``kind`` of each line ("" when absent),
    from one reading of the file."""
    pairs: list[tuple] = []
    kinds: list[str] = []
    for entry, label in _heldout_entries(path):
        pairs.append(_heldout_pair(entry, label))
        kinds.append(str(entry.get("kind") or ""))
    return pairs, kinds


def _heldout_pair(entry: dict, label: bool) -> tuple:
    if entry.get("group") is not None and entry.get("author") is not None:
        return entry["text"], label, str(entry["author"]), str(entry["group"])
    return entry["text"], label


def read_heldout(path: Path) -> Iterator[tuple]:
    """Yield (text, litigious) or, for lines with "author" and "group", (text, litigious,
    author, group): the lines of one group form a stream, each seeing the earlier ones as history."""
    for entry, label in _heldout_entries(path):
        yield _heldout_pair(entry, label)


SETS: dict[str, tuple[str, Callable[[Path], Pairs]]] = {
    "mlma_fr": ("mlma_fr", read_mlma),
    "cyberagression_fr": ("cyberagression_large_fr", read_cyberagression),
    "youtube_spam": ("youtube_spam_collection", read_youtube),
    "sms_spam": ("sms_spam_collection", read_sms),
}


@dataclass
class Result:
    name: str
    size: int
    litigious: int
    acceptable: int
    recall_flagged: float
    recall_hidden: float
    false_hide_rate: float
    false_flag_rate: float
    balanced_accuracy: float
    comments_per_second: float
    # per kind of line (a held-out file's "kind"): "litigious_hide", "acceptable_allow", … counts
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def evaluate_pairs(name: str, pairs: list[tuple], policy: Policy,
                   thresholds: Thresholds, now: dt.datetime,
                   kinds: Sequence[str] | None = None) -> Result:
    """Classify each text and measure against its label.

    A text comes alone (no history), or with an author and a group: the texts of a group are
    a stream, one minute apart, each seeing the group's earlier texts as history. Given each
    pair's kind, the actions are also counted per kind (aggregates only: no text is kept).
    """
    from watcher.policy.types import HistoryItem

    context = Context(now=now, policy=policy, thresholds=thresholds)
    streams: dict[str, list[HistoryItem]] = {}
    tp_flag = tp_hide = fp_flag = fp_hide = 0
    start = time.process_time()
    by_kind: dict[str, dict[str, int]] = {}
    for index, item in enumerate(pairs):
        text, litigious = item[0], item[1]
        if len(item) == 4:
            author, group = item[2], item[3]
            history = streams.setdefault(group, [])
            when = now + dt.timedelta(minutes=len(history))
            comment = CommentInput(text=text, author_id=author, author_name=author, created_time=when)
            action = classify(comment, Context(now=when, policy=policy, thresholds=thresholds,
                                               history=tuple(history))).action
            history.append(HistoryItem(text=text, author_id=author, created_time=when,
                                       author_name=author))
        else:
            action = classify(CommentInput(text=text), context).action
        flagged = action != "allow"
        if kinds is not None and index < len(kinds):
            tally = by_kind.setdefault(kinds[index], {})
            key = f"{'litigious' if litigious else 'acceptable'}_{action}"
            tally[key] = tally.get(key, 0) + 1
        if litigious:
            tp_flag += flagged
            tp_hide += action == "hide"
        else:
            fp_flag += flagged
            fp_hide += action == "hide"
    elapsed = max(time.process_time() - start, 1e-9)  # CPU time: fair on a shared machine
    positives = sum(1 for item in pairs if item[1])
    negatives = len(pairs) - positives
    recall = tp_flag / positives if positives else 0.0
    false_flag = fp_flag / negatives if negatives else 0.0
    balanced = (recall + (1 - false_flag)) / 2 if positives and negatives else float("nan")
    return Result(
        name=name, size=len(pairs), litigious=positives, acceptable=negatives,
        recall_flagged=recall, recall_hidden=tp_hide / positives if positives else 0.0,
        false_hide_rate=fp_hide / negatives if negatives else 0.0, false_flag_rate=false_flag,
        balanced_accuracy=balanced, comments_per_second=len(pairs) / elapsed,
        by_kind=dict(sorted(by_kind.items())),
    )


def corpus_cross_validation(examples: list, folds: int = 5,
                            thresholds: Thresholds | None = None) -> list[Result]:
    """Measure the whole classifier on the project's corpus, the model trained without each fold.

    Optimistic (the rules were written alongside the corpus), but the model never sees the
    comments it is measured on. Returns one Result per language ("corpus_cv_fr", "corpus_cv_en").
    """
    import tempfile

    from watcher.policy.engine import default_thresholds, load_policy
    from watcher.policy.model import train

    thresholds = thresholds or default_thresholds()
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    pairs_by_lang: dict[str, list[tuple[str, bool]]] = {"fr": [], "en": []}
    seconds: dict[str, float] = {"fr": 0.0, "en": 0.0}
    outcomes: dict[str, list[tuple[bool, str]]] = {"fr": [], "en": []}
    with tempfile.TemporaryDirectory() as tmp:
        for fold in range(folds):
            train_set = [e for i, e in enumerate(examples) if i % folds != fold]
            test_set = [e for i, e in enumerate(examples) if i % folds == fold]
            path = Path(tmp) / f"fold{fold}.npz"
            train(train_set, path)
            policy = load_policy(model_path=path)
            context = Context(now=now, policy=policy, thresholds=thresholds)
            for example in test_set:
                lang = getattr(example, "lang", None) or ("fr" if example.source.endswith("_fr.jsonl") else "en")
                if lang not in outcomes:
                    continue
                start = time.process_time()
                action = classify(CommentInput(text=example.text), context).action
                seconds[lang] += time.process_time() - start
                outcomes[lang].append((bool(example.categories), action))
                pairs_by_lang[lang].append((example.text, bool(example.categories)))
    results = []
    for lang, rows in outcomes.items():
        pos = [a for y, a in rows if y]
        neg = [a for y, a in rows if not y]
        recall = sum(a != "allow" for a in pos) / len(pos) if pos else 0.0
        false_flag = sum(a != "allow" for a in neg) / len(neg) if neg else 0.0
        results.append(Result(
            name=f"corpus_cv_{lang}", size=len(rows), litigious=len(pos), acceptable=len(neg),
            recall_flagged=recall, recall_hidden=sum(a == "hide" for a in pos) / len(pos) if pos else 0.0,
            false_hide_rate=sum(a == "hide" for a in neg) / len(neg) if neg else 0.0,
            false_flag_rate=false_flag, balanced_accuracy=(recall + 1 - false_flag) / 2,
            comments_per_second=len(rows) / max(seconds[lang], 1e-9)))
    return results
