"""``%kftrain`` and ``%%kftrain``: launch and manage training jobs from a notebook.

Thin by design: parse the line, call the ``Client``, render. Every user mistake and every
``JupyterKFError`` becomes IPython's ``UsageError``: a short message (with the usage line
where the arguments were at fault), never a traceback.

Backends plug in by name: ``--local`` is the local backend, ``--cluster`` is whatever
``KFTrainMagics.cluster_backend`` names (``kubernetes``), created through
``jupyter_kf.client.make_backend``. Without either, ``KFTrainMagics.backend`` decides; its
default is the client's (``auto``: the cluster when one is configured, else this machine).
"""

from __future__ import annotations

import argparse
import secrets
import shlex
import time
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import MagicArgumentParser
from traitlets import Bool, Enum, Float, Int, Unicode

from . import client as client_module
from .client import Client
from .display import (
    SCALE_REPLACES,
    count,
    events_table,
    in_kernel,
    jobs_table,
    metrics_text,
    profiles_table,
    runtimes_table,
    status_line,
)
from .errors import InvalidSpecError, JobFailedError, JupyterKFError
from .jobs import Job, Resources, RunPolicy
from .jobs.explain import culprit, explain
from .magic_args import (
    DEFAULT,
    FRAMEWORKS,
    SHORT_USAGE,
    SUBCOMMANDS,
    data_fields,
    launch_arguments,
    subcommand_parser,
)


