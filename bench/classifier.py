"""Classifier speed and memory, side by side with glin-profanity on the same texts, in one run.

    python -m bench.classifier [--limit N] [--json FILE]

Texts: the labelled sets under ../shared/datasets when present (read in place), else the
project's own corpus. The process is pinned to one core. For each classifier: comments per second
(CPU time of this process, so a busy machine does not lower it much; wall time is shown too),
p50 and p99 latency per comment, and the resident memory of a fresh process that has loaded it.
glin-profanity runs with French and English dictionaries (the filter a school board could install
instead); it only says whether a text is profane, so its verdicts are counted, not scored.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

RSS_PROBE = {
    "baseline": "pass",
    "vigie": "from watcher.policy import load_policy; p = load_policy()",
    "glin-profanity": ("import glin_profanity as g; f = g.Filter({'languages': ['french', 'english']});"
                       " f.is_profane('bonjour')"),
}


def texts(limit: int) -> tuple[str, list[str]]:
    from watcher.policy.evaluation import DEFAULT_DATASETS, SETS
    from watcher.policy.training import read_corpus

    found: list[str] = []
    for name in ("mlma_fr", "cyberagression_fr", "youtube_spam"):
        folder, reader = SETS[name]
        if (DEFAULT_DATASETS / folder).is_dir():
            found += [t for t, _ in reader(DEFAULT_DATASETS / folder)][: limit // 3]
    if found:
        return "shared datasets (MLMA-fr, CyberAgression-fr, YouTube spam)", found
    return "project corpus", [e.text for e in read_corpus()][:limit]


def rss_mb(code: str) -> float:
    probe = f"{code}\nimport psutil; print(psutil.Process().memory_info().rss)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=REPO)
    return int(out.stdout.strip().splitlines()[-1]) / 1e6


def run(name: str, judge: Callable[[str], object], corpus: list[str]) -> dict[str, float | str]:
    for text in corpus[:200]:  # warm-up
        judge(text)
    latencies, cpu_latencies = [], []
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for text in corpus:
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        judge(text)
        cpu_latencies.append((time.thread_time_ns() - c0) / 1e6)
        latencies.append((time.perf_counter_ns() - t0) / 1e6)
    cpu = time.process_time() - cpu_start
    wall = time.perf_counter() - wall_start
    latencies.sort()
    cpu_latencies.sort()
    return {
        "classifier": name,
        "comments": len(corpus),
        "per_second_cpu": len(corpus) / cpu,
        "per_second_wall": len(corpus) / wall,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))],
        "max_ms": latencies[-1],
        "p50_cpu_ms": statistics.median(cpu_latencies),
        "p99_cpu_ms": cpu_latencies[int(0.99 * (len(cpu_latencies) - 1))],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=6000, help="number of texts (default 6000)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    import glin_profanity

    from watcher.policy import CommentInput, Context, classify, load_policy
    from watcher.policy.engine import default_thresholds

    source, corpus = texts(args.limit)
    policy = load_policy()
    context = Context(now=dt.datetime.now(dt.UTC), policy=policy, thresholds=default_thresholds())
    glin = glin_profanity.Filter({"languages": ["french", "english"]})

    results = [
        run("vigie", lambda t: classify(CommentInput(text=t), context), corpus),
        run("glin-profanity", glin.is_profane, corpus),
    ]
    baseline = rss_mb(RSS_PROBE["baseline"])
    for result in results:
        result["rss_mb"] = rss_mb(RSS_PROBE[str(result["classifier"])])
    print(f"texts: {len(corpus)} from {source}; one core; load average {os.getloadavg()[0]:.1f}")
    print(f"classifier {policy.version}")
    print(f"{'classifier':<16}{'comments/s CPU':>15}{'(wall)':>9}{'p50 CPU':>9}{'p99 CPU':>9}"
          f"{'p50 wall':>9}{'p99 wall':>9}{'RSS MB':>9}")
    for r in results:
        print(f"{r['classifier']:<16}{r['per_second_cpu']:>15.0f}{r['per_second_wall']:>9.0f}"
              f"{r['p50_cpu_ms']:>9.3f}{r['p99_cpu_ms']:>9.3f}{r['p50_ms']:>9.3f}{r['p99_ms']:>9.3f}"
              f"{r['rss_mb']:>9.1f}")
    print("(latencies in ms: CPU = this thread's CPU time per comment; wall includes waiting for a core)")
    print(f"(an empty Python process: {baseline:.1f} MB RSS)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"source": source, "version": policy.version,
                                               "baseline_rss_mb": baseline, "results": results},
                                              indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
