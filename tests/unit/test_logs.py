"""Log lines: text or JSON, with the integration in context, never a token parameter."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from workers.logs import log_context, setup_logging


@pytest.fixture
def restore_root() -> Iterator[logging.Logger]:
    """Undo setup_logging: root handlers and level, and the levels it gives noisy loggers."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in ("pika", "httpx", "httpcore", "dramatiq")}
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, noisy_level in noisy.items():
        logging.getLogger(name).setLevel(noisy_level)


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


def test_a_url_password_that_reaches_a_log_line_is_masked_and_its_user_and_host_kept(
    restore_root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(fmt="text", level="INFO")
    logging.getLogger("workers.test").error("cannot reach %s", "postgresql://app:S3CRET@db.internal:5432/rakuten")
    err = capsys.readouterr().err
    assert "S3CRET" not in err and "postgresql://app:***@db.internal:5432/rakuten" in err
