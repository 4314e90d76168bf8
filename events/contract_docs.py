"""The contract as files: `asyncapi.yaml` and `schemas/<type>.json`, written or checked.

Generated from the event models (`events.catalog`), never by hand:
`rakuten-worker contract` writes them, `--check` lists every file that differs
from what the models give (missing, changed, or a schema of no event type).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

import yaml

from events.asyncapi import GENERATED, asyncapi_document, schema_mode
from events.catalog import CATALOG, EventType

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ASYNCAPI_FILE = Path("asyncapi.yaml")
SCHEMAS_DIR = Path("schemas")


def data_schema(event: EventType) -> dict[str, Any]:
    """Return the standalone JSON Schema (2020-12) of the event type's `data`."""
    schema = event.data_model.model_json_schema(mode=schema_mode(event))
    schema.pop("title", None)
    return {"$schema": DIALECT, "$comment": GENERATED, "title": f"{event.name} data", **schema}


def render_asyncapi(document: dict[str, Any]) -> str:
    """Return the AsyncAPI document as YAML, in the order it was built."""
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return f"# {GENERATED}\n{body}"


def render_schema(schema: dict[str, Any]) -> str:
    """Return a JSON Schema as indented JSON with a final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def contract_files(
    *, asyncapi: Path, schemas: Path, exchange: str, queue: str, catalog: Iterable[EventType] = CATALOG
) -> dict[Path, str]:
    """Return every contract file's path and text."""
    events = list(catalog)
    files = {asyncapi: render_asyncapi(asyncapi_document(exchange=exchange, queue=queue, catalog=events))}
    for event in events:
        files[schemas / f"{event.name}.json"] = render_schema(data_schema(event))
    return files


def stale(files: dict[Path, str], schemas: Path) -> list[str]:
    """Return what differs on disk from `files`: each path missing, changed, or extra in `schemas`."""
    problems = []
    for path, text in files.items():
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: differs from the models")
    extra = sorted(set(schemas.glob("*.json")) - set(files)) if schemas.is_dir() else []
    problems += [f"{path}: no such event type" for path in extra]
    return problems


def write(files: dict[Path, str]) -> None:
    """Write every file, creating its folder."""
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def run(
    *, asyncapi: Path, schemas: Path, exchange: str, queue: str, check: bool, out: TextIO = sys.stdout
) -> int:
    """Write the contract files, or with `check` report those that differ; return the exit code."""
    files = contract_files(asyncapi=asyncapi, schemas=schemas, exchange=exchange, queue=queue)
    if not check:
        write(files)
        print(f"wrote {asyncapi} and {len(files) - 1} schemas in {schemas}", file=out)
        return 0
    problems = stale(files, schemas)
    for problem in problems:
        print(problem, file=out)
    if problems:
        print("run `rakuten-worker contract` to regenerate the contract files", file=out)
        return 1
    print(f"{asyncapi} and {len(files) - 1} schemas in {schemas} match the models", file=out)
    return 0
