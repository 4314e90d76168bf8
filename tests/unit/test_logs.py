"""Log lines: text or JSON, with the integration in context, never a token parameter."""

from __future__ import annotations

import gc
import json
import logging
import os
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator

import pytest

from workers.logs import QUIET, log_context, setup_logging


@pytest.fixture
def restore_root() -> Iterator[logging.Logger]:
    """Undo setup_logging: root handlers and level, the libraries' levels and the hooks."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in QUIET}
    hooks = (sys.excepthook, threading.excepthook, sys.unraisablehook)
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, noisy_level in noisy.items():
        logging.getLogger(name).setLevel(noisy_level)
    sys.excepthook, threading.excepthook, sys.unraisablehook = hooks
    logging.captureWarnings(False)


def _json_lines(err: str) -> list[dict[str, object]]:
    """Every line of `err` parsed as JSON (fails on a line that is not one JSON object)."""
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert all(isinstance(line, dict) for line in lines)
    return lines


def test_json_lines_carry_the_context_fields(
    restore_root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(fmt="json", level="INFO")
    with log_context(integration_id="int-1", import_id=42):
        logging.getLogger("workers.test").info("stock file sent: %d SKU(s)", 3)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "stock file sent: 3 SKU(s)"
    assert (line["integration_id"], line["import_id"], line["level"]) == ("int-1", "42", "INFO")


def test_text_lines_end_with_the_context(
    restore_root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(fmt="text", level="INFO")
    with log_context(integration_id="int-2"):
        logging.getLogger("workers.test").warning("order poll failed")
    assert capsys.readouterr().err.strip().endswith("order poll failed [integration_id=int-2]")


def test_a_token_parameter_that_reaches_a_log_line_is_masked(
    restore_root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(fmt="text", level="INFO")
    logging.getLogger("workers.test").error("GET %s", "https://x/sales_ws?action=a&login=l&pwd=SECRET-TOK")
    err = capsys.readouterr().err
    assert "SECRET-TOK" not in err and "pwd=***" in err


def test_the_context_ends_with_its_block(
    restore_root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(fmt="json", level="INFO")
    with log_context(integration_id="int-3"):
        pass
    logging.getLogger("workers.test").info("after")
    assert "integration_id" not in json.loads(capsys.readouterr().err.strip().splitlines()[-1])


def test_exception_texts_and_tracebacks_are_scrubbed_like_messages(
    restore_root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    for fmt in ("json", "text"):
        setup_logging(fmt=fmt, level="INFO")
        try:
            raise ConnectionError("GET https://x/?login=l&pwd=TOKEN-1 via amqp://app:MQ-PASS@mq:5672/v")
        except ConnectionError:
            logging.getLogger("workers.test").exception("call failed")
        err = capsys.readouterr().err
        assert "TOKEN-1" not in err and "MQ-PASS" not in err
        assert "pwd=***" in err and "amqp://app:***@mq" in err and "ConnectionError" in err
        if fmt == "json":
            (line,) = _json_lines(err)
            assert "Traceback" in str(line["exception"])


def test_an_uncaught_exception_in_a_thread_is_one_json_line(
    restore_root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(fmt="json", level="INFO")

    def fail() -> None:
        raise RuntimeError("the I/O thread broke on pwd=TOKEN-2")

    worker = threading.Thread(target=fail, name="publisher-io")
    worker.start()
    worker.join()
    (line,) = _json_lines(capsys.readouterr().err)
    assert line["level"] == "ERROR" and "publisher-io" in str(line["message"])
    assert "RuntimeError" in str(line["exception"]) and "TOKEN-2" not in json.dumps(line)


def test_warnings_errors_python_ignores_and_bad_format_arguments_are_json_lines(
    restore_root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(fmt="json", level="INFO")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("something is deprecated", DeprecationWarning, stacklevel=1)

    class Broken:
        def __del__(self) -> None:
            raise ValueError("closing failed")

    Broken()
    gc.collect()
    logging.getLogger("workers.test").info("%d orders", "not a number")
    lines = _json_lines(capsys.readouterr().err)
    assert [line["logger"] for line in lines] == ["py.warnings", "workers.uncaught", "workers.test"]
    assert "ValueError" in str(lines[1]["exception"])
    assert "unformattable" in str(lines[2]["message"])


def test_the_libraries_info_chatter_is_quiet_at_info_and_their_warnings_are_kept(
    restore_root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(fmt="json", level="INFO")
    for name in ("psycopg.pool", "dramatiq.worker.Worker", "pika.adapters.blocking_connection"):
        logging.getLogger(name).info("connection given by 'rakuten-worker'")
        logging.getLogger(name).warning("discarding broken connection")
    lines = _json_lines(capsys.readouterr().err)
    assert [line["message"] for line in lines] == ["discarding broken connection"] * 3


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env}, check=False)


def test_an_uncaught_exception_of_the_main_thread_is_logged_through_the_logger() -> None:
    result = _python("from workers.logs import setup_logging\n"
                     "setup_logging(fmt='json')\n"
                     "raise RuntimeError('boom at https://u:DB-PASS@db/x')")
    assert result.returncode == 1
    (line,) = _json_lines(result.stderr)
    assert line["level"] == "CRITICAL" and line["message"] == "uncaught RuntimeError"
    assert "DB-PASS" not in result.stderr


def test_a_service_that_cannot_start_says_why_in_one_json_line_when_logging_json() -> None:
    cases = [("scheduler", {"METRICS_PORT": "not-a-port"}),
             ("run", {"DATABASE_URL": "postgresql://u:DB-PASS@127.0.0.1:9/x", "METRICS_PORT": "0"})]
    for command, bad in cases:
        result = subprocess.run(
            [sys.executable, "-m", "workers", command], capture_output=True, text=True, timeout=60,
            env={**os.environ, "LOG_FORMAT": "json", "TOKEN_ENCRYPTION_KEY": "x" * 43 + "=", **bad},
            check=False,
        )
        assert result.returncode == 2, result.stderr
        lines = _json_lines(result.stderr)
        assert lines and lines[-1]["level"] == "CRITICAL", result.stderr
        assert "DB-PASS" not in result.stderr


def test_a_url_password_that_reaches_a_log_line_is_masked_and_its_user_and_host_kept(
    restore_root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(fmt="text", level="INFO")
    logging.getLogger("workers.test").error("cannot reach %s", "postgresql://app:S3CRET@db.internal:5432/rakuten")
    err = capsys.readouterr().err
    assert "S3CRET" not in err and "postgresql://app:***@db.internal:5432/rakuten" in err
