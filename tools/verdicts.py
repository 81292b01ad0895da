"""Dump the classifier's verdicts over a fixed set of texts, or check them against a dump.

    python tools/verdicts.py dump FILE
    python tools/verdicts.py check FILE

For a change that must not move a single verdict (a speed-up): dump before, check after
(the classifier's version is set aside: it changes with any edit of a rule file). The
texts are the project's own: every corpus line (``config/policy/corpus/*.jsonl``), every rule
sample (positive and negative), and the demo scenario's posts and comments, the comments judged
alone and, per post, as a stream with the earlier comments as history (the stateful categories).
Each text gets its full verdict (action, categories, scores, rule ids, evidence, alert) and the
weight of every rule that fired (``rule_weights``, what the rule sample test reads), with the
shipped model and without it. Only the project's own texts: the shared evaluation sets never go
into a dump.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from watcher.policy import CommentInput, Context, HistoryItem, classify, load_policy  # noqa: E402
from watcher.policy.engine import default_thresholds, rule_weights  # noqa: E402
from watcher.policy.training import read_corpus  # noqa: E402

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
SCENARIO = REPO / "config" / "demo" / "scenario.json"


def project_texts(policy) -> list[str]:  # type: ignore[no-untyped-def]
    """The corpus lines, the rule samples and the demo texts, in a stable order."""
    texts = [e.text for e in read_corpus()]
    for rule in policy.rules:
        texts.extend(rule.positive)
        texts.extend(rule.negative)
    scenario = json.loads(SCENARIO.read_text(encoding="utf-8"))
    texts.extend(p["text"] for p in scenario["posts"])
    texts.extend(c["text"] for c in scenario["comments"])
    return texts


def demo_streams() -> Iterator[tuple[CommentInput, tuple[HistoryItem, ...]]]:
    """The demo comments, per post in time order, each with the earlier ones as history."""
    scenario = json.loads(SCENARIO.read_text(encoding="utf-8"))
    by_post: dict[str, list[dict]] = {}
    for comment in scenario["comments"]:
        by_post.setdefault(comment["post"], []).append(comment)
    for post in sorted(by_post):
        history: list[HistoryItem] = []
        for c in sorted(by_post[post], key=lambda c: c["created_time"]):
            when = dt.datetime.fromisoformat(c["created_time"])
            yield (CommentInput(text=c["text"], author_id=c.get("author_id"),
                                author_name=c.get("author_name"), created_time=when),
                   tuple(history))
            history.append(HistoryItem(c["text"], c.get("author_id"), when,
                                       author_name=c.get("author_name")))


def verdict_record(verdict) -> dict:  # type: ignore[no-untyped-def]
    return {
        "action": verdict.action,
        "categories": list(verdict.categories),
        "scores": dict(verdict.scores),
        "rule_ids": list(verdict.rule_ids),
        "evidence": [e.as_dict() for e in verdict.evidence],
        "alert": verdict.alert,
        "version": verdict.classifier_version,
    }


def judge_all(texts: list[str], policies: dict, streams: bool) -> list[str]:  # type: ignore[type-arg]
    """Given texts, return one canonical JSON line per text (and per demo stream item)."""
    out = []
    for name, policy in policies.items():
        context = Context(now=NOW, policy=policy, thresholds=default_thresholds())
        for text in texts:
            record = verdict_record(classify(CommentInput(text=text), context))
            record["weights"] = rule_weights(text, policy)
            record["policy"] = name
            out.append(json.dumps(record, sort_keys=True, ensure_ascii=False))
        if streams:
            for comment, history in demo_streams():
                ctx = Context(now=NOW, policy=policy, thresholds=default_thresholds(),
                              history=history)
                record = verdict_record(classify(comment, ctx))
                record["policy"] = name + "+history"
                out.append(json.dumps(record, sort_keys=True, ensure_ascii=False))
    return out


def _unversioned(line: str) -> dict:  # type: ignore[type-arg]
    record = json.loads(line)
    record.pop("version", None)
    return record


def build() -> dict:  # type: ignore[type-arg]
    policies = {"model": load_policy(), "rules": load_policy(with_model=False)}
    texts = project_texts(policies["rules"])
    started = time.process_time()
    dump = {"project": judge_all(texts, policies, streams=True), "project_texts": len(texts)}
    dump["seconds"] = round(time.process_time() - started, 1)
    return dump


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("dump", "check"))
    parser.add_argument("file", type=Path)
    args = parser.parse_args()
    current = build()
    if args.mode == "dump":
        args.file.write_text(json.dumps(current, ensure_ascii=False), encoding="utf-8")
        print(f"{len(current['project'])} verdicts written to {args.file} ({current['seconds']} s CPU)")
        return 0
    saved = json.loads(args.file.read_text(encoding="utf-8"))
    failures = 0
    for key in ("project",):
        before, after = saved.get(key), current[key]
        if before is None:
            print(f"{key}: not in {args.file}")
            failures += 1
            continue
        if len(before) != len(after):
            print(f"{key}: {len(before)} verdicts before, {len(after)} now")
            failures += 1
            continue
        # the classifier's version follows the rule files' text: a reworded comment changes it
        diffs = [i for i, (a, b) in enumerate(zip(before, after, strict=True))
                 if _unversioned(a) != _unversioned(b)]
        old, new = ({str(json.loads(line).get("version")) for line in lines} for lines in (before, after))
        if old != new:
            print(f"{key}: versions {', '.join(sorted(old))} now {', '.join(sorted(new))} (set aside)")
        failures += len(diffs)
        for i in diffs[:20]:
            print(f"#{i}:\n  before {before[i]}\n  after  {after[i]}")
        print(f"{key}: {len(after)} verdicts, {len(diffs)} differ")
    print(f"({current['seconds']} s CPU)")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
