"""The daemon: APScheduler jobs around the pipeline, signals, reload, watchdog.

- one job per approved space (interval with jitter, ``max_instances=1``, coalesced);
- a frequent job that carries out requested actions (administrators' restores) within seconds;
- SIGTERM (or SIGINT): the cycles in flight finish, then the process exits;
- SIGHUP: the configuration is read again; a broken file is reported and the old one kept.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from connectors.errors import ConnectorError
from reports import service as reports
from watcher import pipeline, retention, store_health, systemd
from watcher.config import Config, load_config
from watcher.errors import VigieError
from watcher.i18n import _
from watcher.metrics import Metrics
from watcher.runtime import Runtime
from watcher.store.models import Space

log = logging.getLogger(__name__)


class Daemon:
    """Runs Vigie until told to stop."""

    def __init__(
        self,
        config: Config,
        *,
        config_path: str | Path | None = None,
        runtime_factory: Callable[[Config], Runtime] = Runtime.open,
    ) -> None:
        self.config = config
        self.config_path = config_path or config.source
        self.runtime_factory = runtime_factory
        self.runtime: Runtime | None = None
        self.scheduler: BackgroundScheduler | None = None
        self.stop_event = threading.Event()
        self.reload_event = threading.Event()
        self.cycles = 0
        self._quiet: dict[str, str] = {}  # job key -> failure line already logged
        self.metrics: Metrics | None = None
        self._cycles_lock = threading.Lock()

    # --- jobs ------------------------------------------------------------------------------

    def poll_job(self, space_id: str) -> None:
        runtime = self.runtime
        if runtime is None or self.stop_event.is_set():
            return
        started = time.monotonic()
        try:
            outcome = pipeline.poll_space(runtime, space_id)
        except Exception as error:  # noqa: BLE001 - one space's failure must not stop the others
            self._failed(_("Space {space}").format(space=space_id), error)
            if self.metrics is not None:
                self.metrics.cycles.labels(space_id, "error").inc()
            return
        if self.metrics is not None:
            self.metrics.record_cycle(outcome, time.monotonic() - started)
        with self._cycles_lock:
            self.cycles += 1
        if outcome.ok and not outcome.skipped:
            log.info(
                "%s",
                _("Space {space}: {new} new comment(s), {classified} judged, {done} action(s).")
                .format(space=space_id, new=outcome.new_comments,
                        classified=outcome.classified, done=outcome.actions_done),
            )
        self.after_cycle(runtime, outcome)

    def _failed(self, what: str, error: Exception, *, quiet_key: str | None = None) -> None:
        """Log a job's failure as one line, "what: why", the same way in every job.

        A known failure (a VigieError or a ConnectorError: platform, token, configuration; a
        store problem: locked, full, unreachable) is one human line, its traceback at DEBUG;
        anything else is a bug and gets its traceback. With ``quiet_key`` (jobs retried every few
        seconds) the same line is logged once until it changes or :meth:`_recovered` is called
        with that key.
        """
        if isinstance(error, SQLAlchemyError):
            why = store_health.describe(error)
        elif isinstance(error, (VigieError, ConnectorError)):
            why = str(error)
        else:
            log.error("%s", _("{what}: unexpected error").format(what=what), exc_info=error)
            return
        line = _("{what}: {why}").format(what=what, why=why)
        if quiet_key is not None:
            if self._quiet.get(quiet_key) == line:
                log.debug("%s (again)", line)
                return
            self._quiet[quiet_key] = line
        log.error("%s", line)
        log.debug("%s", what, exc_info=error)

    def _recovered(self, quiet_key: str) -> None:
        self._quiet.pop(quiet_key, None)

    def after_cycle(self, runtime: Runtime, outcome: pipeline.CycleOutcome) -> None:
        """What follows a cycle: urgent alerts (within the cycle that found them), health
        notices. A mail failure is retried by the next cycle; nothing is lost."""
        if outcome.incident:
            self.on_incident(runtime, outcome.space_id, outcome.incident)
        try:
            reports.send_pending_alerts(runtime.config, runtime.store)
        except Exception as error:  # noqa: BLE001 - retried next cycle; polling goes on
            self._failed(_("Urgent alerts could not be sent; they will be retried"), error)

    def token_job(self) -> None:
        """Check every space's token once a day: expiry dates, revoked tokens."""
        runtime = self.runtime
        if runtime is None:
            return
        for space in runtime.spaces():
            try:
                incident = pipeline.check_space(runtime, space.id)
            except Exception as error:  # noqa: BLE001 - tried again tomorrow; others go on
                self._failed(_("Space {space}").format(space=space.id), error)
                continue
            if incident:
                self.on_incident(runtime, space.id, incident)

    def on_incident(self, runtime: Runtime, space_id: str, message: str) -> None:
        """A new token or health problem: tell the people concerned, once."""
        try:
            reports.send_health_notice(runtime.config, runtime.store, space_id, message)
        except Exception as error:  # noqa: BLE001 - the status command and the log still say it
            self._failed(_("The health notice for {space} could not be sent").format(
                space=space_id), error)

    def reports_job(self) -> None:
        """Send the weekly digests when due, and retry deliveries that failed."""
        runtime = self.runtime
        if runtime is None:
            return
        try:
            reports.send_due_reports(runtime.config, runtime.store, runtime.clock())
        except Exception as error:  # noqa: BLE001 - retried at the next run of the job
            self._failed(_("The weekly reports could not be sent; they will be retried"), error)

    def retention_job(self) -> None:
        """Destroy or anonymize what has outlived its retention period (Law 25)."""
        runtime = self.runtime
        if runtime is None:
            return
        try:
            stats = retention.purge(runtime.config, runtime.store, runtime.clock())
        except Exception as error:  # noqa: BLE001 - retried tomorrow; the daemon goes on
            self._failed(_("The daily purge failed"), error)
            return
        log.info("%s", _("Daily purge: {n} item(s) purged or anonymized.").format(n=stats.total))

    def actions_job(self) -> None:
        """Carry out requested actions of every space not busy with its own cycle."""
        runtime = self.runtime
        if runtime is None or self.stop_event.is_set():
            return
        # One query finds the spaces with something to do (a query per space every few
        # seconds cost 0.75 to 2 cores with 500 spaces: docs/performance.md).
        # Tried every few seconds: a lasting failure is said once, not at every try.
        try:
            due = pipeline.spaces_with_actions(runtime)
        except Exception as error:  # noqa: BLE001 - tried again in a few seconds
            self._failed(_("The requested actions cannot be read"), error, quiet_key="actions")
            return
        self._recovered("actions")
        for space in runtime.spaces():
            if space.id not in due:
                continue
            lock = runtime.space_lock(space.id)
            if not lock.acquire(blocking=False):
                continue  # its cycle is running and will do them
            key = f"actions:{space.id}"
            try:
                pipeline.run_actions(runtime, space.id)
                self._recovered(key)
            except Exception as error:  # noqa: BLE001 - keep the other spaces going
                self._failed(_("Space {space}").format(space=space.id), error, quiet_key=key)
            finally:
                lock.release()

    # --- scheduling ------------------------------------------------------------------------

    def _schedule(self) -> None:
        assert self.scheduler is not None and self.runtime is not None
        config = self.runtime.config
        self.scheduler.remove_all_jobs()
        now = dt.datetime.now(dt.UTC)
        spaces = self.runtime.spaces()
        for index, space in enumerate(spaces):
            interval = config.poll_interval(space)
            # Spread the first cycles (and so every later one) 0.2 s apart, closer when that
            # would not fit in an interval: started together, 500 spaces came due together at
            # every interval and some cycles ran seconds late (docs/performance.md, section 4).
            offset = index * min(0.2, interval / len(spaces))
            self.scheduler.add_job(
                self.poll_job,
                IntervalTrigger(seconds=interval, jitter=config.scheduler.jitter),
                args=[space.id],
                id=f"poll:{space.id}",
                name=f"poll {space.id}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=interval,
                next_run_time=now + dt.timedelta(seconds=offset),
            )
        self.scheduler.add_job(
            self.token_job,
            IntervalTrigger(hours=24),
            id="tokens",
            max_instances=1,
            coalesce=True,
            next_run_time=now + dt.timedelta(seconds=60),
        )
        self.scheduler.add_job(
            self.reports_job,
            IntervalTrigger(minutes=5),
            id="reports",
            max_instances=1,
            coalesce=True,
            next_run_time=now + dt.timedelta(seconds=30),
        )
        self.scheduler.add_job(
            self.retention_job,
            CronTrigger(hour=3, minute=30, timezone=config.vigie.timezone),
            id="retention",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self.actions_job,
            IntervalTrigger(seconds=config.scheduler.action_interval),
            id="actions",
            max_instances=1,
            coalesce=True,
        )
        log.info(
            "%s", _("Watching {count} approved space(s).").format(count=len(spaces))
        )

    def start(self) -> None:
        """Open the runtime, recover interrupted actions, start the scheduler."""
        self.runtime = self.runtime_factory(self.config)
        self._retry_unhealthy(self.runtime)
        pipeline.run_actions(self.runtime, recover=True)
        workers = max(2, min(8, len(self.runtime.spaces()) + 1))
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(workers)},
            timezone=self.config.vigie.timezone,
        )
        self.scheduler.start()
        self._schedule()
        if self.config.metrics.enabled:
            self.metrics = Metrics(lambda: self.runtime)
            url = self.metrics.serve(self.config.metrics.listen)
            log.info("%s", _("Metrics served on {url}.").format(url=url))

    @staticmethod
    def _retry_unhealthy(runtime: Runtime) -> None:
        """A start re-reads the secrets (a token rotated, then the service restarted): spaces
        held back by a token or secret error are polled at once, not after their backoff."""
        with runtime.store.session() as session:
            for space in session.exec(select(Space).where(Space.health == "unhealthy")):
                if space.backoff_until is not None:
                    space.backoff_until = None
                    session.add(space)

    def reload(self) -> bool:
        """Read the configuration again; keep the old one if the new one is broken."""
        try:
            config = load_config(self.config_path)
        except VigieError as error:
            log.error("%s", _("Configuration not reloaded: {error}").format(error=error))
            return False
        systemd.notify_reloading()
        old = self.runtime
        store = old.store if old and old.config.database_url == config.database_url else None
        self.config = config
        self.runtime = Runtime.open(config, store=store, policy=None)
        self._schedule()
        if old is not None:
            for space in old.config.spaces:
                old.forget_connector(space.id)
        log.info("%s", _("Configuration reloaded."))
        systemd.notify_ready(self.status_line())
        return True

    def status_line(self) -> str:
        spaces = len(self.runtime.spaces()) if self.runtime else 0
        return _("{spaces} space(s) watched, {cycles} cycle(s) done").format(
            spaces=spaces, cycles=self.cycles)

    def request_stop(self, *_args: Any) -> None:
        self.stop_event.set()

    def request_reload(self, *_args: Any) -> None:
        self.reload_event.set()

    def stop(self) -> None:
        """Let the cycles in flight finish, then release everything."""
        self.stop_event.set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        if self.metrics is not None:
            self.metrics.close()
            self.metrics = None
        if self.runtime is not None:
            self.runtime.close()
            self.runtime = None

    def run_forever(self, tick: float = 5.0) -> None:
        """Run in the foreground until SIGTERM or SIGINT (systemd: Type=notify, watchdog)."""
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGHUP, self.request_reload)
        watchdog = systemd.watchdog_interval()
        if watchdog:
            tick = min(tick, watchdog)
        self.start()
        log.info("%s", _("Vigie is running."))
        systemd.notify_ready(self.status_line())
        try:
            while not self.stop_event.wait(tick):
                if self.reload_event.is_set():
                    self.reload_event.clear()
                    self.reload()
                self.on_tick()
        finally:
            log.info("%s", _("Stopping: finishing the cycles in flight."))
            systemd.notify_stopping(_("finishing the cycles in flight"))
            self.stop()
            log.info("%s", _("Vigie stopped."))

    def on_tick(self) -> None:
        """Called every few seconds from the main loop: the watchdog, the status line."""
        systemd.watchdog_ping()
        systemd.notify_status(self.status_line())
