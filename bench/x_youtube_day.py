"""Measure what a day of polling costs on X and YouTube (against the local sandbox).

    .venv/bin/python bench/x_youtube_day.py [--interval 300] [--per-poll 1] [--hide-every 3]

One X account and one YouTube channel are polled every ``interval`` seconds of sandbox time for
24 hours; ``per-poll`` new comments arrive before each poll and one in ``hide-every`` is hidden.
Prints the calls made, the posts X returned (X bills reads per post), the YouTube quota units
spent, calls past a documented limit, and the wall time of a poll.
"""

from __future__ import annotations

import argparse
import logging
import time

from connectors import registry
from connectors.errors import RateLimited
from connectors.sandbox.server import SandboxServer

X_ACCOUNT = "1111"
CHANNEL = "UCcssdelajonquiere00003"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", type=int, default=300)
    parser.add_argument("--per-poll", type=int, default=1)
    parser.add_argument("--hide-every", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with SandboxServer() as sandbox:
        st = sandbox.state
        st.ensure_space("x", X_ACCOUNT, "CSS")
        st.ensure_space("youtube", CHANNEL, "CSS")
        st.add_post("x", X_ACCOUNT, "post")
        st.add_post("youtube", CHANNEL, "vidéo")
        connectors = {
            "x": registry.get("x")(platform_id=X_ACCOUNT, api_base_url=sandbox.url, secrets={
                "consumer_key": "ck", "consumer_secret": "cs",
                "access_token": f"{X_ACCOUNT}-t", "access_token_secret": "s"}),
            "youtube": registry.get("youtube")(platform_id=CHANNEL, api_base_url=sandbox.url,
                                               secrets={"access_token": f"ya29.{CHANNEL}"}),
        }
        for connector in connectors.values():
            connector.now = st.now  # type: ignore[attr-defined]
        cursors: dict[str, dict[str, str]] = {"x": {}, "youtube": {}}
        stats = {p: {"polls": 0, "calls": 0, "comments": 0, "hides": 0, "limited": 0,
                     "seconds": 0.0} for p in connectors}
        seen = {p: 0 for p in connectors}
        polls = 86_400 // args.interval
        for tick in range(polls):
            for platform, connector in connectors.items():
                space = X_ACCOUNT if platform == "x" else CHANNEL
                for n in range(args.per_poll):
                    st.add_comment(platform, space, f"{tick}-{n}")
                began = time.perf_counter()
                try:
                    result = connector.fetch(cursors[platform])
                except RateLimited:
                    stats[platform]["limited"] += 1
                    continue
                stats[platform]["seconds"] += time.perf_counter() - began
                stats[platform]["polls"] += 1
                stats[platform]["calls"] += result.calls
                stats[platform]["comments"] += len(result.comments)
                cursors[platform] = result.cursor
                for comment in result.comments:
                    seen[platform] += 1
                    if seen[platform] % args.hide_every:
                        continue
                    try:
                        connector.hide(comment.platform_id)
                        stats[platform]["hides"] += 1
                    except RateLimited:
                        stats[platform]["limited"] += 1
            st.advance(args.interval)
        with st.locked():
            over = sum(1 for c in st.calls if c.over_limit)
            x_posts = sum(1 for c in st.calls if c.platform == "x")
        print(f"{polls} polls per platform, every {args.interval} s, {args.per_poll} new "
              f"comment(s) per poll, 1 in {args.hide_every} hidden")
        for platform, s in stats.items():
            mean_ms = 1000 * s["seconds"] / max(1, s["polls"])
            print(f"  {platform:8} read calls {s['calls']:6}  comments {s['comments']:6}  "
                  f"hides {s['hides']:5}  rate-limited {s['limited']:3}  "
                  f"mean poll {mean_ms:.1f} ms")
        used = sandbox.state.counters.get("youtube", {}).get("used", {})
        days = ", ".join(f"{day}: {n}" for (_channel, day), n in sorted(used.items()))
        print(f"  YouTube quota units counted by the sandbox, per Pacific day: {days}")
        print(f"  X requests: {x_posts}; calls past a documented limit: {over}")


if __name__ == "__main__":
    main()
