"""``vigie classify``, ``vigie evaluate`` and ``vigie train``: the classifier from the command line."""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import sys
from pathlib import Path
from typing import IO, Any

from watcher.errors import ConfigError, UsageError
from watcher.i18n import translator
from watcher.policy.engine import Context, Policy, classify, load_policy
from watcher.policy.types import CommentInput, HistoryItem, Thresholds

_ = translator("policy", Path(__file__).parent / "locale")
HISTORY_SIZE = 200


def _config(args: argparse.Namespace, required: bool = False) -> Any:
    """Return the configuration if one is named or found; None when optional and absent."""
    from watcher.config import load_config

    try:
        return load_config(args.config)
    except ConfigError:
        if required or args.config:
            raise
        return None


def _thresholds(config: Any) -> Thresholds:
    from watcher.categories import CATEGORY_IDS
    from watcher.config import DEFAULT_THRESHOLDS

    pick = config.policy.threshold if config else DEFAULT_THRESHOLDS.__getitem__
    return Thresholds({c: (pick(c).hide, pick(c).review) for c in CATEGORY_IDS})


def _policy(args: argparse.Namespace, config: Any) -> Policy:
    extra = list(config.policy.extra_dirs) if config else []
    extra += [Path(d) for d in getattr(args, "extra_dir", None) or []]
    model = getattr(args, "model", None) or (config.policy.model if config else None)
    window = config.policy.repetition_window_hours if config else 72
    return load_policy(extra, Path(model) if model else None, repetition_window_hours=window)


