"""``JobMonitor``: one job, live, in a notebook.

Status badge and conditions, replicas, recent events, a log tail with a replica selector,
a metrics plot, and controls to scale, suspend/resume and delete (with confirmation).

Threads, and why: one *updater* thread follows the client's ``watch`` for the job and,
between changes, reads new events, metric points and log lines; it ends when the widget is
closed, the job finishes (after a last read) or the job is deleted. Control actions run on
a one-thread executor, because the backend waits for the change to take effect (scaling
waits for the new workers) and a widget callback runs on the kernel's main thread: nothing
here blocks the kernel. Widget state set from these threads is sent by ipykernel's IOPub
thread, the way ipywidgets documents background updates.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from html import escape
from typing import Any

import ipywidgets as W
from traitlets import Float, Int, Unicode

from ..client import Client
from ..display import job_summary
from ..errors import JupyterKFError, NotFoundError
from ..jobs import Job
from ..jobs.metrics import REPORT_PREFIX
from . import render
from .logview import LogView
from .plot import RANK0, MetricsPlot

ACTIVE_PHASES = ("Pending", "Created", "Running", "Restarting")


class JobMonitor(W.VBox):
    """A live view of one job, with controls. ``JobMonitor("mnist")`` or ``client`` given.

    Close it (``monitor.close()``) to stop its updates; it also stops by itself once the
    job has finished or was deleted.
    """

    job_name = Unicode(help="The job shown.")
    phase = Unicode("", help="The job's phase as last seen (Running, Succeeded, ...).")
    workers = Int(0, help="The job's training processes as last seen.")
    tick = Float(0.5, help="Seconds between reads of new logs, events and metrics.")
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
        self._closed = False
        self._busy = False  # an action is running: its buttons stay disabled
        self._view_lock = threading.RLock()  # the updater and actions both redraw
        self._stream_lock = threading.Lock()  # one reader of logs/metrics/events at a time
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"jupyter-kf-action:{name}"
        )
        self._metrics_seen = 0
        self._log_seen = 0
        self._log_shown: str | None = None

        # -- read-only parts
        self.header = W.HTML()
        self.timeline = W.HTML()
        self.replica_table = W.HTML()
        self.events_table = W.HTML()
        self.message = W.HTML()
        # -- log tail
        self.replica_select = W.Dropdown(description="log of", layout=W.Layout(width="auto"))
        self.log_view = LogView()
        # -- metrics
        self.plot = MetricsPlot()
        self.plot_box = W.Box([self.plot.figure], layout=W.Layout(display="none"))
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
        self.scale_button.on_click(lambda _b: self.scale(self.workers_input.value))
        self.suspend_button.on_click(self._on_suspend_button)
        self.delete_button.on_click(self._ask_delete)
        self.confirm_button.on_click(lambda _b: self.delete())
        self.cancel_button.on_click(lambda _b: self._hide_confirm())

        self.children = [
            self.header,
            self.timeline,
            W.HBox(
                [self.workers_input, self.scale_button, self.suspend_button, self.delete_button]
            ),
            self.confirm_box,
            self.message,
            self.replica_table,
            self.plot_box,
            self.replica_select,
            self.log_view,
            W.HTML("<b>Events</b>"),
            self.events_table,
        ]
        self._show(self.job)
        self.replica_select.observe(self._on_replica, names="value")
        self.updater = threading.Thread(
            target=self._run, name=f"jupyter-kf-monitor:{name}", daemon=True
        )
        self.updater.start()

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
        return data

    # -- the updater ----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._refresh_streams()
            while not self._stop.is_set():
                seen = False
                for change in self.client.watch(
                    self.namespace, name=self.job_name, timeout=self.tick
                ):
                    if self._stop.is_set():
                        return
                    if change.type == "DELETED":
                        self._mark_gone("the job was deleted")
                        return
                    seen = True
                    self._show(change.job)
                if not seen:  # a new watch always starts with the job, unless it is gone
                    try:
                        self._show(self.client.get(self.job_name, self.namespace))
                    except NotFoundError:
                        self._mark_gone("the job was deleted")
                        return
                self._refresh_streams()
                if self.job.status.finished:
                    # The last lines may land just after the final status: one more read.
                    self._stop.wait(self.tick)
                    self._refresh_streams()
                    return
        except Exception as exc:  # shown in the widget; a thread's traceback goes nowhere
            self._say(f"stopped updating: {_describe(exc)}", error=True)
        finally:
            with self._view_lock:
                if not self._gone:
                    self.header.value = render.header(self.job, live=False)

    def _show(self, job: Job) -> None:
        with self._view_lock:
            self.job = job
            if job.workers and job.workers != self.workers:  # resized, here or elsewhere
                self.workers_input.value = job.workers
            self.phase, self.workers = job.phase, job.workers or 0
            self.header.value = render.header(job, live=not self._stop.is_set())
            self.timeline.value = render.timeline(job)
            self.replica_table.value = render.replicas_table(job)
            names = [r.name for r in job.replicas]
            if list(self.replica_select.options) != names:
                current = self.replica_select.value
                self.replica_select.options = names
                self.replica_select.value = current if current in names else _rank0(names)
            self._update_controls()

    def _refresh_streams(self) -> None:
        with self._stream_lock:
            try:
                self._refresh_events()
                self._refresh_metrics()
                self._refresh_log()
            except NotFoundError:
                pass  # deleted meanwhile: the watch says so next

    def _refresh_events(self) -> None:
        events = self.client.events(self.job_name, self.namespace)
        if len(events) != len(self.events):
            self.events = events
            self.events_table.value = render.events_table(events, self.events_shown)

    def _refresh_metrics(self) -> None:
        points = self.client.metrics(self.job_name, self.namespace)
        new, self._metrics_seen = points[self._metrics_seen :], len(points)
        if self.plot.add(new):
            self.plot_box.layout.display = None

    def _refresh_log(self) -> None:
        replica = self.replica_select.value
        if not replica:
            return
        # The contract has no "lines since": read the log and keep what is new.
        lines = list(self.client.logs(self.job_name, self.namespace, replica=replica))
        if replica != self._log_shown or len(lines) < self._log_seen:
            self.log_view.reset(_readable(lines), replica=replica)
        elif len(lines) > self._log_seen:
            self.log_view.append(_readable(lines[self._log_seen :]))
        self._log_shown, self._log_seen = replica, len(lines)

    def _on_replica(self, change: dict) -> None:
        if change["new"] and not (self._gone or self._closed):
            # Off the kernel's thread; the updater may be gone already (job finished).
            self._executor.submit(self._refresh_streams)

    # -- controls ---------------------------------------------------------------------------
    def scale(self, workers: int) -> Future:
        """Resize the job to ``workers`` training processes (in the background)."""
        return self._act(
            lambda: self.client.scale(self.job_name, int(workers), self.namespace),
            lambda job: f"scaled to {job.workers} workers",
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
            self._stop.set()
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
        self._executor.shutdown(wait=False, cancel_futures=True)
        for part in (
            self.header,
            self.timeline,
            self.replica_table,
            self.events_table,
            self.message,
            self.replica_select,
            self.log_view,
            self.plot_box,
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


def _rank0(names: list[str]) -> str | None:
    return next((n for n in RANK0 if n in names), names[0] if names else None)


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, JupyterKFError) else f"{type(exc).__name__}: {exc}"
