"""``jupyter kf`` (the ``jupyter-kf`` executable): jobs from a terminal.

    jupyter kf submit train.py --name mnist --workers 2 --follow -- --epochs 3
    jupyter kf list [--json]
    jupyter kf status NAME [--json]
    jupyter kf logs NAME [-f] [--replica worker-1] [--tail 100]
    jupyter kf events NAME | metrics NAME
    jupyter kf submit train.py --name ddp --runtime torch-distributed --nodes 2
    jupyter kf submit train.py --name big --volume data:/data:ro --home --shm 2Gi \
        --secret-env WANDB_API_KEY=wandb:token
    jupyter kf runtimes [--json]
    jupyter kf profiles [--json]        the job profiles --profile may name
    jupyter kf scale NAME N [--yes] | suspend NAME | resume NAME | delete NAME

Errors are one line on stderr and exit status 1; bad arguments exit 2 with the usage, and a
job that cannot run as asked (an invalid name, a NUL in an argument, ...) exits 2 with every
problem listed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .client import BACKENDS, DEFAULT_BACKEND, Client
from .display import (
    SCALE_REPLACES,
    events_table,
    job_summary,
    jobs_table,
    metrics_text,
    profiles_table,
    runtimes_table,
)
from .errors import InvalidSpecError, JupyterKFError
from .jobs import Resources, RunPolicy
from .jobs.explain import explain
from .jobs.kinds import FRAMEWORKS, RESTART_POLICIES
from .jobs.parts import DEFAULT_BACKOFF_LIMIT
from .jobs.storage import parse_secret_env, parse_volume
from .jobs.validation import parse_backoff_limit, parse_restart_policy


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key, value


_DEFAULT: Any = object()  # --backoff-limit not given (None is "no limit")


def _checked(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a parser that raises ValueError with a user's message."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter kf", description="Kubeflow training jobs from Jupyter."
    )
    parser.add_argument(
        "--backend",
        default=DEFAULT_BACKEND,
        choices=("auto", *BACKENDS),
        help="where jobs run: auto (the default: the cluster when one is configured, else "
        "this machine), " + ", ".join(BACKENDS),
    )
    parser.add_argument("--namespace", help="namespace of the jobs (cluster backends)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "submit",
        help="launch a script as a distributed job",
        epilog="Arguments for the script go after --.",
    )
    p.add_argument("script", help="the Python file every worker runs")
    p.add_argument("--name", required=True, help="the job's name (a DNS-1035 label)")
    p.add_argument(
        "--framework",
        choices=sorted(FRAMEWORKS),
        help="a Training Operator v1 kind (without it or --runtime the cluster decides: a "
        "PyTorchJob, or a TrainJob where only Trainer v2 is served)",
    )
    p.add_argument(
        "--runtime",
        metavar="NAME",
        help="a Trainer v2 runtime (jupyter kf runtimes): the job is a TrainJob",
    )
    p.add_argument(
        "--workers",
        "--nodes",
        dest="workers",
        type=int,
        default=1,
        help="training processes, a TrainJob's nodes (default 1)",
    )
    p.add_argument("--cpu", help="CPU per worker, e.g. 2 or 500m")
    p.add_argument("--memory", help="memory per worker, e.g. 4Gi")
    p.add_argument("--gpus", type=int, default=0, help="GPUs per worker")
    p.add_argument("--image", help="container image (cluster backends)")
    p.add_argument(
        "--profile",
        help="a job profile from your hub admin: image, resources and nodes (jupyter kf profiles)",
    )
    p.add_argument("--env", type=_env_pair, action="append", default=[], metavar="KEY=VALUE")
    p.add_argument(
        "--restart-policy",
        type=_checked(parse_restart_policy),
        metavar="POLICY",
        help=f"when a failed replica restarts: {', '.join(RESTART_POLICIES)} "
        "(default: the framework's, OnFailure for pytorch)",
    )
    p.add_argument(
        "--backoff-limit",
        type=_checked(parse_backoff_limit),
        default=_DEFAULT,
        metavar="N",
        help=f"restarts before the job is Failed (default {DEFAULT_BACKOFF_LIMIT}; "
        "'none': no limit)",
    )
    data = p.add_argument_group("data (cluster: your namespace's claims and Secrets)")
    data.add_argument(
        "--volume",
        type=_checked(parse_volume),
        action="append",
        default=[],
        metavar="CLAIM:/PATH",
        help="mount a PersistentVolumeClaim at PATH in every worker, read-only with a :ro "
        "suffix (repeatable; locally: the folder PATH of this machine)",
    )
    data.add_argument(
        "--home", action="store_true", help="mount the notebook's home volume where it has it"
    )
    data.add_argument("--shm", metavar="SIZE", help="size of /dev/shm for data loaders, e.g. 2Gi")
    data.add_argument(
        "--secret-env",
        type=_checked(parse_secret_env),
        action="append",
        default=[],
        metavar="VAR=SECRET:KEY",
        help="a variable from a key of a Secret in the job's namespace (repeatable; locally: "
        "this shell's own VAR)",
    )
    p.add_argument("--wait", action="store_true", help="wait until the job finishes")
    p.add_argument("--follow", "-f", action="store_true", help="stream rank 0's log until the end")
    p.add_argument("--json", action="store_true", help="print the job as JSON")

    p = sub.add_parser("list", help="list jobs")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("status", help="one job's status and replicas")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("logs", help="a replica's log")
    p.add_argument("name")
    p.add_argument("--replica", help="e.g. master-0, worker-1 (default: rank 0)")
    p.add_argument("-f", "--follow", action="store_true")
    p.add_argument("--tail", type=int, help="only the last N lines")
    for verb, text in (("events", "what happened to a job"), ("metrics", "reported metric points")):
        p = sub.add_parser(verb, help=text)
        p.add_argument("name")
        p.add_argument("--json", action="store_true")
    p = sub.add_parser("scale", help="resize a running job to N training processes")
    p.add_argument("name")
    p.add_argument("workers", type=int)
    p.add_argument(
        "-y",
        "--yes",
        "--replace",
        dest="yes",
        action="store_true",
        help="go ahead where scaling replaces the job (a TrainJob: training restarts)",
    )
    p = sub.add_parser("runtimes", help="the Trainer v2 runtimes a TrainJob may name")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("profiles", help="the job profiles your hub admin offers you")
    p.add_argument("--json", action="store_true")
    for verb, text in (
        ("suspend", "stop a job's replicas, keep the job"),
        ("resume", "start a suspended job again"),
        ("delete", "stop and remove a job"),
    ):
        p = sub.add_parser(verb, help=text)
        p.add_argument("name")
    return parser


def run(args: argparse.Namespace, out=None) -> int:
    out = out if out is not None else sys.stdout  # looked up now: it may be redirected
    client = Client(args.backend, namespace=args.namespace)
    cmd = args.command
    if cmd == "submit":
        script_args = args.script_args
        resources = {"cpu": args.cpu, "memory": args.memory, "gpu": args.gpus}
        policies: dict[str, Any] = {}
        if args.restart_policy is not None:
            policies["restart_policy"] = args.restart_policy
        if args.backoff_limit is not _DEFAULT:
            policies["run_policy"] = RunPolicy(backoff_limit=args.backoff_limit)
        job = client.submit(
            name=args.name,
            framework=args.framework,
            **({"runtime": args.runtime} if args.runtime else {}),
            **({"profile": args.profile} if args.profile else {}),
            workers=args.workers,
            script=args.script,
            args=script_args,
            image=args.image,
            env=dict(args.env),
            resources=Resources(**resources),
            volumes=args.volume,
            home=args.home,
            shm=args.shm,
            secret_env=dict(args.secret_env),
            **policies,
        )
        noun = "nodes" if job.kind == "TrainJob" else "workers"
        print(f"submitted {job.kind} {job.name} ({job.workers} {noun})", file=out)
        if job.extra.get("notice"):
            print(f"{job.name}: {job.extra['notice']}", file=sys.stderr)
        if args.follow:
            for line in client.logs(job.name, follow=True):
                print(line, file=out, flush=True)
        if not (args.wait or args.follow):
            print(json.dumps(job.to_dict(), indent=1) if args.json else job_summary(job), file=out)
            return 0
        job = client.wait(job.name, conditions=("Succeeded", "Failed"), timeout=24 * 3600)
        print(json.dumps(job.to_dict(), indent=1) if args.json else job_summary(job), file=out)
        if job.phase != "Failed":
            return 0
        try:
            events = client.events(job.name)
        except JupyterKFError:
            events = []
        # The reason on stderr too, so it shows when stdout goes to a file or to jq.
        print(f"error: {job.name}: {explain(job, events)}", file=sys.stderr)
        return 1
    if cmd == "list":
        jobs = client.list()
        if args.json:
            print(json.dumps([j.to_dict() for j in jobs], indent=1), file=out)
        else:
            print(jobs_table(jobs), file=out)
        return 0
    if cmd == "status":
        job = client.get(args.name)
        print(json.dumps(job.to_dict(), indent=1) if args.json else job_summary(job), file=out)
        return 0
    if cmd == "logs":
        for line in client.logs(
            args.name, replica=args.replica, follow=args.follow, tail_lines=args.tail
        ):
            print(line, file=out, flush=args.follow)
        return 0
    if cmd == "events":
        events = client.events(args.name)
        if args.json:
            print(json.dumps([e.to_dict() for e in events], indent=1), file=out)
        else:
            print(events_table(events), file=out)
        return 0
    if cmd == "metrics":
        points = client.metrics(args.name)
        if args.json:
            print(json.dumps(points, indent=1), file=out)
        else:
            print(metrics_text(points), file=out)
        return 0
    if cmd == "scale":
        if client.get(args.name).kind == "TrainJob":
            if not args.yes:
                print(
                    f"error: {args.name}: {SCALE_REPLACES}. To go ahead: "
                    f"jupyter kf scale {args.name} {args.workers} --yes",
                    file=sys.stderr,
                )
                return 2
            print(f"{args.name}: {SCALE_REPLACES}...", file=sys.stderr, flush=True)
        job = client.scale(args.name, args.workers)
        noun = "nodes" if job.kind == "TrainJob" else "workers"
        print(f"{job.name}: {job.workers} {noun}, {job.phase}", file=out)
        if job.extra.get("notice"):
            print(f"{job.name}: {job.extra['notice']}", file=out)
        return 0
    if cmd == "runtimes":
        runtimes = client.runtimes()
        if args.json:
            print(json.dumps([r.to_dict() for r in runtimes], indent=1), file=out)
        else:
            print(runtimes_table(runtimes), file=out)
        return 0
    if cmd == "profiles":
        mine = client.job_profiles
        if args.json:
            data = {"required": mine.required, "profiles": [p.to_dict() for p in mine.profiles]}
            print(json.dumps(data, indent=1), file=out)
        else:
            print(profiles_table(mine), file=out)
        return 0
    if cmd in ("suspend", "resume"):
        job = getattr(client, cmd)(args.name)
        print(f"{job.name}: {job.phase}", file=out)
        return 0
    if cmd == "delete":
        client.delete(args.name)
        print(f"deleted {args.name}", file=out)
        return 0
    raise AssertionError(cmd)  # argparse only lets the commands above through


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    script_args: list[str] = []
    if "--" in argv:  # everything after -- belongs to the training script
        cut = argv.index("--")
        argv, script_args = argv[:cut], argv[cut + 1 :]
    args = parser.parse_args(argv)
    if script_args and args.command != "submit":
        parser.error("only submit takes arguments after --")
    args.script_args = script_args
    try:
        return run(args)
    except InvalidSpecError as exc:  # the user's input, like a bad argument: fix and rerun
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except JupyterKFError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`jupyter kf logs x | head`): stop quietly, as shell tools do.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
