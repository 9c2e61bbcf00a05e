"""Every setting of ``KubeflowSpawner``, each with its help (``jupyterhub --help-all``
and docs/spawner.md show them), with their validators and the JupyterHub defaults that
differ for pods. The spawn lifecycle that reads them is in ``spawner.py``.
"""

from __future__ import annotations

from typing import Any

from traitlets import Bool, Dict, Float, Integer, List, Unicode, default, validate
from traitlets.config import Configurable

from ..errors import InvalidSpecError
from ..jobs.apis import AUTO, parse_training_apis
from ..jobs.apis import ENV as TRAINING_APIS_ENV
from . import objects, profiles
from .slugs import safe_slug

SLUG_BUDGET = 48  # leaves 15 characters for each prefix within a 63-character name


class KubeflowSpawnerConfig(Configurable):
    """The configurables of ``KubeflowSpawner`` (set them as ``c.KubeflowSpawner.<name>``).

    A mixin ahead of JupyterHub's ``Spawner`` in ``KubeflowSpawner``'s bases, so its
    defaults below replace the ``Spawner`` ones (JupyterHub refuses a ``Spawner`` subclass
    without a lifecycle, so this cannot be one).
    """

    # -- connection --------------------------------------------------------------------
    kubeconfig = Unicode(
        None,
        allow_none=True,
        config=True,
        help="""
        Path of the kubeconfig the hub uses. None: in a pod, its ServiceAccount; else
        $KUBECONFIG or ~/.kube/config.""",
    )
    kube_context = Unicode(
        None,
        allow_none=True,
        config=True,
        help="The kubeconfig context to use (None: the current one).",
    )
    hub_id = Unicode(
        "jupyterhub",
        config=True,
        help="""
        Label value (``jupyter-kf.io/hub``) put on everything this hub creates; the shared
        watch selects on it, so two hubs on one cluster never see each other's pods.""",
    )
    k8s_api_threads = Integer(
        16,
        config=True,
        help="""
        Threads (and pooled connections) for API calls, shared by all spawners: the
        most API requests in flight at once.""",
    )
    k8s_api_retry_seconds = Float(
        30.0,
        config=True,
        help="""
        How long an API call that fails because the API server is unreachable (or
        answers 429/5xx) is retried, with back-off, before the spawn or stop fails.""",
    )
    watch_stall_seconds = Float(
        90.0,
        config=True,
        help="""
        A watch connection that delivered nothing, not even a bookmark (the API server
        sends one about every minute), for this long is cut and resumed.""",
    )

    # -- namespaces and identity -------------------------------------------------------
    namespace_mode = Unicode(
        "per-user",
        config=True,
        help="""
        ``per-user``: each user gets a namespace of their own (``namespace_prefix`` +
        user slug) and their jobs are isolated from other users'. ``shared``: every
        user's pod goes in ``namespace``; see docs/spawner.md for what that does NOT
        isolate.""",
    )
    namespace = Unicode(
        "",
        config=True,
        help="""
        The namespace in ``shared`` mode (created if missing). Empty: the hub's own
        namespace (its ServiceAccount's, or the kubeconfig context's).""",
    )
    namespace_prefix = Unicode(
        "jupyter-", config=True, help="Per-user namespaces are named this + the user's slug."
    )
    pod_security_level = Unicode(
        "baseline",
        config=True,
        help="""
        Pod Security admission level enforced in namespaces the spawner creates
        (privileged, baseline, restricted). ``baseline`` refuses privileged containers
        and hostPath volumes for every pod there, the training operator's included.""",
    )
    namespace_labels = Dict(config=True, help="Extra labels for namespaces the spawner creates.")
    namespace_annotations = Dict(
        config=True, help="Extra annotations for namespaces the spawner creates."
    )
    user_cluster_role = Unicode(
        "",
        config=True,
        help="""
        If set, each user's ServiceAccount is bound (by a RoleBinding in the user's
        namespace, so only there) to this ClusterRole — e.g. ``jupyter-kf-user`` from
        deploy/rbac, the same rules as ``jupyter_kf.k8s.rbac.user_role`` — and no Role is
        written per namespace. The hub then needs only ``bind`` on that ClusterRole instead
        of holding every rule of the Role itself. Empty: write the Role in each namespace.""",
    )
    service_account_prefix = Unicode(
        "jupyter-",
        config=True,
        help="""
        Each user's ServiceAccount is named this + the user's slug; it is bound to the
        jupyter-kf user Role (training jobs, their ConfigMaps, pods and logs read, events
        read) in the user's namespace only.""",
    )

    # -- storage -----------------------------------------------------------------------
    storage_enabled = Bool(True, config=True, help="Give each server a home PVC.")
    pvc_name_prefix = Unicode(
        "claim-", config=True, help="Home PVCs are named this + the server's slug."
    )
    storage_capacity = Unicode("10Gi", config=True, help="Size of a home PVC.")
    storage_class = Unicode(
        None,
        allow_none=True,
        config=True,
        help="""
        StorageClass of home PVCs. None: the cluster's default class; "": a
        pre-provisioned volume with no class.""",
    )
    storage_access_modes = List(["ReadWriteOnce"], config=True, help="Access modes of home PVCs.")
    home_mount_path = Unicode("/home/jovyan", config=True, help="Where the home PVC is mounted.")
    delete_pvc = Bool(
        True,
        config=True,
        help="""
        Delete a server's home PVC when the hub deletes the server or the user for good
        (never on stop).""",
    )

    # -- the pod -----------------------------------------------------------------------
    pod_name_prefix = Unicode(
        "jupyter-", config=True, help="Pods are named this + the server's slug."
    )
    image = Unicode(
        "quay.io/jupyter/base-notebook:latest",
        config=True,
        help="""
        The notebook image (it needs jupyterhub-singleuser, and jupyter-kf to launch
        jobs). Also given to the pod as JUPYTER_IMAGE and JUPYTER_KF_IMAGE: jupyter-kf's
        default image for training jobs is the notebook's own.""",
    )
    image_pull_policy = Unicode(
        None, allow_none=True, config=True, help="imagePullPolicy of the notebook container."
    )
    training_apis = Unicode(
        AUTO,
        config=True,
        help=f"""
        The training APIs notebooks use, given to the pod as {TRAINING_APIS_ENV}: 'auto'
        (jupyter-kf asks the cluster what it serves), 'v1' (the Training Operator v1:
        PyTorchJob, TFJob, ...), 'v2' (Kubeflow Trainer v2: TrainJob) or 'v1,v2'. A list
        skips discovery and refuses the other API's jobs with a message that says so:
        'v2' on a cluster migrating to Trainer v2 keeps new jobs off the v1 operator
        (deploy/README.md).""",
    )
    image_pull_secrets = List(Unicode(), config=True, help="Names of image pull Secrets.")
    extra_resource_limits = Dict(
        config=True,
        help="""
        Extra resource limits, e.g. {"nvidia.com/gpu": "1"}. Merged key by key with
        profiles' and options' values; an extended resource is also requested.""",
    )
    extra_resource_guarantees = Dict(config=True, help="Extra resource requests.")
    gpu_limit = Integer(0, config=True, help="GPUs for the pod (0: none), as ``gpu_resource``.")
    gpu_resource = Unicode("nvidia.com/gpu", config=True, help="The extended resource of a GPU.")
    node_selector = Dict(config=True, help="The pod's nodeSelector (merged across profiles).")
    tolerations = List(Dict(), config=True, help="The pod's tolerations.")
    volumes = List(Dict(), config=True, help="Extra pod volumes (Kubernetes JSON).")
    volume_mounts = List(Dict(), config=True, help="Extra volume mounts of the notebook container.")
    extra_labels = Dict(config=True, help="Extra labels on the pod.")
    extra_annotations = Dict(config=True, help="Extra annotations on the pod.")
    extra_pod_spec = Dict(config=True, help="Fields set as they are in the pod's spec.")
    uid = Integer(None, allow_none=True, config=True, help="runAsUser (None: the image's).")
    gid = Integer(None, allow_none=True, config=True, help="runAsGroup (None: the image's).")
    fs_gid = Integer(100, allow_none=True, config=True, help="fsGroup: the home volume's group.")
    working_dir = Unicode(None, allow_none=True, config=True, help="The container's workingDir.")
    priority_class_name = Unicode(
        None, allow_none=True, config=True, help="The pod's priorityClassName."
    )
    delete_grace_period = Integer(1, config=True, help="Grace period (s) when deleting the pod.")
    stop_timeout = Integer(
        60,
        config=True,
        help="""
        How long ``stop`` waits for the pod to be gone (its own timeout, not
        ``start_timeout``); after it the pod is deleted at once, without grace.""",
    )
    delete_stopped_pods = Bool(
        True,
        config=True,
        help="""
        Delete the pod of a server that stopped by itself (culled for idleness, shut down
        from its menu, crashed) once the hub notices. False: leave it (Succeeded or Failed)
        to read its logs; the next start replaces it.""",
    )
    unschedulable_timeout = Float(
        0.0,
        config=True,
        help="""
        Fail a spawn whose pod the scheduler cannot place after this many seconds, with
        the scheduler's reason (0: wait until ``start_timeout``, e.g. for an autoscaler).""",
    )

    # -- profiles ----------------------------------------------------------------------
    profile_list = List(
        Dict(),
        config=True,
        help="""
        Profiles offered in the options form, checked again on the server (see
        ``jupyter_kf.hub.profiles`` and docs/spawner.md): display_name, slug, description,
        default, overrides (or kubespawner_override), profile_options, allowed_users,
        allowed_groups.""",
    )

    # -- JupyterHub defaults that differ for pods --------------------------------------
    @default("ip")
    def _default_ip(self) -> str:
        return "0.0.0.0"  # the pod's own network namespace

    @default("port")
    def _default_port(self) -> int:
        return 8888

    @default("env_keep")
    def _default_env_keep(self) -> list[str]:
        return []  # the hub's PATH etc. mean nothing inside the image

    @default("start_timeout")
    def _default_start_timeout(self) -> int:
        return 300  # image pulls; failures we can see fail at once anyway

    @validate("namespace_mode")
    def _check_mode(self, proposal: Any) -> str:
        if proposal.value not in ("per-user", "shared"):
            raise ValueError("namespace_mode must be 'per-user' or 'shared'")
        return proposal.value

    @validate("pod_security_level")
    def _check_psa(self, proposal: Any) -> str:
        if proposal.value not in objects.PSA_LEVELS:
            raise ValueError(f"pod_security_level must be one of {objects.PSA_LEVELS}")
        return proposal.value

    @validate("namespace_prefix", "pod_name_prefix", "pvc_name_prefix", "service_account_prefix")
    def _check_prefix(self, proposal: Any) -> str:
        value = proposal.value
        if len(value) > 63 - SLUG_BUDGET or (
            value and not safe_slug(value.rstrip("-")) == value.rstrip("-")
        ):
            raise ValueError(
                f"{proposal.trait.name} {value!r}: at most {63 - SLUG_BUDGET} "
                "characters of [a-z0-9-], starting with a letter or digit"
            )
        return value

    @validate("training_apis")
    def _check_training_apis(self, proposal: Any) -> str:
        try:
            apis = parse_training_apis(proposal.value, "KubeflowSpawner.training_apis")
        except InvalidSpecError as exc:
            raise ValueError(exc.problems[0]) from None
        return AUTO if apis is None else ",".join(sorted(apis))

    @validate("profile_list")
    def _check_profiles(self, proposal: Any) -> list[dict]:
        profiles.parse_profiles(proposal.value)  # configuration errors surface at start-up
        return proposal.value