@magics_class
class KFTrainMagics(Magics):
    """The ``%kftrain`` magics. Configure with ``%config KFTrainMagics.<trait> = ...``."""

    backend = Enum(
        ["auto", "local", "cluster"],
        client_module.DEFAULT_BACKEND,
        help=(
            "Where jobs run when neither --local nor --cluster is given: 'auto' (the cluster "
            "when one is configured, as in a notebook pod, else this machine), 'local' or "
            "'cluster'."
        ),
    ).tag(config=True)
    cluster_backend = Unicode(
        "kubernetes",
        help=("The backend --cluster uses, by the name jupyter_kf.client.make_backend knows it."),
    ).tag(config=True)
    namespace = Unicode(
        None,
        allow_none=True,
        help=(
            "The namespace jobs go to when --namespace is not given (None: the backend's "
            "default; the local backend has a single namespace)."
        ),
    ).tag(config=True)
    framework = Unicode(
        None,
        allow_none=True,
        help=(
            f"The framework when neither --framework nor --runtime is given: one of "
            f"{FRAMEWORKS}. None: the cluster decides (a PyTorchJob, or a TrainJob on a "
            "cluster that serves only Trainer v2)."
        ),
    ).tag(config=True)
    # The panel's launch form starts at 2 too: a distributed job, not a single process.
    workers = Int(
        2, help="Training processes (a TrainJob's nodes) when --workers is not given."
    ).tag(config=True)
    image = Unicode(
        None,
        allow_none=True,
        help=(
            "The container image when --image is not given (cluster backends; None: the "
            "backend's default, the notebook's own image)."
        ),
    ).tag(config=True)
    wait_timeout = Float(
        24 * 3600.0,
        help=("Seconds --wait and --follow wait for a job before giving up (the job goes on)."),
    ).tag(config=True)
    widget = Bool(
        True,
        help=(
            "Show a submitted job as the live JobMonitor widget in a notebook; False shows the "
            "text summary. Terminals always get the text."
        ),
    ).tag(config=True)
    failed_log_lines = Int(
        20,
        help=(
            "How many of the failed replica's last log lines to print when a waited-for job "
            "fails (after the one-line reason)."
        ),
    ).tag(config=True)

    def __init__(self, shell=None, **kwargs: Any):
        super().__init__(shell=shell, **kwargs)
        self._clients: dict[str, Client] = {}
        self._parsers: dict[str, MagicArgumentParser] = {}
        # Jobs whose live widget --wait already shows, by the cell (execution count) that
        # shows it: the Job that cell returns shows as text, not as a second widget.
        self._shown_live: dict[tuple[str, str], int] = {}

    # -- backends -------------------------------------------------------------------------
    def client(self, backend: str = "local") -> Client:
        """The client of a backend by its ``make_backend`` name, made once."""
        if backend not in self._clients:
            if backend not in client_module.BACKENDS:
                raise UsageError(
                    f"there is no {backend!r} backend (KFTrainMagics.cluster_backend); use one "
                    f"of {', '.join(client_module.BACKENDS)}, or run the job with --local"
                )
            try:
                self._clients[backend] = Client(backend)
            except JupyterKFError as exc:
                raise UsageError(f"cannot use the {backend} backend: {exc}") from exc
        return self._clients[backend]

    def backend_for(self, args: argparse.Namespace) -> str:
        """The ``make_backend`` name a command's jobs go to."""
        if args.local:
            return "local"
        if args.cluster:
            return self.cluster_backend
        where = self.backend
        if where == "auto":
            where = "local" if client_module.resolve_backend(where) == "local" else "cluster"
        return self.cluster_backend if where == "cluster" else "local"

    def _client_for(self, args: argparse.Namespace) -> Client:
        return self.client(self.backend_for(args))

    def _ns(self, args: argparse.Namespace) -> str | None:
        return args.namespace or self.namespace

    def monitor_for(self, job: Job):
        """The widget a displayed job becomes (None: show text). Used by the display hook."""
        if not self.widget:
            return None
        shown_in = self._shown_live.pop((job.name, job.namespace), None)
        if shown_in is not None and shown_in == getattr(self.shell, "execution_count", None):
            return None
        from .widgets import JobMonitor

        backend = "local" if job.backend == "local" else self.cluster_backend
        return JobMonitor(job.name, self.client(backend), namespace=job.namespace, job=job)

    def close(self) -> None:
        for c in self._clients.values():
            c.close()
        self._clients.clear()

    # -- the magic ----------------------------------------------------------------------------
    @launch_arguments
    @line_cell_magic
    def kftrain(self, line: str = "", cell: str | None = None):
        """Launch a distributed training job, or manage jobs.

        As a cell magic the cell is the training script every worker runs; as a line
        magic give a Python file. Jobs run where --local or --cluster says, else where
        KFTrainMagics.backend says (default auto: the cluster when one is configured, as in
        a notebook pod, else this machine). Other subcommands:

          list                 the jobs
          status NAME          the job (a widget in a notebook); --short: one line
          logs NAME [-f] [--replica worker-1] [--tail N]
          events NAME          what happened (scheduling, restarts, ...)
          metrics NAME         reported metric points
          monitor NAME         the live JobMonitor widget
          scale NAME N         resize to N training processes (a TrainJob is replaced:
                               training restarts; give --yes)
          suspend NAME | resume NAME | delete NAME
          runtimes             the Trainer v2 runtimes --runtime may name
          profiles             the job profiles --profile may name

        Each subcommand also takes --local or --cluster and --namespace NS, and -h for its
        help. --runtime NAME makes a Trainer v2 TrainJob (--nodes N is --workers N); without
        --framework or --runtime the cluster decides. Workers see the Training Operator's
        environment (MASTER_ADDR, RANK, WORLD_SIZE, TF_CONFIG, ...), so a script that runs
        with --local runs unchanged with --cluster.
        Report metrics with jupyter_kf.report(step=..., loss=...) or "loss=0.3" lines.
        """
        try:
            # As a shell reads it: quotes group and are removed, a trailing # comment is
            # dropped (Run All must not break on a commented line).
            argv = shlex.split(line, comments=True)
        except ValueError as exc:  # an unclosed quote
            raise self._usage_error(f"{exc}: close the quote") from None
        if argv and argv[0] in ("-h", "--help"):
            print(self.kftrain.parser.format_help())
            return None
        if argv and argv[0] in SUBCOMMANDS:
            if cell is not None:
                raise self._usage_error(f"{argv[0]} is a line magic: %kftrain {argv[0]} ...")
            return self._subcommand(argv[0], argv[1:])
        return self._submit(argv, cell)

    def _usage_error(self, message: str) -> UsageError:
        return UsageError(f"{message}\nusage:\n{SHORT_USAGE}")

    def _parse(self, parser: MagicArgumentParser, argv: list[str]) -> argparse.Namespace:
        try:
            return parser.parse_args(argv)
        except UsageError as exc:
            raise self._usage_error(str(exc)) from None

    # -- launching ----------------------------------------------------------------------------
    def _submit(self, argv: list[str], cell: str | None):
        extra: list[str] = []
        if "--" in argv:  # everything after -- belongs to the training script
            cut = argv.index("--")
            argv, extra = argv[:cut], argv[cut + 1 :]
        args = self._parse(self.kftrain.parser, argv)
        if args.local and args.cluster:
            raise self._usage_error("give --local or --cluster, not both")
        if cell is not None:
            if not cell.strip():
                raise self._usage_error("the cell is empty: write the training script in it")
            stray = [*([args.script] if args.script else []), *args.script_args]
            if stray:
                # e.g. `--name has space`: the name would silently be "has".
                raise self._usage_error(
                    f"unexpected {' '.join(map(repr, stray))}: quote a value with spaces "
                    '(--name "my job") and put the script\'s own arguments after --'
                )
            script, script_args = None, extra
        else:
            if not args.script:
                raise self._usage_error(
                    "give a Python file to run, or use %%kftrain with the script in the cell"
                )
            script, script_args = args.script, [*args.script_args, *extra]
        client = self._client_for(args)
        # No framework and no runtime: None, and the backend runs what the cluster serves.
        framework = args.framework or (None if args.runtime else self.framework)
        fields: dict[str, Any] = {
            "name": args.name or _made_up_name(framework or (args.runtime or "job").split("-")[0]),
            "framework": framework,
            "workers": self.workers if args.workers is None else args.workers,
            "args": script_args,
        }
        if args.runtime:
            fields["runtime"] = args.runtime
        if args.image or self.image:
            fields["image"] = args.image or self.image
        if args.profile:
            fields["profile"] = args.profile
        if args.env:
            fields["env"] = dict(args.env)
        if args.restart_policy is not None:
            fields["restart_policy"] = args.restart_policy
        if args.backoff_limit is not DEFAULT:
            fields["run_policy"] = RunPolicy(backoff_limit=args.backoff_limit)
        if args.cpu or args.memory or args.gpus:
            fields["resources"] = Resources(cpu=args.cpu, memory=args.memory, gpu=args.gpus or 0)
        fields.update(data_fields(args))
        try:
            job = client.submit(namespace=self._ns(args), script=script, cell=cell, **fields)
        except InvalidSpecError as exc:
            raise self._usage_error(str(exc)) from exc
        except (JupyterKFError, OSError) as exc:  # a taken name, a missing file, ...
            raise UsageError(str(exc)) from exc
        if job.extra.get("notice"):
            print(f"{job.name}: {job.extra['notice']}", flush=True)
        if not (args.wait or args.follow):
            return job
        where = job.backend if job.backend == "local" else f"{job.backend}/{job.namespace}"
        print(
            f"submitted {job.kind} {job.name} ({_workers(job)}, {where}); "
            f"{'following its log' if args.follow else 'waiting for it to finish'}...",
            flush=True,
        )
        # The live widget at once, then block: the cell shows the job as it runs.
        monitor = self.monitor_for(job) if in_kernel(self.shell) else None
        if monitor is not None:
            monitor._ipython_display_()
        job = self._wait(client, job, args)
        if monitor is not None:
            if job.status.finished:
                monitor.finish()  # the output keeps the final snapshot
            self._shown_live[(job.name, job.namespace)] = getattr(self.shell, "execution_count", 0)
        return job

    def _wait(self, client: Client, job: Job, args: argparse.Namespace) -> Job:
        ns = self._ns(args)
        try:
            if args.follow:
                for text in client.logs(job.name, ns, follow=True):
                    print(text, flush=True)
            job = client.wait(
                job.name, ns, conditions=("Succeeded", "Failed"), timeout=self.wait_timeout
            )
        except KeyboardInterrupt:
            print(
                f"stopped waiting; the job goes on (%kftrain status {job.name}, "
                f"%kftrain delete {job.name})"
            )
            return _fresh(client, job, ns)
        except JobFailedError:
            job = _fresh(client, job, ns)
        except JupyterKFError as exc:
            raise UsageError(str(exc)) from exc
        events = []
        if job.phase != "Succeeded":
            try:
                events = client.events(job.name, ns)
            except JupyterKFError:
                pass  # the reason is told without them
        print(f"{job.name}: {explain(job, events)}", flush=True)
        who = culprit(job) if job.phase == "Failed" else None
        if who is not None and not args.follow and self.failed_log_lines > 0:
            try:
                tail = list(
                    client.logs(job.name, ns, replica=who.name, tail_lines=self.failed_log_lines)
                )
            except JupyterKFError:
                tail = []
            if tail:
                print(f"the end of {who.name}'s log:")
                print("\n".join(tail))
        return job

    # -- managing -----------------------------------------------------------------------------
    def _subparser(self, verb: str) -> MagicArgumentParser:
        if verb not in self._parsers:
            self._parsers[verb] = subcommand_parser(verb)
        return self._parsers[verb]

    def _subcommand(self, verb: str, argv: list[str]):
        parser = self._subparser(verb)
        if any(a in ("-h", "--help") for a in argv):
            print(parser.format_help())
            return None
        args = self._parse(parser, argv)
        client = self._client_for(args)
        ns = self._ns(args)
        try:
            return getattr(self, f"_do_{verb}")(client, ns, args)
        except InvalidSpecError as exc:
            raise self._usage_error(str(exc)) from exc
        except JupyterKFError as exc:
            raise UsageError(str(exc)) from exc

    def _do_list(self, client: Client, ns, args) -> None:
        print(jobs_table(client.list(ns)))

    def _do_status(self, client: Client, ns, args) -> Job | None:
        """The job, which shows itself (a widget in a notebook, its summary elsewhere);
        --short prints one line instead, so a status in a loop does not flood the cell."""
        job = client.get(args.name, ns)
        if not args.short:
            return job
        try:
            points = client.metrics(job.name, ns)
        except JupyterKFError:
            points = []
        print(status_line(job, points), flush=True)
        return None

    def _do_logs(self, client: Client, ns, args) -> None:
        try:
            for text in client.logs(
                args.name, ns, replica=args.replica, follow=args.follow, tail_lines=args.tail
            ):
                print(text, flush=args.follow)
        except KeyboardInterrupt:
            pass

    def _do_events(self, client: Client, ns, args) -> None:
        print(events_table(client.events(args.name, ns)))

    def _do_metrics(self, client: Client, ns, args) -> None:
        print(metrics_text(client.metrics(args.name, ns)))

    def _do_monitor(self, client: Client, ns, args):
        from .widgets import JobMonitor

        return JobMonitor(args.name, client, namespace=ns)

    def _do_scale(self, client: Client, ns, args) -> None:
        if client.get(args.name, ns).kind == "TrainJob":
            if not args.yes:
                raise UsageError(
                    f"{args.name}: {SCALE_REPLACES}. To go ahead: "
                    f"%kftrain scale {args.name} {args.workers} --yes"
                )
            print(f"{args.name}: {SCALE_REPLACES}...", flush=True)
        job = client.scale(args.name, args.workers, ns)
        print(f"{job.name}: {_workers(job)}, {job.phase}")
        if job.extra.get("notice"):
            print(f"{job.name}: {job.extra['notice']}")

    def _do_runtimes(self, client: Client, ns, args) -> None:
        print(runtimes_table(client.runtimes(ns)))

    def _do_profiles(self, client: Client, ns, args) -> None:
        print(profiles_table(client.job_profiles))

    def _do_suspend(self, client: Client, ns, args) -> None:
        print(f"{args.name}: {client.suspend(args.name, ns).phase}")

    def _do_resume(self, client: Client, ns, args) -> None:
        print(f"{args.name}: {client.resume(args.name, ns).phase}")

    def _do_delete(self, client: Client, ns, args) -> None:
        client.delete(args.name, ns)
        print(f"deleted {args.name}")