def _parse_time(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(_("created_time must be an ISO 8601 date and time"))
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(_("created_time must be an ISO 8601 date and time")) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _comment(line: str) -> CommentInput:
    try:
        entry = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(_("not valid JSON ({reason})").format(reason=error.msg)) from None
    if not isinstance(entry, dict):
        raise ValueError(_("expected a JSON object"))
    text = entry.get("text")
    if not isinstance(text, str):
        raise ValueError(_("the \"text\" field is missing or is not a string"))
    author = entry.get("author")
    meta = entry.get("author_meta") or {}
    if not isinstance(meta, dict):
        raise ValueError(_("author_meta must be a JSON object"))
    comment_id = entry.get("id")
    return CommentInput(
        text=text,
        id=None if comment_id is None else str(comment_id),
        author_id=None if author is None else str(author),
        author_name=None if author is None else str(author),
        created_time=_parse_time(entry.get("created_time")),
        author_meta=meta,
    )


def classify_stream(source: IO[bytes], out: IO[str], err: IO[str], policy: Policy,
                    thresholds: Thresholds, started: dt.datetime) -> int:
    """Classify JSONL lines from ``source``; one output line per input line. Return bad lines."""
    history: collections.deque[HistoryItem] = collections.deque(maxlen=HISTORY_SIZE)
    bad = 0
    for number, raw in enumerate(source, 1):
        if not raw.strip():
            continue
        comment_id = None
        try:
            line = raw.decode("utf-8")
            try:
                probe = json.loads(line)
                if isinstance(probe, dict) and probe.get("id") is not None:
                    comment_id = str(probe["id"])
            except json.JSONDecodeError:
                pass
            comment = _comment(line)
        except (UnicodeDecodeError, ValueError) as error:
            bad += 1
            reason = _("not UTF-8 text") if isinstance(error, UnicodeDecodeError) else str(error)
            err.write(_("vigie classify: line {number}: {reason}").format(number=number, reason=reason) + "\n")
            out.write(json.dumps({"id": comment_id, "line": number, "error": reason}, ensure_ascii=False) + "\n")
            continue
        when = comment.created_time or started
        context = Context(now=when, policy=policy, thresholds=thresholds, history=tuple(history))
        verdict = classify(comment, context)
        out.write(json.dumps({
            "id": comment.id,
            "action": verdict.action,
            "categories": list(verdict.categories),
            "scores": dict(verdict.scores),
            "evidence": [e.as_dict() for e in verdict.evidence],
            "alert": verdict.alert,
        }, ensure_ascii=False) + "\n")
        history.append(HistoryItem(text=comment.text, author_id=comment.author_id,
                                   created_time=when, author_meta=comment.author_meta,
                                   author_name=comment.author_name))
    out.flush()
    return bad


def cmd_classify(args: argparse.Namespace) -> int:
    config = _config(args)
    policy = _policy(args, config)
    thresholds = _thresholds(config)
    started = dt.datetime.now(dt.UTC)
    if args.file in (None, "-"):
        classify_stream(sys.stdin.buffer, sys.stdout, sys.stderr, policy, thresholds, started)
        return 0
    try:
        with open(args.file, "rb") as source:
            classify_stream(source, sys.stdout, sys.stderr, policy, thresholds, started)
    except OSError as error:
        raise UsageError(_("cannot read {path}: {reason}").format(
            path=args.file, reason=error.strerror or error)) from None
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from watcher.policy.evaluation import (
        DEFAULT_DATASETS,
        DEFAULT_HELDOUT_DIR,
        HELDOUT_GLOB,
        SETS,
        evaluate_pairs,
        read_heldout_with_kinds,
    )

    config = _config(args)
    policy = _policy(args, config)
    thresholds = _thresholds(config)
    now = dt.datetime.now(dt.UTC)
    datasets = Path(args.datasets) if args.datasets else DEFAULT_DATASETS
    heldout_dir = Path(args.heldout_dir) if args.heldout_dir else DEFAULT_HELDOUT_DIR
    jobs = []
    for name, (folder, reader) in SETS.items():
        if args.only and name not in args.only:
            continue
        if (datasets / folder).is_dir():
            jobs.append((name, lambda r=reader, f=datasets / folder: (list(r(f)), None)))
        else:
            sys.stderr.write(_("{name}: absent ({path}), skipped").format(name=name, path=datasets / folder) + "\n")
    for path in sorted(heldout_dir.glob(HELDOUT_GLOB)) if heldout_dir.is_dir() else []:
        name = path.stem
        if not args.only or name in args.only:
            jobs.append((name, lambda p=path: read_heldout_with_kinds(p)))
    results = []
    if args.cross_validate:
        from watcher.policy.evaluation import corpus_cross_validation
        from watcher.policy.training import read_corpus

        results += corpus_cross_validation(read_corpus(), thresholds=thresholds)
    for name, load in jobs:
        pairs, kinds = load()
        if args.limit:
            pairs = pairs[: args.limit]
        if pairs:
            # a held-out file's kinds (aggregates only) when every line has one
            known = kinds if kinds and all(kinds) else None
            results.append(evaluate_pairs(name, pairs, policy, thresholds, now, kinds=known))
    if args.json:
        print(json.dumps({"classifier_version": policy.version,
                          "results": [r.as_dict() for r in results]}, indent=2))
        return 0
    print(_("Classifier {version}").format(version=policy.version))
    print(_("set                  size  litig. flagged  hidden  f-hide  f-flag  bal.acc  comments/s (CPU)"))
    for r in results:
        print(f"{r.name:<20}{r.size:>5} {r.litigious:>7} {r.recall_flagged:>8.1%} {r.recall_hidden:>7.1%}"
              f" {r.false_hide_rate:>7.1%} {r.false_flag_rate:>7.1%} {r.balanced_accuracy:>8.3f}"
              f" {r.comments_per_second:>11.0f}")
    if not results:
        print(_("No labelled set found."))
    if args.by_kind:
        _print_by_kind(results)
    return 0


def _print_by_kind(results: list) -> None:  # type: ignore[type-arg]
    """Each held-out set's actions per kind of line: counts only, no text."""
    for r in results:
        if not r.by_kind:
            continue
        print()
        print(_("{name}, by kind of line: litigious hidden / reviewed / allowed, "
                "acceptable hidden / reviewed / allowed").format(name=r.name))
        for kind, counts in r.by_kind.items():
            litigious = [counts.get(f"litigious_{a}", 0) for a in ("hide", "review", "allow")]
            acceptable = [counts.get(f"acceptable_{a}", 0) for a in ("hide", "review", "allow")]
            print(f"  {kind:<24}" + " ".join(f"{n:>4}" for n in litigious) + "    "
                  + " ".join(f"{n:>4}" for n in acceptable))


def cmd_train(args: argparse.Namespace) -> int:
    from watcher.policy.model import SHIPPED_MODEL, train
    from watcher.policy.training import CORPUS_DIR, read_corpus, read_review_labels

    examples = read_corpus(Path(args.corpus) if args.corpus else CORPUS_DIR)
    corpus_size = len(examples)
    output = Path(args.output) if args.output else None
    if not args.without_store:
        config = _config(args)
        if config is None:
            print(_("No configuration found: training on the project's corpus only."))
        else:
            reviews = read_review_labels(config.database_url)
            examples += reviews
            print(_("{count} review decisions from the store added.").format(count=len(reviews)))
            output = output or config.vigie.state_dir / "policy-model.npz"
    output = output or SHIPPED_MODEL
    version, counts = train(examples, output)
    print(_("Model {version} written to {path} ({total} examples, {corpus} from the corpus).").format(
        version=version, path=output, total=len(examples), corpus=corpus_size))
    for category, count in counts.items():
        print(f"  {category}: {count}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    classify_parser = subparsers.add_parser(
        "classify", help=_("classify comments read as JSON lines (a file or standard input)"))
    classify_parser.add_argument("file", nargs="?", metavar="FILE",
                                 help=_("JSON lines file (default: standard input)"))
    classify_parser.add_argument("--extra-dir", action="append", metavar="DIR",
                                 help=_("extra policy folder (site terms and allow-list)"))
    classify_parser.add_argument("--model", metavar="FILE", help=_("model file (default: the shipped one)"))
    classify_parser.set_defaults(func=cmd_classify)

    evaluate_parser = subparsers.add_parser(
        "evaluate", help=_("measure the classifier on the labelled sets"))
    evaluate_parser.add_argument("--datasets", metavar="DIR",
                                 help=_("folder of the labelled sets (default: ../shared/datasets)"))
    evaluate_parser.add_argument("--heldout-dir", metavar="DIR",
                                 help=_("folder of held-out sets heldout_*.jsonl (default: tests/data)"))
    evaluate_parser.add_argument("--only", action="append", metavar="SET", help=_("evaluate only this set"))
    evaluate_parser.add_argument("--limit", type=int, metavar="N", help=_("first N comments of each set"))
    evaluate_parser.add_argument("--json", action="store_true", help=_("print the results as JSON"))
    evaluate_parser.add_argument("--by-kind", action="store_true",
                                 help=_("also count each held-out set's actions per kind of line"))
    evaluate_parser.add_argument("--cross-validate", action="store_true",
                                 help=_("also measure on the project's corpus, by 5-fold cross-validation"))
    evaluate_parser.add_argument("--extra-dir", action="append", metavar="DIR",
                                 help=_("extra policy folder (site terms and allow-list)"))
    evaluate_parser.add_argument("--model", metavar="FILE", help=_("model file (default: the shipped one)"))
    evaluate_parser.set_defaults(func=cmd_evaluate)

    train_parser = subparsers.add_parser(
        "train", help=_("train the statistical model on the corpus and the review decisions"))
    train_parser.add_argument("--output", metavar="FILE", help=_("where to write the model"))
    train_parser.add_argument("--corpus", metavar="DIR", help=_("corpus folder (default: config/policy/corpus)"))
    train_parser.add_argument("--without-store", action="store_true",
                              help=_("train on the corpus only (the shipped model)"))
    train_parser.set_defaults(func=cmd_train)
