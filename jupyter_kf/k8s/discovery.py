"""What the cluster serves: the Training Operator's v1 kinds, Kubeflow Trainer v2's
TrainJob (and JobSet, which runs it), and the training runtimes a TrainJob may name.

``served_apis`` costs one request on any API server since Kubernetes 1.30 (aggregated
discovery: every group's resources in one answer); an older one answers ``/apis`` with its
group list only, and then each of our groups it serves costs one resource-list request.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from ..errors import ForbiddenError
from ..jobs import runtimes as rt
from ..jobs.kinds import BY_PLURAL
from ..jobs.kinds import GROUP as V1_GROUP
from ..jobs.kinds import VERSION as V1_VERSION
from .api import ApiClient, call, custom_api

# (group, version) -> the resources of it we look for.
WANTED = {
    (V1_GROUP, V1_VERSION): frozenset(BY_PLURAL),
    (rt.GROUP, rt.VERSION): frozenset({"trainjobs"}),
    (rt.JOBSET_GROUP, rt.JOBSET_VERSION): frozenset({"jobsets"}),
}
# Aggregated discovery (apidiscovery.k8s.io/v2, GA in Kubernetes 1.30), else the group list.
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
ACCEPT = f"{AGGREGATED},application/json"


@dataclass(frozen=True)
class ServedApis:
    """Which training APIs an API server serves."""

    v1_kinds: frozenset[str]  # Training Operator v1 kinds (kubeflow.org/v1): "PyTorchJob"...
    trainjob: bool  # trainer.kubeflow.org/v1alpha1 trainjobs
    jobset: bool  # jobset.x-k8s.io/v1alpha2 jobsets


def _get_apis(api_client: ApiClient, **kwargs: Any) -> Any:
    return api_client.call_api(
        "/apis",
        "GET",
        header_params={"Accept": ACCEPT},
        auth_settings=["BearerToken"],
        _return_http_data_only=True,
        **kwargs,
    )


def _served(api_client: ApiClient) -> dict[tuple[str, str], set[str]]:
    """The resources (plurals, no subresources) of each wanted group version served."""
    answer = call(
        functools.partial(_get_apis, api_client), verb="get", resource="API discovery", raw=True
    )
    served: dict[tuple[str, str], set[str]] = {}
    if answer.get("kind") == "APIGroupDiscoveryList":
        for group in answer.get("items") or ():
            name = (group.get("metadata") or {}).get("name", "")
            for version in group.get("versions") or ():
                key = (name, version.get("version", ""))
                if key in WANTED:
                    served[key] = {r.get("resource", "") for r in version.get("resources") or ()}
        return served
    # An API server without aggregated discovery: the group list, then each group's resources.
    offered = {
        (g.get("name", ""), v.get("version", ""))
        for g in answer.get("groups") or ()
        for v in g.get("versions") or ()
    }
    for group, version in sorted(WANTED.keys() & offered):
        resources = call(
            custom_api(api_client).get_api_resources,
            group,
            version,
            verb="get",
            resource=f"API discovery of {group}/{version}",
            raw=True,
            ok=(404,),
        )
        if resources is not None:
            served[(group, version)] = {r.get("name", "") for r in resources.get("resources") or ()}
    return served


def served_apis(api_client: ApiClient) -> ServedApis:
    """Which of the Training Operator's v1 kinds, TrainJob and JobSet the cluster serves."""
    served = _served(api_client)

    def has(group: str, version: str) -> frozenset[str]:
        return frozenset(served.get((group, version), set()) & WANTED[(group, version)])

    return ServedApis(
        v1_kinds=frozenset(BY_PLURAL[p].kind for p in has(V1_GROUP, V1_VERSION)),
        trainjob=bool(has(rt.GROUP, rt.VERSION)),
        jobset=bool(has(rt.JOBSET_GROUP, rt.JOBSET_VERSION)),
    )


class RuntimeList(list[rt.Runtime]):
    """Runtimes, and the lists the identity was refused (``refused``, one ForbiddenError
    each): a caller says why the list may be partial instead of showing it as complete."""

    def __init__(self, runtimes: list[rt.Runtime], refused: tuple[ForbiddenError, ...] = ()):
        super().__init__(runtimes)
        self.refused = refused


def list_runtimes(api_client: ApiClient, namespace: str) -> RuntimeList:
    """The ClusterTrainingRuntimes and ``namespace``'s TrainingRuntimes, each sorted by name.

    Reading ClusterTrainingRuntimes needs a cluster-wide grant that a notebook's identity
    may lack (deploy/rbac binds it); a 403 on one list still gives the other, with the
    refusal in ``refused``. Both refused raises ForbiddenError. A Trainer that is not
    installed (404) has no runtimes.
    """
    custom = custom_api(api_client)
    found: list[rt.Runtime] = []
    refused: list[ForbiddenError] = []
    reads = (
        (
            rt.CLUSTER_SCOPE,
            functools.partial(custom.list_cluster_custom_object, rt.GROUP, rt.VERSION),
            None,
        ),
        (
            rt.NAMESPACED_SCOPE,
            functools.partial(
                custom.list_namespaced_custom_object, rt.GROUP, rt.VERSION, namespace
            ),
            namespace,
        ),
    )
    for scope, fn, ns in reads:
        plural = rt.PLURALS[scope]
        try:
            answer = call(
                fn, plural, verb="list", resource=plural, namespace=ns, raw=True, ok=(404,)
            )
        except ForbiddenError as exc:
            refused.append(exc)
            continue
        items = (answer or {}).get("items") or ()
        # A list's items carry no kind: put it back for parse_runtime.
        parsed = [rt.parse_runtime({**item, "kind": scope}) for item in items]
        found += sorted(parsed, key=lambda r: r.name)
    if len(refused) == len(reads):
        raise ForbiddenError(" and ".join(str(e) for e in refused))
    return RuntimeList(found, tuple(refused))
