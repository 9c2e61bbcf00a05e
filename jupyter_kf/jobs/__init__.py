"""The pure job model shared by every backend: no I/O happens in this package."""

from .envcontract import ClusterAddressing, LocalAddressing, env_for, replica_keys
from .job import Change, Event, Job, Replica
from .kinds import KINDS, KindInfo, kind_info
from .metrics import parse_metric_line
from .render import render_code_configmap, render_job, worker_command
from .spec import CODE_MOUNT, Code, ElasticPolicy, JobSpec, Resources, RunPolicy
from .status import FINISHED, PHASES, Condition, JobStatus, ReplicaCounts, parse_status
from .updates import Cursor, Update

__all__ = [
    "CODE_MOUNT",
    "Change",
    "Event",
    "FINISHED",
    "KINDS",
    "PHASES",
    "ClusterAddressing",
    "Code",
    "Condition",
    "Cursor",
    "ElasticPolicy",
    "Job",
    "JobSpec",
    "JobStatus",
    "KindInfo",
    "LocalAddressing",
    "Replica",
    "ReplicaCounts",
    "Resources",
    "Update",
    "RunPolicy",
    "env_for",
    "kind_info",
    "parse_metric_line",
    "parse_status",
    "render_code_configmap",
    "render_job",
    "replica_keys",
    "worker_command",
]
