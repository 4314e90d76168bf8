"""`rakuten-worker demo`: the whole connector at work in well under a minute, on the local services.

It needs only PostgreSQL and RabbitMQ (DATABASE_URL / RABBITMQ_URL, localhost by
default): it makes its own database and vhost, starts the Rakuten sandbox in-process
and `rakuten-worker run` as a child process (logging to a file), plays the install
and inventory services, prints what happens step by step, then removes everything.

The modules of this package: `stage` sets up and takes down, `story` tells the
story (`stock` its stock part), `data` holds the shop and its events, `console`
prints, `worker` drives and observes the worker, `isolation` owns the database
and vhost.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tempfile
import traceback
from contextlib import ExitStack
from types import FrameType

from workers.demo.console import Console, DemoFailed, tail
from workers.demo.isolation import ServicesUnavailable, check_services
from workers.demo.stage import set_up
from workers.demo.story import play
from workers.redaction import redact
from workers.settings import Settings

LOG_TAIL_LINES = 20  #: lines of the worker's log shown when the demo fails

INTRODUCTION = (
    "This runs the connector against a local Rakuten sandbox, in a database and a RabbitMQ",
    "vhost of its own. It plays the install service and the inventory service: it publishes",
    "their events, then shows what the worker does and what it publishes back.",
)


def run_demo(settings: Settings, args: argparse.Namespace) -> int:
    """Run the demo; return 0 when every step happened, 1 when one did not, 2 without services."""
    _readable_stdout()
    logging.getLogger("pika").setLevel(logging.CRITICAL)  # "not there" is said once, below
    database_url, rabbitmq_url = str(settings.database.database_url), str(settings.broker.rabbitmq_url)
    try:
        check_services(database_url, rabbitmq_url)
    except ServicesUnavailable as exc:
        print(f"rakuten-worker demo: {exc}", file=sys.stderr)
        return 2
    console = Console()
    console.title("Rakuten connector demo", *INTRODUCTION)
    console.plain()
    console.done("PostgreSQL and RabbitMQ answer")
    console.detail(f"DATABASE_URL {redact(database_url)}, RABBITMQ_URL {redact(rabbitmq_url)}")
    log_path = os.path.join(tempfile.mkdtemp(prefix="rakuten-demo-"), "worker.log")
    interrupted = _perform(settings, console, log_path, keep_database=bool(args.keep_database))
    console.plain()
    verdict = "Interrupted" if interrupted else "Done" if console.failures == 0 else "The demo FAILED"
    if os.path.exists(log_path):
        console.plain(f"{verdict} after {console.elapsed():.1f}s. The worker's log: {log_path}")
    else:  # the worker never started
        os.rmdir(os.path.dirname(log_path))
        console.plain(f"{verdict} after {console.elapsed():.1f}s.")
    if interrupted:
        return 130
    return 0 if console.failures == 0 else 1


def _perform(settings: Settings, console: Console, log_path: str, *, keep_database: bool) -> bool:
    """Set the stage, play the story, take it all down; return whether Ctrl-C stopped it."""
    interrupted = False
    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    previous_int = signal.getsignal(signal.SIGINT)
    try:
        with ExitStack() as stack:
            try:
                stage = set_up(settings, console, stack, log_path=log_path, keep_database=keep_database)
                play(stage)
            except DemoFailed as exc:
                console.failed(str(exc))
                _show_log(console, log_path)
            except KeyboardInterrupt:
                interrupted = True
                console.failed("Interrupted: stopping")
            except Exception as exc:  # a bug or a service that went away: say so, then clean up
                console.failed(f"Unexpected error: {type(exc).__name__}: {exc}")
                traceback.print_exc(file=sys.stderr)
                _show_log(console, log_path)
            console.heading("Cleaning up")
            # a second Ctrl-C must not leave a database, a vhost or a worker behind
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)
    return interrupted


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into KeyboardInterrupt, so the demo cleans up as on Ctrl-C."""
    raise KeyboardInterrupt


def _show_log(console: Console, log_path: str) -> None:
    lines = tail(log_path, LOG_TAIL_LINES)
    if lines:
        console.plain(f"\nThe last lines of the worker's log ({log_path}):")
        for line in lines:
            console.plain(f"  | {line}")


def _readable_stdout() -> None:
    """Never fail on a character the terminal cannot show (the buyers' names are accented)."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="replace")