def _plain_help(doc: str) -> str:
    """``%kftrain?`` as text: IPython's magic_arguments opens the help with an rST literal
    block ("::") of the usage, which the notebook pager shows raw; and the usage's
    subcommand lines repeat the described list below them."""
    head, _, rest = doc.lstrip(":\n ").partition("\n\n")
    usage = [
        line for line in head.splitlines() if not line.lstrip().startswith(("|", "%kftrain list"))
    ]
    usage = [line.strip() for line in usage]
    return "Usage:\n" + "\n".join(f"  {line}" for line in usage) + "\n\n" + rest


KFTrainMagics.kftrain.__doc__ = _plain_help(KFTrainMagics.kftrain.__doc__ or "")


def _workers(job: Job) -> str:
    return count(job.workers, "node" if job.kind == "TrainJob" else "worker")


def _made_up_name(framework: str) -> str:
    """A DNS-1035 name that sorts by time: pytorch-0612-1530-a3f2."""
    prefix = "".join(ch for ch in framework.lower() if ch.isalnum())[:20] or "job"
    if not prefix[0].isalpha():
        prefix = "job" + prefix
    return f"{prefix}-{time.strftime('%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def _fresh(client: Client, job: Job, ns: str | None) -> Job:
    try:
        return client.get(job.name, ns)
    except JupyterKFError:
        return job


# -- the extension's entry points (called from jupyter_kf/__init__.py) -----------------------
_MAGICS: dict[int, KFTrainMagics] = {}


def load_ipython_extension(shell) -> None:
    from .display import register_formatters

    magics = KFTrainMagics(shell)
    shell.register_magics(magics)
    register_formatters(shell, magics.monitor_for)
    _MAGICS[id(shell)] = magics


def unload_ipython_extension(shell) -> None:
    from .display import unregister_formatters

    unregister_formatters(shell)
    magics = _MAGICS.pop(id(shell), None)
    if magics is not None:
        magics.close()
        if magics in getattr(shell, "configurables", []):
            shell.configurables.remove(magics)
        shell.magics_manager.magics["line"].pop("kftrain", None)
        shell.magics_manager.magics["cell"].pop("kftrain", None)
