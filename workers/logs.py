"""Logging set-up: text or JSON lines, with the integration (and order, import) in context.

`log_context(integration_id=...)` adds fields to every line logged inside it.
Every line of output goes through here: uncaught exceptions of the main thread
and of any other thread (the publisher's I/O thread, the HTTP server's), errors
Python ignores (`sys.unraisablehook`), warnings, and the libraries' own loggers
(Dramatiq, pika, psycopg), which are kept quiet at INFO. Messages, exception texts
and tracebacks are scrubbed of token parameters and URL passwords, as a last line
of defence (no code path is meant to log one). In JSON, each record is one JSON
object on one line, whatever it holds.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from workers.redaction import redact

_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("log_context", default={})  # noqa: B039

#: libraries whose INFO lines are chatter for an operator (psycopg.pool logs three per
#: checkout, Dramatiq and pika one per connection event): WARNING and above only
QUIET = ("pika", "httpx", "httpcore", "dramatiq", "psycopg", "psycopg.pool", "urllib3", "asyncio")

log = logging.getLogger("workers.uncaught")


@contextmanager
def log_context(**fields: str | int | None) -> Iterator[None]:
    """Add `fields` (e.g. integration_id, order_id, import_id) to every record logged inside."""
    merged = {**_context.get(), **{k: str(v) for k, v in fields.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # arguments that do not fit the format: keep the line, say so
        return f"{record.msg!s} (unformattable arguments)"


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.ctx = _context.get()
        message = _message(record)
        scrubbed = redact(message)
        if scrubbed != message or record.args:
            record.msg, record.args = scrubbed, None
        return True


class _Scrubbing(logging.Formatter):
    """Scrubs tracebacks and stacks as the filter scrubs messages."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's naming)
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return redact(super().formatStack(stack_info))


class _TextFormatter(_Scrubbing):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ctx: dict[str, str] = getattr(record, "ctx", {})
        if ctx:
            line += " [" + " ".join(f"{k}={v}" for k, v in ctx.items()) + "]"
        return line


class _JsonFormatter(_Scrubbing):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName,
            "message": _message(record),
            **getattr(record, "ctx", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler whose own failures still come out as one line of the format."""

    def __init__(self, *, json_lines: bool) -> None:
        super().__init__(sys.stderr)
        self.json_lines = json_lines

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802
        # logging's default prints a multi-line traceback to stderr
        what = f"a log record of {record.name!r} could not be written"
        line = json.dumps({"level": "ERROR", "logger": "workers.logs", "message": what}) if self.json_lines \
            else f"ERROR workers.logs: {what}"
        try:
            self.stream.write(line + "\n")
            self.flush()
        except Exception:  # the stream itself is gone: there is nothing else to tell
            pass


def _uncaught(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        return
    log.critical("uncaught %s", kind.__name__, exc_info=(kind, value, tb))


def _uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    name = args.thread.name if args.thread is not None else "?"
    log.error("uncaught %s in thread %r", args.exc_type.__name__, name,
              exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


def _unraisable(unraisable: Any) -> None:
    value = unraisable.exc_value
    what = unraisable.err_msg or "exception ignored"
    log.warning("%s: %r", what, unraisable.object,
                exc_info=(type(value), value, unraisable.exc_traceback) if value is not None else None)


def setup_logging(*, fmt: str = "text", level: str = "INFO") -> None:
    """Configure the root logger once per process: one line per record on stderr.

    Also routes uncaught exceptions (every thread), ignored errors and warnings
    through it, and quiets the libraries' INFO chatter.
    """
    handler = _Handler(json_lines=fmt == "json")
    handler.addFilter(_ContextFilter())
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            _TextFormatter("%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    logging.captureWarnings(True)
    sys.excepthook = _uncaught
    threading.excepthook = _uncaught_in_thread
    sys.unraisablehook = _unraisable
