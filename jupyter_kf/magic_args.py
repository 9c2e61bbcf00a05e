"""The arguments ``%kftrain`` reads: the launch options (a decorator for the magic) and each
subcommand's parser, with the usage lines both print. Parsing only: ``magics.py`` acts."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from IPython.core.magic_arguments import (
    MagicArgumentParser,
    argument,
    argument_group,
    kwds,
    magic_arguments,
)

from .jobs.kinds import KINDS, RESTART_POLICIES
from .jobs.parts import DEFAULT_BACKOFF_LIMIT
from .jobs.storage import parse_secret_env, parse_volume
from .jobs.validation import parse_backoff_limit, parse_restart_policy

FRAMEWORKS = ", ".join(info.framework for info in KINDS.values())
USAGE_LINES = (
    "%%kftrain [options] [-- script args]      the cell is the training script",
    "%kftrain [options] path/to/train.py [script args]",
    "%kftrain list | status NAME [--short] | logs NAME [-f] [--replica R] [--tail N]",
    "         | events NAME | metrics NAME | monitor NAME | scale NAME N [--yes] | suspend NAME",
    "         | resume NAME | delete NAME | runtimes | profiles  (each also takes --local/--cluster and "
    "--namespace NS)",
    "%kftrain -h | %kftrain SUBCOMMAND -h",
)
SHORT_USAGE = "\n".join("  " + line for line in USAGE_LINES)
# For argparse, which %-formats the usage, and IPython's help, which puts "%" before it.
USAGE = "\n  ".join(line.replace("%", "%%") for line in USAGE_LINES)[2:]

# Subcommand: (positional arguments, one line of help)
SUBCOMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "list": ((), "list jobs"),
    "status": (("name",), "the job: phase, conditions, replicas (--short: one line)"),
    "logs": (("name",), "a replica's log (default: rank 0)"),
    "events": (("name",), "what happened to a job"),
    "metrics": (("name",), "the metric points a job reported"),
    "monitor": (("name",), "the live JobMonitor widget of a job"),
    "scale": (
        ("name", "workers"),
        "resize a job to N training processes (a TrainJob is replaced: give --yes)",
    ),
    "suspend": (("name",), "stop a job's processes, keep the job"),
    "resume": (("name",), "start a suspended job again"),
    "delete": (("name",), "stop and remove a job"),
    "runtimes": ((), "the Trainer v2 runtimes a TrainJob may name (--runtime)"),
    "profiles": ((), "the job profiles your hub admin offers you (--profile)"),
}

DEFAULT = object()  # --backoff-limit not given (None is "no limit")


def env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key, value


def checked(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a parser that raises ValueError with a user's message."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert


# Top to bottom, as they would stand over the magic's ``def``.
_LAUNCH: tuple[Callable[[Any], Any], ...] = (
    magic_arguments(),
    kwds(
        usage=USAGE,
        epilog=f"Frameworks: {FRAMEWORKS}. Runtimes: %kftrain runtimes. Defaults come from "
        "%config KFTrainMagics (list them with %config KFTrainMagics).",
    ),
    argument_group("the job"),
    argument(
        "--framework",
        metavar="F",
        help=f"a Training Operator v1 kind: one of {FRAMEWORKS} (default: "
        "KFTrainMagics.framework; unset, with no --runtime, the cluster decides: a PyTorchJob, "
        "or a TrainJob where only Trainer v2 is served)",
    ),
    argument(
        "--runtime",
        metavar="R",
        help="a Trainer v2 runtime, e.g. torch-distributed: the job is a TrainJob "
        "(%%kftrain runtimes lists them)",
    ),
    argument(
        "--workers",
        "--nodes",
        dest="workers",
        metavar="N",
        type=int,
        help="training processes; a TrainJob's nodes (default: KFTrainMagics.workers, 2)",
    ),
    argument("--gpus", metavar="G", type=int, help="GPUs per worker"),
    argument("--cpu", metavar="C", help="CPUs per worker, e.g. 2 or 500m"),
    argument("--memory", metavar="M", help="memory per worker, e.g. 4Gi"),
    argument("--image", metavar="I", help="container image (cluster)"),
    argument(
        "--profile",
        metavar="P",
        help="a job profile from your hub admin: image, resources per worker and the nodes "
        "it runs on (%%kftrain profiles lists them)",
    ),
    argument("--name", metavar="NAME", help="the job's name (default: made up)"),
    argument(
        "--env",
        metavar="K=V",
        type=env_pair,
        action="append",
        default=[],
        help="an environment variable for the workers (repeatable)",
    ),
    argument(
        "--restart-policy",
        metavar="P",
        type=checked(parse_restart_policy),
        help=f"when a failed replica restarts: {', '.join(RESTART_POLICIES)} "
        "(default: the framework's, OnFailure for pytorch)",
    ),
    argument(
        "--backoff-limit",
        metavar="N",
        type=checked(parse_backoff_limit),
        default=DEFAULT,
        help=f"restarts before the job is Failed (default {DEFAULT_BACKOFF_LIMIT}; "
        "'none': no limit)",
    ),
    argument_group("data (cluster: your namespace's claims and Secrets)"),
    argument(
        "--volume",
        metavar="CLAIM:/PATH",
        type=checked(parse_volume),
        action="append",
        default=[],
        help="mount a PersistentVolumeClaim at PATH in every worker, read-only with a :ro "
        "suffix (repeatable; locally: the folder PATH of this machine)",
    ),
    argument(
        "--home",
        action="store_true",
        help="mount the notebook's home volume where the notebook has it",
    ),
    argument("--shm", metavar="SIZE", help="size of /dev/shm for data loaders, e.g. 2Gi"),
    argument(
        "--secret-env",
        metavar="VAR=SECRET:KEY",
        type=checked(parse_secret_env),
        action="append",
        default=[],
        help="a variable from a key of a Secret in the job's namespace (repeatable; locally: "
        "the notebook's own VAR)",
    ),
    argument_group("where and how"),
    argument(
        "--local",
        action="store_true",
        help="run on this machine (without --local or --cluster: KFTrainMagics.backend, "
        "auto: the cluster when one is configured, else this machine)",
    ),
    argument("--cluster", action="store_true", help="run on the Kubernetes cluster"),
    argument("--namespace", metavar="NS", help="the job's namespace (cluster)"),
    argument("--wait", action="store_true", help="block until the job finishes"),
    argument(
        "--follow",
        "-f",
        action="store_true",
        help="print rank 0's log as it comes, until the job finishes",
    ),
    argument("script", nargs="?", help="a Python file to run (line magic only)"),
    argument("script_args", nargs=argparse.REMAINDER, help="arguments for the script"),
)


def data_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The submit fields of --volume, --home, --shm and --secret-env (only those given, so a
    job without them is the same job as before they existed). The spec checks them."""
    fields: dict[str, Any] = {}
    if args.volume:
        fields["volumes"] = args.volume
    if args.home:
        fields["home"] = True
    if args.shm is not None:
        fields["shm"] = args.shm
    if args.secret_env:
        fields["secret_env"] = dict(args.secret_env)
    return fields


