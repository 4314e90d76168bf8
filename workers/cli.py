"""The `rakuten-worker` command line (CONTRACT §4)."""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from workers.settings import Settings, SettingsError, load_settings

log = logging.getLogger(__name__)

Command = Callable[[Settings, argparse.Namespace], int]


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from workers.boot import run_migrations

    applied = run_migrations(settings)
    print(f"schema up to date ({len(applied)} migration(s) applied: {', '.join(applied) or 'none'})")
    return 0


def _genkey(settings: Settings, args: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())
    return 0


def _sandbox(settings: Settings, args: argparse.Namespace) -> int:
    from connectors.rakuten.sandbox import serve

    serve(args.host, args.port)
    return 0


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from workers.boot import run_migrations
    from workers.observability.multiprocess import child_environment
    from workers.processes import scheduler_id, stop_on_signals
    from workers.supervisor import Supervisor, part

    settings.require_token_key()
    stop = stop_on_signals()
    run_migrations(settings)
    heartbeat = scheduler_id()  # made here, inherited by the scheduler child
    supervisor = Supervisor(
        [
            part("ingress"),
            part("worker", "--threads", str(args.threads)),
            part("scheduler"),
        ],
        child_environment(),
    )
    _serve_observability(
        settings,
        lambda: None if supervisor.all_alive() else "a part is restarting",
        with_ingress=True,
        scheduler=heartbeat,
    )
    return supervisor.run(stop)


def _serve_observability(
    settings: Settings,
    progress: Callable[[], str | None],
    *,
    with_ingress: bool = False,
    scheduler: str | None = None,
) -> None:
    """Serve /metrics and /healthz unless a leader does; `scheduler` is the heartbeat to watch."""
    from workers.observability.health import Health
    from workers.observability.multiprocess import is_child
    from workers.observability.server import serve

    if not is_child():
        inbox = settings.broker.events_queue if with_ingress else None
        serve(settings, Health(settings, progress=progress, inbox_queue=inbox, scheduler_id=scheduler))


def _ingress(settings: Settings, args: argparse.Namespace) -> int:
    from workers.processes import run_ingress

    settings.require_token_key()
    _serve_observability(settings, lambda: None, with_ingress=True)
    return run_ingress(settings)


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from workers.tasks import QUEUES

    settings.require_token_key()
    queues = [q.strip() for q in args.queues.split(",") if q.strip()] if args.queues else list(QUEUES)
    unknown = set(queues) - set(QUEUES)
    if unknown:
        raise SettingsError(f"--queues: unknown queue(s) {', '.join(sorted(unknown))}")
    if args.processes > 1:
        return _worker_group(settings, args, queues)
    from workers.processes import run_worker

    _serve_observability(settings, lambda: None)
    return run_worker(settings, threads=args.threads, queues=queues)


def _worker_group(settings: Settings, args: argparse.Namespace, queues: list[str]) -> int:
    from workers.observability.multiprocess import child_environment
    from workers.processes import stop_on_signals
    from workers.supervisor import Supervisor, part

    stop = stop_on_signals()
    argv = ("--threads", str(args.threads), "--queues", ",".join(queues))
    supervisor = Supervisor([part("worker", *argv) for _ in range(args.processes)], child_environment())
    _serve_observability(settings, lambda: None if supervisor.all_alive() else "a worker is restarting")
    return supervisor.run(stop)


def _scheduler(settings: Settings, args: argparse.Namespace) -> int:
    from workers.processes import run_scheduler_process, scheduler_id

    settings.require_token_key()
    _serve_observability(settings, lambda: None, scheduler=scheduler_id())
    return run_scheduler_process(settings)


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from workers.demo import run_demo

    return run_demo(settings, args)


def _rotate_key(settings: Settings, args: argparse.Namespace) -> int:
    from workers.key_rotation import rotate_key

    return rotate_key(settings, args)


