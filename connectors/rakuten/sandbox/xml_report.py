"""genericimportreport documents (rakuten-api.md §4.2 and §8a; the root name is a guess)."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.rakuten.sandbox.model import STATUS_DONE, LineResult, StockImport
from connectors.rakuten.sandbox.xml_out import PROLOG, cdata, encode, open_root, request_echo, text

REPORT_DATE_FORMAT = "%d/%m/%Y-%H:%M:%S"
ROOT = "genericimportreportresult"


def _file(record: StockImport) -> str:
    """Return the <file> summary; counts are those of the whole file, not of the page."""
    total = len(record.results)
    errors = sum(1 for result in record.results if result.error_code is not None)
    rate = f"{round(100 * (total - errors) / total)}%" if total else "0%"
    processed = record.processed_at.strftime(REPORT_DATE_FORMAT) if record.processed_at else ""
    return (
        f"<file>\n<filename>{cdata(record.filename)}</filename>\n"
        f"<status>{cdata(record.status)}</status>\n"
        f"<uploaddate>{record.received_at.strftime(REPORT_DATE_FORMAT)}</uploaddate>\n"
        f"<processdate>{processed}</processdate>\n"
        f"<totallines>{total}</totallines>\n"
        f"<processedlines>{total}</processedlines>\n"
        f"<errorlines>{errors}</errorlines>\n"
        f"<successrate>{rate}</successrate>\n"
        "<imageprocessstatus></imageprocessstatus>\n</file>\n"
    )


def _product(result: LineResult) -> str:
    """Return one <product> line; pid and aid only on success, like the captured reports."""
    if result.error_code is None:
        return (
            f"<product>\n<sku>{cdata(result.sku)}</sku>\n<status>{cdata(STATUS_DONE)}</status>\n"
            f"<pid>{text(result.advert_id)}</pid>\n<aid>{text(result.advert_id)}</aid>\n"
            "<errors/>\n</product>\n"
        )
    return (
        f"<product>\n<sku>{cdata(result.sku)}</sku>\n<status>{cdata('Erreur')}</status>\n"
        "<errors>\n<error>\n"
        f"<error_key>{cdata(result.error_key)}</error_key>\n"
        f"<error_code>{text(result.error_code)}</error_code>\n"
        f"<error_text>{cdata(result.error_text)}</error_text>\n"
        "<fatal_error>1</fatal_error>\n</error>\n</errors>\n</product>\n"
    )


def report_document(
    record: StockImport,
    page: Sequence[LineResult],
    *,
    version: str,
    last_version: str,
    user: str,
    echo: dict[str, str],
    next_token: str | None,
) -> bytes:
    """Return the report page: the file summary, its product lines and a nexttoken if more."""
    token = f"<nexttoken>{text(next_token)}</nexttoken>\n" if next_token else ""
    return encode(
        PROLOG
        + open_root(ROOT, "genericimportreport", f"genericimportreport.{version}.xsd")
        + request_echo(version, user, echo)
        + f"<response>\n<lastversion>{last_version}</lastversion>\n"
        + _file(record)
        + "".join(_product(result) for result in page)
        + token
        + f"</response>\n</{ROOT}>\n"
    )