def launch_arguments(func: Any) -> Any:
    """The launch options of ``%kftrain``, as IPython's ``magic_arguments`` decorators."""
    for decorate in reversed(_LAUNCH):
        func = decorate(func)
    # --worker is not --workers: a misspelt option is an error, never a guessed
    # abbreviation. (MagicArgumentParser takes no allow_abbrev; argparse reads the attribute
    # when it parses.)
    func.parser.allow_abbrev = False
    return func


def subcommand_parser(verb: str) -> MagicArgumentParser:
    """The parser of ``%kftrain VERB``."""
    positionals, text = SUBCOMMANDS[verb]
    p = MagicArgumentParser(prog=f"%kftrain {verb}", description=text)
    p.allow_abbrev = False
    for name in positionals:
        p.add_argument(name, type=int if name == "workers" else str)
    if verb == "status":
        p.add_argument("-s", "--short", action="store_true", help="print one line, return nothing")
    if verb == "logs":
        p.add_argument("-f", "--follow", action="store_true", help="keep printing")
        p.add_argument("--replica", help="e.g. master-0, worker-1, node-1 (default: rank 0)")
        p.add_argument("--tail", type=int, metavar="N", help="only the last N lines")
    if verb == "scale":
        p.add_argument(
            "-y",
            "--yes",
            "--replace",
            dest="yes",
            action="store_true",
            help="go ahead where scaling replaces the job (a TrainJob: training restarts)",
        )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true", help="use the local backend")
    where.add_argument("--cluster", action="store_true", help="use the Kubernetes cluster")
    p.add_argument("--namespace", metavar="NS", help="the jobs' namespace (cluster)")
    return p
