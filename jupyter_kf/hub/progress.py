"""What a pod's status and events mean for a spawn: pure functions over raw pod JSON.

- ``view_pod`` reads a pod (and its events) into a ``PodView``: ready and its IP, the
  scheduler's reason while it cannot be placed, a failure that will not fix itself
  (image cannot be pulled, container crash-looping, pod failed), the exit code once done.
- ``describe_event`` turns an event into the line the progress page shows.

Failing at once on ErrImagePull / ImagePullBackOff / CrashLoopBackOff instead of waiting
out ``start_timeout``: the kubelet would retry, but a user waiting at a progress bar is
better served by the reason now.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .objects import CONTAINER

FAIL_FAST = {
    "ErrImagePull": "the image cannot be pulled",
    "ImagePullBackOff": "the image cannot be pulled",
    "InvalidImageName": "the image name is not valid",
    "ErrImageNeverPull": "the image is not on the node and imagePullPolicy is Never",
    "CrashLoopBackOff": "the server keeps crashing",
    "CreateContainerConfigError": "the container's configuration is wrong",
    "CreateContainerError": "the container could not be created",
    "RunContainerError": "the container could not be started",
}
FAIL_EVENTS = {"Failed", "BackOff", "FailedMount", "FailedCreatePodSandBox"}


@dataclass
class PodView:
    raw: dict
    uid: str | None = None
    phase: str = "Pending"
    ip: str | None = None
    node: str | None = None
    ready: bool = False
    unschedulable: str | None = None
    failure: str | None = None
    exit_code: int | None = None
    running: bool = False
    events: list[dict] = field(default_factory=list)

    def milestones(self) -> list[tuple[str, int, str]]:
        """Steps worth a progress line, derived from status (KWOK and some kubelets send
        no events for them): (key, progress, message)."""
        out = []
        if self.unschedulable:
            out.append(
                (
                    f"unschedulable:{self.unschedulable}",
                    45,
                    f"The scheduler cannot place the pod yet: {self.unschedulable}",
                )
            )
        if self.node:
            out.append(("scheduled", 60, f"Pod scheduled on node {self.node}"))
        if self.running:
            out.append(("running", 80, "Notebook container started"))
        if self.ready and self.ip:
            out.append(("ready", 90, f"Pod ready at {self.ip}"))
        return out

    def summary(self) -> str:
        parts = [f"phase {self.phase}"]
        if self.node:
            parts.append(f"on node {self.node}")
        if self.events:
            parts.append(f"last event: {describe_event(self.events[-1])}")
        return ", ".join(parts)


def _condition(pod: dict, kind: str) -> dict:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return {}


def view_pod(pod: dict, events: list[dict]) -> PodView:
    status = pod.get("status") or {}
    meta = pod.get("metadata") or {}
    view = PodView(
        raw=pod,
        uid=meta.get("uid"),
        phase=status.get("phase") or "Pending",
        ip=status.get("podIP") or None,
        node=(pod.get("spec") or {}).get("nodeName"),
        events=list(events),
    )
    view.ready = view.phase == "Running" and _condition(pod, "Ready").get("status") == "True"
    scheduled = _condition(pod, "PodScheduled")
    if scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable":
        view.unschedulable = scheduled.get("message") or "Unschedulable"
    statuses = status.get("containerStatuses") or []
    mine = [s for s in statuses if s.get("name") == CONTAINER] or statuses
    for cs in mine:
        state = cs.get("state") or {}
        if "running" in state:
            view.running = True
        waiting = state.get("waiting") or {}
        reason = waiting.get("reason")
        if reason in FAIL_FAST:
            detail = waiting.get("message") or _event_detail(events, reason)
            view.failure = f"{reason}: {FAIL_FAST[reason]}" + (f" ({detail})" if detail else "")
        terminated = state.get("terminated")
        if terminated and view.phase in ("Succeeded", "Failed"):
            view.exit_code = int(terminated.get("exitCode", 1))
    if view.phase in ("Succeeded", "Failed"):
        if view.exit_code is None:
            view.exit_code = 0 if view.phase == "Succeeded" else 1
        if view.failure is None:
            reason = status.get("reason") or status.get("message") or ""
            view.failure = f"the pod ended ({view.phase}, exit code {view.exit_code})" + (
                f": {reason}" if reason else ""
            )
    return view


def _event_detail(events: list[dict], reason: str) -> str:
    for event in reversed(events):
        if event.get("reason") in FAIL_EVENTS and event.get("message"):
            return event["message"]
    return ""


def describe_event(event: dict) -> str:
    """``[Warning] FailedScheduling: 0/4 nodes are available: ...`` (count when repeated)."""
    count = event.get("count") or (event.get("series") or {}).get("count") or 1
    repeat = f" (x{count})" if count > 1 else ""
    kind = event.get("type") or "Normal"
    return f"[{kind}] {event.get('reason', '')}: {event.get('message', '').strip()}{repeat}"
