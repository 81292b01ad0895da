"""Cost of one Facebook poll against the sandbox: HTTP calls and time, for P posts with news.

    .venv/bin/python bench/graph_poll.py [P ...]      (default: 1 10 100)

Each of the P posts gets 5 new comments between two polls; the second poll is measured.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time

from connectors.facebook import FacebookConnector, FacebookOptions
from connectors.sandbox.server import SandboxServer


def measure(server: SandboxServer, posts: int) -> tuple[int, int, float]:
    state = server.state
    state.reset()
    created = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    made = [state.add_post("facebook", "1", f"p{n}", created_time=created) for n in range(posts)]
    fb = FacebookConnector(platform_id="1", secrets={"page_token": "t"}, api_base_url=server.url,
                           options=FacebookOptions(overlap_seconds=0))
    cursor = fb.fetch({}).cursor
    for post in made:
        for k in range(5):
            state.add_comment("facebook", "1", f"commentaire {k}", post_id=post.id)
    time.sleep(1.05)  # Graph times have whole seconds
    started = time.perf_counter()
    result = fb.fetch(cursor)
    elapsed = time.perf_counter() - started
    fb.close()
    return len(result.comments), result.calls, elapsed


def main(argv: list[str]) -> int:
    logging.disable(logging.INFO)
    sizes = [int(a) for a in argv] or [1, 10, 100]
    with SandboxServer() as server:
        for posts in sizes:
            comments, calls, elapsed = measure(server, posts)
            print(f"P={posts}: {comments} new comments, {calls} HTTP calls, "
                  f"{elapsed * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