def _contract(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from events import contract_docs
    from workers.settings import BrokerSettings

    # the contract's names (the settings' defaults), whatever this environment sets
    names = BrokerSettings.model_fields
    return contract_docs.run(
        asyncapi=Path(args.asyncapi),
        schemas=Path(args.schemas),
        exchange=names["events_exchange"].default,
        queue=names["events_queue"].default,
        check=args.check,
    )


def _runbook(settings: Settings, args: argparse.Namespace) -> int:
    from workers import runbook

    return runbook.COMMANDS[args.command](settings, args)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rakuten-worker",
        description="Rakuten France connector: verifies sellers, imports orders, pushes stock.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("migrate", help="create or upgrade the database schema (safe to run twice)")
    sub.add_parser("genkey", help="print a new TOKEN_ENCRYPTION_KEY")
    rotate = sub.add_parser("rotate-key", help="re-encrypt every stored token with the first key")
    rotate.add_argument("--batch", type=_positive, default=100, help="tokens per transaction (default 100)")
    run = sub.add_parser("run", help="migrate, then run ingress, workers and scheduler, supervised")
    run.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
    sub.add_parser("ingress", help="consume inbound events from RabbitMQ")
    worker = sub.add_parser("worker", help="run Dramatiq worker processes")
    worker.add_argument("--processes", type=int, default=1, help="worker processes (default 1)")
    worker.add_argument("--threads", type=int, default=8, help="threads per process (default 8)")
    worker.add_argument("--queues", default="", help="comma-separated queues (default: all)")
    sub.add_parser("scheduler", help="claim due work in the database and dispatch it")
    demo = sub.add_parser("demo", help="run a demonstration against the built-in sandbox")
    demo.add_argument("--keep-database", action="store_true", help="keep the demo database")
    status = sub.add_parser("status", help="show integrations, due work and the outbox backlog")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    reverify = sub.add_parser("reverify", help="verify an integration's credentials again now")
    reverify.add_argument("integration_id")
    poll = sub.add_parser("poll", help="poll an integration's orders now")
    poll.add_argument("integration_id")
    resync = sub.add_parser("resync-stock", help="re-send all of an integration's stock in the next file")
    resync.add_argument("integration_id")
    replay = sub.add_parser("replay-dead-letters", help="move dead-lettered events back to the inbox")
    replay.add_argument("--limit", type=int, default=0, help="at most this many (default: all)")
    contract = sub.add_parser("contract", help="write the AsyncAPI document and the events' JSON Schemas")
    contract.add_argument("--asyncapi", default="asyncapi.yaml", help="AsyncAPI file (default asyncapi.yaml)")
    contract.add_argument("--schemas", default="schemas", help="folder of the JSON Schemas (default schemas)")
    contract.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file differs")
    sandbox = sub.add_parser("sandbox", help="serve a local Rakuten web-services sandbox")
    sandbox.add_argument("--port", type=int, default=8099)
    sandbox.add_argument("--host", default="127.0.0.1")
    return parser


COMMANDS: dict[str, Command] = {
    "migrate": _migrate,
    "genkey": _genkey,
    "rotate-key": _rotate_key,
    "sandbox": _sandbox,
    "run": _run,
    "ingress": _ingress,
    "worker": _worker,
    "scheduler": _scheduler,
    "demo": _demo,
    "contract": _contract,
    "status": _runbook,
    "reverify": _runbook,
    "poll": _runbook,
    "resync-stock": _runbook,
    "replay-dead-letters": _runbook,
}

#: commands that run for long and export metrics as a process group
LONG_RUNNING = {"run", "ingress", "worker", "scheduler"}


def _json_requested() -> bool:
    """Whether LOG_FORMAT asks for JSON, read directly (the settings did not load)."""
    return os.environ.get("LOG_FORMAT", "").strip().lower() == "json"


def _fatal(command: str, exc: Exception, *, json_lines: bool) -> None:
    """Say why the command cannot run: one line, a JSON object for a service logging JSON."""
    if command in LONG_RUNNING and json_lines:
        entry = {"time": datetime.now(UTC).isoformat(), "level": "CRITICAL", "logger": "workers.cli",
                 "process": command, "message": str(exc)}
        print(json.dumps(entry), file=sys.stderr)
    else:
        print(f"rakuten-worker: {exc}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, load the settings once and run the command; return its exit code."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        _fatal(args.command, exc, json_lines=_json_requested())
        return 2
    from workers.boot import BootError
    from workers.logs import setup_logging

    metrics_dir = None
    if args.command in LONG_RUNNING:
        from workers.observability.multiprocess import prepare_multiprocess

        metrics_dir = prepare_multiprocess()
        multiprocessing.current_process().name = args.command  # names the part in every log line

    setup_logging(fmt=settings.observability.log_format, level=settings.observability.log_level)
    try:
        return COMMANDS[args.command](settings, args)
    except (SettingsError, BootError) as exc:
        _fatal(args.command, exc, json_lines=settings.observability.log_format == "json")
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        if metrics_dir:
            from workers.observability.multiprocess import cleanup_multiprocess

            cleanup_multiprocess(metrics_dir)
