"""Prometheus metrics of the daemon (optional: ``[metrics] enabled = true``).

``vigie run`` then serves ``/metrics`` on ``[metrics] listen`` (default ``127.0.0.1:9470``, so
only this machine can read it) with prometheus-client's own HTTP server. Two kinds of series:

- counted by the daemon as it works (reset when it restarts): poll cycles by outcome, their
  duration, comments stored and judged, actions carried out;
- read from the store at each scrape, as ``vigie status`` reads them (so they survive a
  restart and agree with it): per space, health, last good poll, comments, hidden, queued
  for review, pending and failed actions, token expiry; and whether a person is needed.

Labels carry space ids and platforms only: never a comment, an author or a token.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from watcher import status
from watcher.errors import UsageError
from watcher.i18n import _

log = logging.getLogger(__name__)

_STATES = ("ok", "degraded", "unhealthy", "never_polled", "disabled")  # as vigie status


class StoreCollector(Collector):
    """Per-space gauges read from the store at each scrape (what ``vigie status`` shows)."""

    def __init__(self, source: Callable[[], Any]) -> None:
        self.source = source  # returns the current Runtime (the daemon swaps it on reload)

    def collect(self) -> Iterator[Metric]:
        store_up = GaugeMetricFamily("vigie_store_up", "1 when the store answered this scrape")
        runtime = self.source()
        if runtime is None:
            store_up.add_metric([], 0)
            yield store_up
            return
        try:
            report = status.collect(runtime.config, runtime.store, runtime.clock())
        except SQLAlchemyError as error:
            log.warning("%s", _("Metrics: the store cannot be read: {error}").format(
                error=error.__class__.__name__))
            store_up.add_metric([], 0)
            yield store_up
            return
        store_up.add_metric([], 1)
        yield store_up
        labels = ["space", "platform"]
        state = GaugeMetricFamily("vigie_space_state", "1 for the space's current state",
                                  labels=[*labels, "mode", "state"])
        last_good = GaugeMetricFamily(
            "vigie_space_last_good_poll_timestamp_seconds",
            "When the space was last polled without error (Unix time)", labels=labels)
        gauges = {
            key: GaugeMetricFamily(f"vigie_space_{key}", text, labels=labels)
            for key, text in (
                ("comments", "Comments stored"),
                ("hidden", "Comments hidden on the platform now"),
                ("queued", "Comments waiting for a human review"),
                ("pending_actions", "Actions requested and not yet done"),
                ("failed_actions", "Actions that failed for good"),
            )
        }
        token = GaugeMetricFamily("vigie_space_token_expiry_timestamp_seconds",
                                  "When the space's token expires (Unix time), when known",
                                  labels=labels)
        problems = GaugeMetricFamily("vigie_space_problems",
                                     "Problems that need a person (as in vigie status)",
                                     labels=labels)
        for space in report["spaces"]:
            values = [space["id"], space["platform"]]
            for name in _STATES:
                state.add_metric([*values, space["mode"], name],
                                 1 if space["state"] == name else 0)
            if space["last_good_poll_at"] is not None:
                last_good.add_metric(values, space["last_good_poll_at"].timestamp())
            if space["token_expires_at"] is not None:
                token.add_metric(values, space["token_expires_at"].timestamp())
            for key, gauge in gauges.items():
                gauge.add_metric(values, space[key])
            problems.add_metric(values, len(space["problems"]))
        yield state
        yield last_good
        yield from gauges.values()
        yield token
        yield problems
        attention = GaugeMetricFamily("vigie_attention",
                                      "1 when a person is needed (vigie status exits 3)")
        attention.add_metric([], 1 if report["attention"] else 0)
        yield attention


class Metrics:
    """The daemon's metrics: counters it updates, the store collector, the HTTP endpoint."""

    def __init__(self, source: Callable[[], Any]) -> None:
        self.registry = CollectorRegistry()
        self.cycles = Counter("vigie_poll_cycles", "Poll cycles run, by outcome",
                              ["space", "outcome"], registry=self.registry)
        self.cycle_seconds = Histogram(
            "vigie_poll_cycle_seconds", "Duration of a poll cycle (fetch, store, judge, act)",
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120), registry=self.registry)
        self.comments = Counter("vigie_comments_stored", "New comments stored", ["space"],
                                registry=self.registry)
        self.judged = Counter("vigie_comments_judged", "Comments classified", ["space"],
                              registry=self.registry)
        self.actions = Counter("vigie_actions_done",
                               "Actions carried out on the platforms in poll cycles", ["space"],
                               registry=self.registry)
        self.registry.register(StoreCollector(source))
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def record_cycle(self, outcome: Any, seconds: float) -> None:
        """Count one poll cycle's outcome (a :class:`watcher.pipeline.CycleOutcome`)."""
        if outcome.skipped:
            return
        self.cycles.labels(outcome.space_id, "ok" if outcome.ok else "error").inc()
        self.cycle_seconds.observe(seconds)
        self.comments.labels(outcome.space_id).inc(outcome.new_comments)
        self.judged.labels(outcome.space_id).inc(outcome.classified)
        self.actions.labels(outcome.space_id).inc(outcome.actions_done)

    def serve(self, listen: str) -> str:
        """Serve ``/metrics`` on ``HOST:PORT``; return its URL. Raise UsageError if it cannot."""
        from watcher.wsgi import parse_listen

        host, port = parse_listen(listen)
        try:
            self._server, self._thread = start_http_server(port, host, registry=self.registry)
        except OSError as error:
            raise UsageError(_("Cannot listen on {listen}: {reason}.").format(
                listen=listen, reason=error.strerror or error)) from None
        bound = self._server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{bound}/metrics"

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
