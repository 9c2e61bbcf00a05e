"""The spawner's job profiles (docs/job-profiles.md): what a user's training jobs may ask for.

Not the notebook pod's own ``profile_list`` (profiles.py): these are for the jobs the
notebook launches. The admin lists them in ``job_profiles``; the spawner

- hands the ones the user may use to the notebook pod as JSON in ``JUPYTER_KF_JOB_PROFILES``
  (one environment variable, as KubeSpawner hands the pod everything else it configures:
  jupyter-kf's client, magic, CLI and server extension read it), and
- writes what they allow on the user's namespace (jobs/profiles.py ``namespace_annotations``),
  where deploy/rbac/job-profiles-policy.yaml checks every training job, raw CRs included.
  A namespace that already exists is patched on each start, so a changed configuration
  reaches it; in ``shared`` mode the namespace allows what any user's profile allows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from traitlets import Bool, Dict, List, validate
from traitlets.config import Configurable

from jupyter_kf.jobs.profiles import (
    ENV_JOB_PROFILES,
    JobProfiles,
    namespace_annotations,
    offered,
    parse_job_profiles,
)

if TYPE_CHECKING:
    from .calls import ApiCalls


class JobProfileSettings(Configurable):
    """``KubeflowSpawner.job_profiles`` and ``job_profile_required`` (a mixin)."""

    job_profiles = List(
        Dict(),
        config=True,
        help="""
        Profiles for the training jobs users launch (not for the notebook pod: that is
        ``profile_list``). Each: name (required; what users pass as --profile), display_name,
        description, default (used when a job names none), image, cpu, memory, gpu (per
        replica: the default and the most a job may ask for), node_selector, tolerations
        (Kubernetes JSON), priority_class_name, allowed_users, allowed_groups (absent: offered
        to everyone). Only a profile gives a job a node selector, tolerations or a priority
        class; deploy/rbac/job-profiles-policy.yaml enforces that on the cluster.""",
    )
    job_profile_required = Bool(
        False,
        config=True,
        help="""
        Every job must use a job profile (the default one when it names none). False: a job
        may also run without one, with no node selector, tolerations or priority class.""",
    )

    @validate("job_profiles")
    def _check_job_profiles(self, proposal: Any) -> list[dict]:
        parse_job_profiles(proposal.value)  # configuration errors surface at start-up
        return proposal.value

    def user_job_profiles(self, user: str, groups: list[str]) -> JobProfiles:
        return offered(
            parse_job_profiles(self.job_profiles), user, groups, required=self.job_profile_required
        )

    def job_profile_env(self, user: str, groups: list[str]) -> dict[str, str]:
        return {ENV_JOB_PROFILES: self.user_job_profiles(user, groups).to_env()}

    def job_profile_annotations(self, user: str, groups: list[str], *, shared: bool) -> dict:
        """The namespace's annotations: the user's profiles, or everyone's in a shared one."""
        if shared:
            mine = JobProfiles(tuple(parse_job_profiles(self.job_profiles)))
        else:
            mine = self.user_job_profiles(user, groups)
        return namespace_annotations(mine)

    async def annotate_namespace(self, core: Any, ns: str, annotations: dict[str, str]) -> None:
        """Bring an existing namespace up to date with the user's job profiles (a per-user
        one only: a shared namespace may predate the spawner and keeps its own)."""
        call = cast("ApiCalls", self)._call
        patch = {"metadata": {"annotations": annotations}}
        await call(
            core.patch_namespace,
            ns,
            patch,
            verb="patch",
            resource="namespaces",
            namespace=None,
            name=ns,
        )
