"""``python -m bench``: run the benchmarks against the sandbox, print one table, save JSON.

Sections: ``classifier`` (1, from ``bench/classifier.py`` when present), ``hide`` (2, polling),
``webhook`` (2), ``economy`` (3), ``scale`` (4), ``growth`` (5). ``--only`` picks some;
``--quick`` shrinks every size (minutes instead of an hour); ``--smoke`` is the smallest run
that still exercises every section (the test suite runs it).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.common import (
    DEFAULT_PG,
    REPO,
    RESULTS,
    Row,
    Settings,
    machine,
    reference_seconds,
)

SECTIONS = ("classifier", "hide", "webhook", "economy", "scale", "growth")


def settings_for(mode: str) -> Settings:
    if mode == "full":
        return Settings(mode="full")
    if mode == "quick":
        return Settings(mode="quick", interval=10, hide_comments=200, hide_spaces=10,
                        webhook_comments=200, economy_sizes=(1, 10, 100, 1000),
                        scale_spaces=100, scale_duration=120, scale_interval=30,
                        growth_sizes=(10_000, 100_000), growth_spaces=20)
    return Settings(mode="smoke", interval=10, hide_comments=5, hide_spaces=2,
                    webhook_comments=5, economy_sizes=(1, 3), scale_spaces=3,
                    scale_duration=12, scale_interval=10, scale_rate_per_space_per_min=20,
                    growth_sizes=(300,), growth_spaces=3)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes (about 15 minutes)")
    size.add_argument("--smoke", action="store_true", help="the smallest run (a minute)")
    parser.add_argument("--only", metavar="SECTIONS",
                        help=f"comma-separated sections among {', '.join(SECTIONS)}")
    parser.add_argument("--interval", type=int, metavar="S",
                        help="polling interval of the time-to-hide run (default 300; quick 10)")
    parser.add_argument("--hide-comments", type=int, metavar="N")
    parser.add_argument("--spaces", type=int, metavar="N", help="spaces of the scale run")
    parser.add_argument("--duration", type=float, metavar="S", help="length of the scale run")
    parser.add_argument("--scale-interval", type=int, metavar="S",
                        help="polling interval of the scale run (default 300)")
    parser.add_argument("--rate", type=float, metavar="PER_MIN",
                        help="comments per space per minute in the scale run (default 0.5)")
    parser.add_argument("--growth", metavar="N,N,...",
                        help="store sizes of the growth run (default 10000,100000,1000000)")
    parser.add_argument("--growth-pg-max", type=int, metavar="N",
                        help="largest growth size also run on PostgreSQL (default 100000)")
    parser.add_argument("--postgres", default=DEFAULT_PG, metavar="URL",
                        help="PostgreSQL server for store sizes ('' to skip)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--workdir", type=Path, help="scratch directory (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.only:
        unknown = set(args.only.split(",")) - set(SECTIONS)
        if unknown:
            parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    return args


def build_settings(args: argparse.Namespace) -> Settings:
    settings = settings_for("smoke" if args.smoke else "quick" if args.quick else "full")
    if args.interval:
        settings.interval = args.interval
    if args.hide_comments:
        settings.hide_comments = settings.webhook_comments = args.hide_comments
    if args.spaces:
        settings.scale_spaces = args.spaces
    if args.duration:
        settings.scale_duration = args.duration
    if args.scale_interval:
        settings.scale_interval = args.scale_interval
    if args.rate:
        settings.scale_rate_per_space_per_min = args.rate
    if args.growth:
        settings.growth_sizes = tuple(int(n) for n in args.growth.split(","))
    if args.growth_pg_max:
        settings.growth_pg_max = args.growth_pg_max
    settings.postgres_url = args.postgres or None
    return settings


# --- the classifier section (owned by bench/classifier.py) -----------------------------------


def run_classifier(settings: Settings, workdir: Path) -> list[Row]:
    """Rows of ``bench/classifier.py`` (the classifier's speed beside glin-profanity's).

    That script belongs to the classifier work; it is run as it is documented,
    ``python -m bench.classifier --limit N --json FILE``, and its JSON becomes rows.
    """
    section = "1 classifier"
    if importlib.util.find_spec("bench.classifier") is None:
        return [Row(section, "bench/classifier.py", "absent", status="n/a",
                    note="written by the classifier work; run again once it has landed")]
    limit = {"full": 6000, "quick": 2000}.get(settings.mode, 300)
    out = workdir / "classifier.json"
    command = [sys.executable, "-m", "bench.classifier", "--limit", str(limit), "--json",
               str(out)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=3600)
    settings.extra["classifier_output"] = result.stdout[-20_000:]
    if result.returncode != 0 or not out.exists():
        return [Row(section, "python -m bench.classifier", f"exit {result.returncode}",
                    status="miss", note=(result.stderr.strip().splitlines() or [""])[-1][:200])]
    data = json.loads(out.read_text(encoding="utf-8"))
    rows = []
    for r in data.get("results", []):
        name = r.get("classifier", "?")
        vigie = name == "vigie"
        per_s, p99, rss = r["per_second_cpu"], r["p99_cpu_ms"], r["rss_mb"]
        rows += [
            Row(section, f"{name}: comments per second per core", round(per_s),
                "/s", "≥ 3000" if vigie else "", ("ok" if per_s >= 3000 else "miss")
                if vigie else "info",
                note=f"{r['comments']} texts from {data.get('source', '?')}; CPU time, one core"),
            Row(section, f"{name}: latency p50 / p99 (CPU)",
                f"{r['p50_cpu_ms']:.3f} / {p99:.3f}", "ms", "p99 < 5" if vigie else "",
                ("ok" if p99 < 5 else "miss") if vigie else "info",
                note=f"wall p50 / p99 {r['p50_ms']:.3f} / {r['p99_ms']:.3f} ms"),
            Row(section, f"{name}: RSS loaded", round(rss, 1), "MB", "≤ 150" if vigie else "",
                ("ok" if rss <= 150 else "miss") if vigie else "info",
                note=f"an empty Python process: {data.get('baseline_rss_mb', 0):.1f} MB"),
        ]
    return rows


def _sections() -> dict[str, Callable[[Settings, Path], list[Row]]]:
    from bench import economy, growth, hide, scale

    return {
        "classifier": run_classifier,
        "hide": hide.run_polling,
        "webhook": hide.run_webhook,
        "economy": economy.run,
        "scale": scale.run,
        "growth": growth.run,
    }


# --- output ----------------------------------------------------------------------------------


def format_table(rows: Sequence[Row]) -> str:
    header = ("section", "measure", "value", "unit", "target", "status", "note")
    table = [header] + [
        (r.section, r.name, str(r.value), r.unit, r.target, r.status, r.note) for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(6)]
    out = []
    for n, line in enumerate(table):
        cells = [line[i].ljust(widths[i]) for i in range(6)]
        out.append(" | ".join(cells) + (" | " + line[6] if line[6] else ""))
        if n == 0:
            out.append("-+-".join("-" * w for w in widths))
    return "\n".join(out)


def save(out: Path, info: dict, settings: Settings, chosen: list[str], rows: list[Row]) -> Path:
    """Write the rows so far as JSON (also as ``latest.json``); return the file."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = info["date"].replace(":", "").replace("-", "")
    path = out / f"bench-{settings.mode}-{stamp}.json"
    path.write_text(json.dumps({
        "machine": info,
        "mode": settings.mode,
        "sections": chosen,
        "settings": {k: (str(v) if isinstance(v, Path) else v)
                     for k, v in vars(settings).items() if k != "extra"},
        "extra": settings.extra,
        "rows": [r.as_dict() for r in rows],
    }, indent=2, default=str), encoding="utf-8")
    (out / "latest.json").write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = build_settings(args)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the sandbox's request log
    chosen = args.only.split(",") if args.only else list(SECTIONS)
    info = machine()
    print(f"Vigie benchmarks ({settings.mode}) on {info['nproc']} × {info['cpu_model']}, "
          f"{info['memory_gib']} GiB, load {info['loadavg_at_start'][0]:.2f}, {info['date']}",
          flush=True)
    reference = reference_seconds()
    settings.extra["reference_seconds"] = reference
    print(f"CPU reference workload: {reference * 1000:.1f} ms (timings are also given as "
          "multiples of it)", flush=True)
    rows: list[Row] = [Row("0 machine", "reference workload", round(reference * 1000, 1), "ms",
                           note="fixed pure-Python work, best of 5; the unit of 'x ref'")]
    runners = _sections()
    scratch = tempfile.TemporaryDirectory(prefix="vigie-bench-") if not args.workdir else None
    workdir = args.workdir or Path(scratch.name)  # type: ignore[union-attr]
    workdir.mkdir(parents=True, exist_ok=True)
    settings.workdir = workdir
    failed = 0
    for name in SECTIONS:
        if name not in chosen:
            continue
        print(f"… {name}", flush=True)
        started = time.perf_counter()
        section_dir = workdir / name
        section_dir.mkdir(exist_ok=True)
        try:
            produced = runners[name](settings, section_dir)
        except Exception as error:  # report it and go on with the other sections
            failed += 1
            traceback.print_exc()
            produced = [Row(name, "section failed", f"{type(error).__name__}: {str(error).splitlines()[0][:300]}",
                            status="miss")]
        rows.extend(produced)
        save(args.out, info, settings, chosen, rows)  # a long run keeps what it measured
        print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)
    reference_after = reference_seconds()
    rows.append(Row("0 machine", "reference workload at the end", round(reference_after * 1000, 1),
                    "ms", note="a large change means the machine's load changed during the run"))
    print()
    print(format_table(rows))
    path = save(args.out, info, settings, chosen, rows)
    print(f"\nSaved {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    if scratch is not None:
        scratch.cleanup()
    return 1 if failed else 0
