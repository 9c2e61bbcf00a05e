"""A cluster job's storage: which claim is the notebook's home, whether claims may be shared,
and where a job's outputs can be read back.

The home claim is the backend's ``home_claim``/``home_mount``, else ``JUPYTER_KF_HOME_CLAIM``
and ``JUPYTER_KF_HOME_MOUNT``, else found on the notebook's own pod (``HOSTNAME`` in the
backend's namespace): the PersistentVolumeClaim volume the spawner names ``home``, and where
the notebook container mounts it. A claim's access modes decide if a job may share it: a
ReadWriteMany claim read-write, a ReadOnlyMany one read-only; a ReadWriteOnce home is held by
the running notebook's node and cannot be shared (refused with what to do instead).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...errors import InvalidSpecError
from ...jobs import JobSpec
from ...jobs.readback import outputs_location
from ...jobs.storage import HomeVolume
from ...k8s import call
from ...outputs import Outputs, outputs_in

ENV_HOME_CLAIM = "JUPYTER_KF_HOME_CLAIM"
ENV_HOME_MOUNT = "JUPYTER_KF_HOME_MOUNT"
SPAWNER_HOME_VOLUME = "home"  # the name the jupyter-kf spawner gives the home volume
SHARED = "ReadWriteMany"
READ_ONLY_SHARED = "ReadOnlyMany"


def access_modes(pvc: dict[str, Any]) -> set[str]:
    """What the bound volume grants (status), else what the claim asks for (spec)."""
    status = (pvc.get("status") or {}).get("accessModes")
    return set(status or (pvc.get("spec") or {}).get("accessModes") or ())


class ClusterStorage:
    def __init__(self, core: Any, namespace: str, claim: str | None, mount: str | None):
        self._core = core
        self._namespace = namespace
        self._claim = claim or os.environ.get(ENV_HOME_CLAIM) or None
        self._mount = mount or os.environ.get(ENV_HOME_MOUNT) or None

    def _pvc(self, name: str, namespace: str) -> dict[str, Any] | None:
        return call(  # type: ignore[no-any-return]
            self._core.read_namespaced_persistent_volume_claim,
            *(name, namespace),
            verb="get",
            resource="persistentvolumeclaims",
            namespace=namespace,
            name=name,
            raw=True,
            ok=(404,),
        )

    def home_claim(self) -> tuple[str, str] | None:
        """(claim, mount path) of the notebook's home, or None when there is none to find."""
        if self._claim and self._mount:
            return self._claim, self._mount
        pod_name = os.environ.get("HOSTNAME")
        if not pod_name:
            return None
        pod = call(
            self._core.read_namespaced_pod,
            *(pod_name, self._namespace),
            verb="get",
            resource="pods",
            namespace=self._namespace,
            name=pod_name,
            raw=True,
            ok=(404,),
        )
        if not pod:
            return None
        spec = pod.get("spec") or {}
        for volume in spec.get("volumes") or ():
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if volume.get("name") != SPAWNER_HOME_VOLUME or not claim:
                continue
            for container in spec.get("containers") or ():
                for m in container.get("volumeMounts") or ():
                    if m.get("name") == SPAWNER_HOME_VOLUME and not m.get("subPath"):
                        return str(claim), str(m["mountPath"])
        return None

    def check(self, spec: JobSpec, namespace: str) -> HomeVolume | None:
        """The home volume to mount (for ``spec.home``), after checking every claim the job
        names exists in ``namespace`` and may be shared as asked; ``InvalidSpecError`` names
        every claim that cannot."""
        problems: list[str] = []
        for v in spec.volumes:
            pvc = self._pvc(v.claim, namespace)
            if pvc is None:
                problems.append(
                    f"volume {v.claim!r}: no PersistentVolumeClaim {v.claim!r} in namespace "
                    f"{namespace!r} (a job mounts claims of its own namespace only)"
                )
            elif not v.read_only and access_modes(pvc) == {READ_ONLY_SHARED}:
                problems.append(
                    f"volume {v.claim!r} is ReadOnlyMany: mount it read-only ({v.claim}:{v.mount}:ro)"
                )
        home = self._home(namespace, problems) if spec.home else None
        if problems:
            raise InvalidSpecError(problems)
        return home

    def _home(self, namespace: str, problems: list[str]) -> HomeVolume | None:
        found = self.home_claim()
        if found is None:
            problems.append(
                "home=True: no home volume found (this notebook is not a pod with a 'home' "
                f"claim); set {ENV_HOME_CLAIM} and {ENV_HOME_MOUNT}, or mount a claim with "
                "volumes=[Volume(claim=..., mount=...)]"
            )
            return None
        claim, mount = found
        pvc = self._pvc(claim, namespace)
        if pvc is None:
            problems.append(
                f"home=True: the home claim {claim!r} is not in namespace {namespace!r}"
            )
            return None
        modes = access_modes(pvc)
        if SHARED in modes:
            return HomeVolume(claim, mount)
        if READ_ONLY_SHARED in modes:
            return HomeVolume(claim, mount, read_only=True)
        problems.append(
            f"home=True: your home volume {claim!r} is {', '.join(sorted(modes)) or 'of no access mode'}"
            ": one node mounts it at a time and your running notebook holds it, so a job cannot "
            "share it. Put the data on a ReadWriteMany claim and mount it with "
            "volumes=[Volume(claim=..., mount=...)], or ask the hub admin for ReadWriteMany "
            "home volumes (storage_access_modes)"
        )
        return None

    def outputs(self, name: str, cr: dict[str, Any]) -> Outputs:
        where = outputs_location(cr)
        if where is None:
            return outputs_in(
                name,
                "an emptyDir in each pod",
                None,
                "the job named no volume to keep its outputs, so they went with its pods; "
                "give it home=True or a read-write volume",
            )
        claim, sub = where
        location = f"claim {claim!r}, folder {sub}"
        home = self.home_claim()
        if home is not None and home[0] == claim:
            folder = Path(home[1]) / sub
            if Path(home[1]).is_dir():
                return outputs_in(name, location, folder)
        return outputs_in(
            name,
            location,
            None,
            f"they are on claim {claim!r} in the folder {sub}, which this notebook does not "
            "mount; mount that claim in the notebook, or run the job with home=True",
        )
