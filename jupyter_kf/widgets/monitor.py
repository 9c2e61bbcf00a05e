"""``JobMonitor``: one job, live, in a notebook.

Status badge and conditions, progress (elapsed, steps/s, ETA), replicas, recent events, a
log tail with a replica selector, metric charts, and controls to scale, suspend/resume and
delete (with confirmation).

Displayed, it also carries a static snapshot (``snapshot_html``: the status, progress,
charts and log tail as plain HTML) under a display id. Once the job has ended (or was
deleted) and its last updates are shown, every output showing the monitor is replaced by the
final snapshot alone. Why alone: JupyterLab's widget renderer never falls back to another
type of the same output; with Lab's default "save widget state" off, a reopened notebook has
no model for a widget view and shows "Error displaying widget: model not found" instead of
the snapshot beside it. A plain HTML output shows how the job ended in Lab without a kernel
or that setting, in nbviewer and in nbconvert's HTML. The panel keeps the finished job's
controls and whole logs.

Threads, and why: one *updater* thread follows ``client.updates`` for the job (its state
changes, new events, metric points and lines of the selected replica's log, pushed by the
backend: nothing is re-read on a timer); choosing another replica ends that subscription and
starts one for the new replica from the same events and metrics position. The updater ends
when the widget is closed, or once the job has finished and all is shown, or the job is
deleted; choosing a replica after that follows the new one to its end. Control actions run on
a one-thread executor, because the backend waits for the change to take effect (scaling
waits for the new workers) and a widget callback runs on the kernel's main thread: nothing
here blocks the kernel. Widget state set from these threads is sent by ipykernel's IOPub
thread, the way ipywidgets documents background updates.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from html import escape
from typing import Any

import ipywidgets as W
from traitlets import Int, Unicode

from ..client import Client
from ..display import SCALE_REPLACES, Progress, epoch, job_summary
from ..errors import JupyterKFError, NotFoundError
from ..jobs import Cursor, Job, Update
from ..jobs.metrics import REPORT_PREFIX
from . import render
from .logview import LogView
from .plot import MetricsPlot
from .progress import ProgressView, progress_html

ACTIVE_PHASES = ("Pending", "Created", "Running", "Restarting")
SNAPSHOT_LOG_LINES = 20  # the log tail the static snapshot keeps
LIVE = -1  # the attempt switch's value for the followed log


class JobMonitor(W.VBox):
    """A live view of one job, with controls. ``JobMonitor("mnist")`` or ``client`` given.

    Close it (``monitor.close()``) to stop its updates; it also stops by itself once the
    job has finished or was deleted.
    """

    job_name = Unicode(help="The job shown.")
    phase = Unicode("", help="The job's phase as last seen (Running, Succeeded, ...).")
    workers = Int(0, help="The job's training processes as last seen.")
    events_shown = Int(8, help="How many of the newest events the table shows.")

    def __init__(
        self,
        name: str,
        client: Client | None = None,
        *,
        namespace: str | None = None,
        job: Job | None = None,
        **kwargs: Any,
    ):
        client = client if client is not None else Client()
        job = job if job is not None else client.get(name, namespace)  # unknown: NotFoundError
        super().__init__(**kwargs)
        self.client = client
        self.job_name = name
        self.job: Job = job
        self.namespace = namespace or job.namespace
        self.events: list = []
        self._stop = threading.Event()
        self._gone = False
        self._gone_at: float | None = None  # when it was seen deleted: the clock stops
        self._closed = False
        self._busy = False  # an action is running: its buttons stay disabled
        self._view_lock = threading.RLock()  # the updater and actions both redraw
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"jupyter-kf-action:{name}"
        )
        # The subscription: guarded by _sub_lock, shared by the updater and the selector.
        self._sub_lock = threading.Lock()
        self._sub_stop = threading.Event()  # ends the current subscription (replica switch)
        self._replica: str | None = None  # whose log is followed
        self._following = True  # an updater thread is running (started below)
        self._cursor = Cursor()  # events and metric points shown so far
        self._display_id = uuid.uuid4().hex  # every output showing this monitor
        self._quiet_attempts = False  # the switch's options are being set, not chosen
        self._displayed = False

        # -- read-only parts
        self.header = W.HTML()
        self.timeline = W.HTML()
        self.replica_table = W.HTML()
        self.events_table = W.HTML()
        self.message = W.HTML()
        self.progress = Progress()
        self.progress_view = ProgressView()
        # -- log tail
        self.replica_select = W.Dropdown(description="log of", layout=W.Layout(width="auto"))
        # LIVE: the followed log; a number: that earlier attempt, read once (it has ended).
        self.attempt_select = W.Dropdown(
            description="attempt",
            options=[("live", LIVE)],
            value=LIVE,
            layout=W.Layout(width="auto", display="none"),
        )
        self.log_view = LogView()
        # -- metrics
        self.plot = MetricsPlot()
        # -- controls
        self.workers_input = W.BoundedIntText(
            min=1, max=10_000, description="workers", layout=W.Layout(width="11em")
        )
        self.scale_button = W.Button(
            description="Scale",
            icon="arrows-alt-h",
            tooltip="Resize the job to this many training processes",
        )
        self.suspend_button = W.Button(description="Suspend", icon="pause")
        self.delete_button = W.Button(description="Delete", icon="trash", button_style="danger")
        self.confirm_text = W.HTML()
        self.confirm_button = W.Button(description="Yes, delete", button_style="danger")
        self.cancel_button = W.Button(description="Cancel")
        self.confirm_box = W.HBox(
            [self.confirm_text, self.confirm_button, self.cancel_button],
            layout=W.Layout(display="none"),
        )
        self.scale_button.on_click(lambda _b: self._ask_scale(self.workers_input.value))
        self.suspend_button.on_click(self._on_suspend_button)
        self.delete_button.on_click(self._ask_delete)
        self._confirmed: Callable[[], Any] = self.delete  # what "Yes" does
        self.confirm_button.on_click(lambda _b: self._confirmed())
        self.cancel_button.on_click(lambda _b: self._hide_confirm())

        self.children = [
            self.header,
            self.progress_view,
            self.timeline,
            W.HBox(
                [self.workers_input, self.scale_button, self.suspend_button, self.delete_button]
            ),
            self.confirm_box,
            self.message,
            self.replica_table,
            self.plot.view,
            W.HBox([self.replica_select, self.attempt_select]),
            self.log_view,
            W.HTML("<b>Events</b>"),
            self.events_table,
        ]
        self._show(self.job)
        self._replica = self.replica_select.value or None
        self.replica_select.observe(self._on_replica, names="value")
        self.attempt_select.observe(self._on_attempt, names="value")
        self.updater = self._start_updater()

    # -- what tests and callers read ------------------------------------------------------
    @property
    def replica_rows(self) -> list[dict]:
        """Role, index, phase, restarts, node and reason of each replica, as shown."""
        return render.replica_rows(self.job)

    @property
    def live(self) -> bool:
        return self.updater.is_alive() and not self._stop.is_set()

    def _repr_mimebundle_(self, **kwargs: Any):
        data = super()._repr_mimebundle_(**kwargs)
        if isinstance(data, dict):
            data["text/plain"] = job_summary(self.job)
            data["text/html"] = self.snapshot_html()
        return data

    def _ipython_display_(self) -> None:
        """Show the widget under this monitor's display id, so ``refresh_display`` can
        replace the snapshot beside it once the job has ended."""
        from IPython.display import display

        self._displayed = True
        display(self._repr_mimebundle_(), raw=True, display_id=self._display_id)

    @property
    def ended(self) -> bool:
        """The job has finished or was deleted, and the updater has shown all there is."""
        with self._sub_lock:
            following = self._following
        return not following and (self._gone or self.job.status.finished)

    def refresh_display(self) -> None:
        """Update every output showing this monitor: the live widget with the current
        snapshot beside it, or, once the job has ended, the final snapshot alone."""
        if not self._displayed:
            return
        from IPython.display import update_display

        if self.ended:
            data = {"text/plain": job_summary(self.job), "text/html": self.snapshot_html()}
        else:
            data = self._repr_mimebundle_()
        update_display(data, raw=True, display_id=self._display_id)

    def finish(self, timeout: float = 10.0) -> None:
        """Wait (up to ``timeout`` s) for the updater to show a finished job's last updates,
        then refresh the outputs: what ``%%kftrain --wait`` does once the job ended."""
        self.updater.join(timeout)
        self.refresh_display()

    def snapshot_html(self) -> str:
        """The monitor as static HTML: status and reason, progress, replicas, charts and
        the log tail; it needs no kernel and no widget code to render."""
        with self._view_lock:
            job = self.job
            phase = "Deleted" if self._gone else None
            started, ended = self._times(job)
            tail = self.log_view.lines[-SNAPSHOT_LOG_LINES:]
            parts = [
                render.header(
                    job,
                    live=False,
                    events=self.events,
                    phase=phase,
                    note="the job was deleted" if self._gone else "",
                ),
                progress_html(
                    self.progress.text(started, ended, time.time()), self.progress.fraction()
                ),
                render.replicas_table(job),
                self.plot.svg() if self.plot.points else "",
                render.log_tail(tail, self._replica or ""),
            ]
        return '<div class="jkf-snapshot">' + "".join(parts) + "</div>"

    def _times(self, job: Job) -> tuple[float | None, float | None]:
        """When the job started and ended (epoch seconds); a deleted job ended then."""
        started = epoch(job.status.start_time) or epoch(job.created)
        if self._gone_at is not None:
            return started, self._gone_at
        ended = epoch(job.status.completion_time) if job.status.finished else None
        if job.status.finished and ended is None:
            ended = (
                max(
                    (epoch(c.last_transition_time) or 0.0 for c in job.status.conditions),
                    default=0.0,
                )
                or None
            )
        return started, ended

    # -- the updater ----------------------------------------------------------------------
    def _start_updater(self) -> threading.Thread:
        thread = threading.Thread(
            target=self._run, name=f"jupyter-kf-monitor:{self.job_name}", daemon=True
        )
        thread.start()
        return thread

    def _run(self) -> None:
        try:
            while True:
                with self._sub_lock:
                    stop, replica = self._sub_stop, self._replica
                    cursor = Cursor(self._cursor.events, self._cursor.metrics)
                self._follow(cursor, replica, stop)
                with self._sub_lock:
                    if self._closed or self._gone or self._sub_stop is stop:
                        self._following = False  # the job ended (or was deleted, or closed)
                        return
                # Another replica was chosen: follow it from the same position.
        except Exception as exc:  # shown in the widget; a thread's traceback goes nowhere
            with self._sub_lock:
                self._following = False
            self._say(f"stopped updating: {_describe(exc)}", error=True)
        finally:
            with self._view_lock:
                if not self._gone:
                    self.header.value = render.header(self.job, live=False, events=self.events)
            if not self._closed:
                self.refresh_display()  # the outputs keep the final snapshot

    def _follow(self, since: Cursor, replica: str | None, stop: threading.Event) -> None:
        """Show one subscription's updates until it ends; its first resets the log."""
        first = True
        try:
            for update in self.client.updates(
                self.job_name,
                self.namespace,
                since=since,
                replicas=[replica] if replica else None,
                stop=stop,
            ):
                if stop.is_set() or self._closed:
                    return
                self._apply(update, replica, reset_log=first)
                first = False
                if update.deleted:
                    self._mark_gone("the job was deleted")
                    return
        except NotFoundError:
            self._mark_gone("the job was deleted")

    def _apply(self, update: Update, replica: str | None, *, reset_log: bool) -> None:
        if update.events:  # first: the header's reason may be a new event
            self.events.extend(update.events)
            self.events_table.value = render.events_table(self.events, self.events_shown)
        if update.job is not None or update.events:
            self._show(update.job or self.job)
        if update.metrics:
            self.plot.add(update.metrics, rank0=self.job.rank0)
            if self.progress.add(update.metrics, self.plot.replica):
                self._show_progress()
        lines = _readable([line for r, line in update.logs if r == replica])
        if self.attempt_select.value != LIVE:
            pass  # an earlier attempt is shown; going back to live follows anew
        elif reset_log:
            self.log_view.reset(lines, replica=replica)
        else:
            self.log_view.append(lines)
        with self._sub_lock:
            self._cursor = update.cursor

    def _show(self, job: Job) -> None:
        with self._view_lock:
            self.job = job
            if job.workers and job.workers != self.workers:  # resized, here or elsewhere
                self.workers_input.value = job.workers
            self.phase, self.workers = job.phase, job.workers or 0
            self.header.value = render.header(
                job, live=self._following and not self._stop.is_set(), events=self.events
            )
            self.timeline.value = render.timeline(job)
            self._show_progress()
            self.replica_table.value = render.replicas_table(job)
            names = [r.name for r in job.replicas]
            if list(self.replica_select.options) != names:
                current = self.replica_select.value
                self.replica_select.options = names
                fallback = job.rank0 if job.rank0 in names else (names[0] if names else None)
                self.replica_select.value = current if current in names else fallback
            self._show_attempts()
            self._update_controls()

    def _show_progress(self) -> None:
        started, ended = self._times(self.job)
        self.progress_view.show(self.progress, started, ended)

    def _on_replica(self, change: dict) -> None:
        new = change["new"]
        if not new or self._gone or self._closed:
            return
        with self._sub_lock:
            if new == self._replica:
                return
            self._replica = new
        with self._view_lock:
            self._show_attempts(live=True)
        self._follow_anew()

    def _follow_anew(self) -> None:
        """End the current subscription; the next, for the chosen replica, resets the log."""
        with self._sub_lock:
            old, self._sub_stop = self._sub_stop, threading.Event()
            old.set()
            if self._following:
                return  # the updater switches to the new subscription
            self._following = True
        self.updater = self._start_updater()

    def _show_attempts(self, *, live: bool = False) -> None:
        """The chosen replica's earlier attempts in the switch (shown once there are any)."""
        replica = self.replica_select.value
        restarts = next((r.restarts for r in self.job.replicas if r.name == replica), 0)
        earlier = render.earlier_attempts(self.job.backend, restarts)
        options = [(f"live (attempt {restarts})", LIVE)] + [
            (f"attempt {a}", a) for a in reversed(earlier)
        ]
        keep = LIVE if live else self.attempt_select.value
        if list(self.attempt_select.options) != options or keep != self.attempt_select.value:
            self._quiet_attempts = True
            try:
                self.attempt_select.options = options
                self.attempt_select.value = keep if keep in (LIVE, *earlier) else LIVE
            finally:
                self._quiet_attempts = False
        self.attempt_select.layout.display = None if earlier else "none"

    def _on_attempt(self, change: dict) -> None:
        if self._quiet_attempts or self._closed:
            return
        attempt, replica = change["new"], self._replica
        if attempt == LIVE:
            self._follow_anew()  # the followed log again, from its start
            return

        def read() -> None:
            lines = self.client.logs(
                self.job_name,
                self.namespace,
                replica=replica,
                attempt=attempt,
                tail_lines=self.log_view.max_lines,
            )
            self.log_view.reset(_readable(list(lines)), replica=replica)

        self._act(read, lambda _none: f"attempt {attempt} of {replica}: it has ended")

    # -- controls ---------------------------------------------------------------------------
    def scale(self, workers: int) -> Future:
        """Resize the job to ``workers`` training processes (in the background)."""
        return self._act(
            lambda: self.client.scale(self.job_name, int(workers), self.namespace),
            lambda job: (
                f"scaled to {job.workers} "
                + ("nodes" if job.kind == "TrainJob" else "workers")
                + (f": {job.extra['notice']}" if job.extra.get("notice") else "")
            ),
        )

    def suspend(self) -> Future:
        return self._act(
            lambda: self.client.suspend(self.job_name, self.namespace),
            lambda job: f"{job.name} is {job.phase}",
        )

    def resume(self) -> Future:
        return self._act(
            lambda: self.client.resume(self.job_name, self.namespace),
            lambda job: f"{job.name} is {job.phase}",
        )

    def delete(self) -> Future:
        """Delete the job now; the Delete button asks first, this does not."""
        self._hide_confirm()

        def run() -> None:
            self.client.delete(self.job_name, self.namespace)
            self._mark_gone("the job was deleted")

        return self._act(run, lambda _none: f"deleted {self.job_name}")

    def _act(self, call: Callable[[], Any], done: Callable[[Any], str]) -> Future:
        with self._view_lock:
            self._busy = True
            self._update_controls()
        self._say("working...")

        def run() -> Any:
            try:
                result = call()
            except Exception as exc:
                self._say(_describe(exc), error=True)
                raise
            else:
                if isinstance(result, Job):
                    self._show(result)
                self._say(done(result))
                return result
            finally:
                with self._view_lock:
                    self._busy = False
                    self._update_controls()

        return self._executor.submit(run)

    def _on_suspend_button(self, _button) -> None:
        if self.job.phase == "Suspended":
            self.resume()
        else:
            self.suspend()

    def _ask_delete(self, _button) -> None:
        self.confirm_text.value = (
            f"Delete job <b>{self.job_name}</b>? Its processes stop and its logs go too."
        )
        self.confirm_button.description = "Yes, delete"
        self._confirmed = self.delete
        self.confirm_box.layout.display = None

    def _ask_scale(self, workers: int) -> None:
        """A TrainJob is replaced to resize: say so and scale on "Yes"; others at once."""
        if self.job.kind != "TrainJob" or workers == self.job.workers:
            self.scale(workers)
            return
        self.confirm_text.value = (
            f"Scale <b>{escape(self.job_name)}</b> to {int(workers)} nodes? "
            f"{escape(SCALE_REPLACES)}."
        )
        self.confirm_button.description = "Yes, replace"

        def go() -> None:
            self._hide_confirm()
            self.scale(workers)

        self._confirmed = go
        self.confirm_box.layout.display = None

    def _hide_confirm(self) -> None:
        self.confirm_box.layout.display = "none"

    def _update_controls(self) -> None:
        active = self.job.phase in ACTIVE_PHASES or self.job.phase == "Suspended"
        off = self._gone or self._busy
        self.scale_button.disabled = off or not active
        self.workers_input.disabled = off or not active
        self.suspend_button.disabled = off or not active
        self.delete_button.disabled = off
        suspended = self.job.phase == "Suspended"
        self.suspend_button.description = "Resume" if suspended else "Suspend"
        self.suspend_button.icon = "play" if suspended else "pause"

    def _say(self, text: str, *, error: bool = False) -> None:
        colour = "var(--jp-error-color1, #d32f2f)" if error else "inherit"
        self.message.value = (
            f'<div style="color:{colour};white-space:pre-wrap">{escape(text)}</div>'
        )

    def _mark_gone(self, why: str) -> None:
        with self._view_lock:
            self._gone = True
            self._gone_at = self._gone_at or time.time()
            self._show_progress()
            self._stop.set()
            self._sub_stop.set()
            self.phase = "Deleted"
            self.header.value = render.header(self.job, live=False, note=why, phase="Deleted")
            self._update_controls()

    # -- closing ------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the updater and close every part. The job itself goes on."""
        if not hasattr(self, "_stop"):  # __init__ failed (an unknown job): nothing started
            return super().close()
        self._closed = True
        self._stop.set()
        with self._sub_lock:
            self._sub_stop.set()
        self._executor.shutdown(wait=False, cancel_futures=True)
        for part in (
            self.header,
            self.timeline,
            self.replica_table,
            self.events_table,
            self.message,
            self.progress_view,
            self.replica_select,
            self.attempt_select,
            self.log_view,
            self.workers_input,
            self.scale_button,
            self.suspend_button,
            self.delete_button,
            self.confirm_text,
            self.confirm_button,
            self.cancel_button,
            self.confirm_box,
            *self.children,
        ):
            part.close()
        self.plot.close()
        super().close()


def _readable(lines: list[str]) -> list[str]:
    """Log lines without ``report()``'s machine-readable ones: the plot shows those."""
    return [line for line in lines if not line.startswith(REPORT_PREFIX)]


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, JupyterKFError) else f"{type(exc).__name__}: {exc}"
