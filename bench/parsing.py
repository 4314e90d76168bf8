"""Figure 6: parsing a 10,000-sale getnewsales answer, in time and in memory.

6a, time: the connector's reader (`SalesReader`, the hardened expat parse into the C
TreeBuilder, fed 64 KiB chunks, every sale read into a `Sale`) against defusedxml's
`fromstring` of the same bytes, which only builds the tree: the parse the connector
used before. The answer is written by the sandbox's own XML writer, in memory; the
two sides alternate, and each is timed in CPU seconds of the process. The notes give
the new parser's tree alone (`parse_xml`) too, the like-for-like comparison.

6b, memory: a fresh process (spawned) reads the same answer from the sandbox over
HTTP, either streamed (`get_new_sales(...).batches(500)`, as the order poll reads
it, each batch dropped once read) or whole (the body read into memory, then parsed
at once with every sale kept, as the poll read it before). The figure is the growth
of its peak RSS (`VmHWM`) over its RSS just before the call.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.queues import Queue
from urllib.parse import urlencode
from urllib.request import urlopen

import defusedxml.ElementTree as SafeET

from bench.memory import status_kib
from bench.procs import SPAWN
from bench.stats import Figure, alternate, median, paired_ratio
from connectors.rakuten import Credentials, RakutenClient, Sale, parse_sales
from connectors.rakuten.sales_stream import SalesReader
from connectors.rakuten.sandbox import Sandbox
from connectors.rakuten.sandbox.lifecycle import NEW_VIEW
from connectors.rakuten.sandbox.seed import build_sale
from connectors.rakuten.sandbox.xml_sales import sale_fragment, sales_document
from connectors.rakuten.xml import parse_xml

log = logging.getLogger(__name__)

LOGIN, TOKEN = "bench-parse", "bench-parse-token"
CHUNK_BYTES = 64 * 1024  #: bytes per feed, about what a socket read gives
CHILD_TIMEOUT_S = 300.0  #: seconds a memory child may take


@dataclass(frozen=True)
class ParsingParams:
    """The size of figure 6."""

    sales: int
    reps: int


def _sale_json(n: int) -> dict[str, object]:
    """The n-th sale of figure 3's mix: one in three has two items, one in ten goes to a relay."""
    items = [{"sku": f"SKU-{n % 5000:06d}", "price": "12.50"} for _ in range(1 + (n % 3 == 0))]
    return {"items": items, "layout": "relay" if n % 10 == 0 else "delivery"}


def answer_bytes(count: int) -> bytes:
    """A getnewsales answer of `count` sales, written by the sandbox's XML writer."""
    ids = itertools.count(300_000_001)

    def next_id(kind: str) -> str:
        return str(next(ids))

    fragments = [sale_fragment(build_sale(_sale_json(n), next_id, {}), NEW_VIEW) for n in range(count)]
    return sales_document("getnewsales", version="2017-08-07", last_version="2017-08-07", user=LOGIN,
                          seller_id="1000001", sales=fragments)


def read_streamed(body: bytes) -> int:
    """Feed the body to the connector's reader in chunks; return the sales read."""
    reader = SalesReader()
    count = 0
    for start in range(0, len(body), CHUNK_BYTES):
        count += sum(isinstance(r, Sale) for r in reader.feed(body[start : start + CHUNK_BYTES]))
    return count + sum(isinstance(r, Sale) for r in reader.close())


def _cpu_seconds(work: Callable[[], object]) -> float:
    # CPU time of this process: the work is single-threaded and CPU-bound, and the
    # machine is shared, so wall time would mostly measure the neighbours.
    started = time.process_time()
    work()
    return time.process_time() - started


def time_figure(params: ParsingParams) -> Figure:
    """6a: the connector's streamed read against defusedxml's tree alone (times: lower is better)."""
    body = answer_bytes(params.sales)
    if read_streamed(body) != params.sales:
        raise RuntimeError("the reader did not read every sale")
    tree: list[float] = []

    def reader() -> float:
        tree.append(_cpu_seconds(lambda: parse_xml(body)))  # the same tree as the baseline's
        return _cpu_seconds(lambda: read_streamed(body))

    new, old = alternate(
        params.reps, reader, lambda: _cpu_seconds(lambda: SafeET.fromstring(body, forbid_dtd=True))
    )
    rounded = ([round(t, 2) for t in times] for times in (new, tree, old))
    log.info("reader %s s, tree %s s, defusedxml %s s", *rounded)
    return Figure(
        key="parse_time_ratio", title="6a. Sales answer parsed and read, sale by sale",
        value=median(new), baseline=median(old), ratio=paired_ratio(new, old), unit="CPU s",
        baseline_label="defusedxml fromstring of the same bytes (tree only, no sale read)", target=1.0,
        higher_is_better=False,
        notes=f"{params.sales} sales, {len(body) / 1e6:.1f} MB fed {CHUNK_BYTES // 1024} KiB at a time, "
              f"{params.reps} reps; the tree alone (parse_xml) {median(tree):.2f} s, "
              f"{paired_ratio(tree, old):.2f}x defusedxml",
        extra={"reader_s": new, "tree_s": tree, "defusedxml_s": old, "body_bytes": len(body)},
    )


def memory_child(mode: str, base_url: str, results: Queue[tuple[int, int, int]]) -> None:
    """Read the seller's getnewsales answer `mode` ("stream" or "whole"); report KiB and sales."""
    creds = Credentials(LOGIN, TOKEN)
    with RakutenClient(base_url=base_url, timeout=120.0) as client:
        client.check_credentials(creds)  # warm: connection pool, imports, the parser's code
        before = status_kib(os.getpid(), "VmRSS") or 0
        if mode == "stream":
            count = sum(len(batch.sales) for batch in client.get_new_sales(creds).batches(500))
        else:
            query = urlencode({"action": "getnewsales", "login": LOGIN, "pwd": TOKEN,
                               "version": "2017-08-07"})
            with urlopen(f"{base_url}/sales_ws?{query}", timeout=120.0) as response:
                body = response.read()
            count = len(parse_sales(body).sales)
        peak = status_kib(os.getpid(), "VmHWM") or 0
    results.put((before, peak, count))


def _measure_memory(mode: str, base_url: str, count: int) -> tuple[int, int]:
    results: Queue[tuple[int, int, int]] = SPAWN.Queue()
    child = SPAWN.Process(target=memory_child, args=(mode, base_url, results), name=f"bench-parse-{mode}")
    child.start()
    try:
        before, peak, read = results.get(timeout=CHILD_TIMEOUT_S)
    finally:
        child.join(CHILD_TIMEOUT_S)
    if read != count:
        raise RuntimeError(f"{mode}: read {read} of {count} sales")
    return before, peak


def memory_figure(sandbox: Sandbox, params: ParsingParams) -> Figure:
    """6b: peak RSS growth, streamed against whole (lower is better)."""
    sandbox.add_seller(LOGIN, TOKEN)
    sandbox.add_sales(LOGIN, [_sale_json(n) for n in range(params.sales)])
    streamed: list[tuple[int, int]] = []
    whole: list[tuple[int, int]] = []
    for rep in range(params.reps):
        for mode, into in (("stream", streamed), ("whole", whole))[:: 1 if rep % 2 == 0 else -1]:
            into.append(_measure_memory(mode, sandbox.url, params.sales))
    grown = [(peak - before) / 1024 for before, peak in streamed]
    grown_whole = [(peak - before) / 1024 for before, peak in whole]
    before_mib = median([before / 1024 for before, _ in streamed])
    log.info("peak growth MiB: streamed %s, whole %s", grown, grown_whole)
    return Figure(
        key="parse_memory_ratio", title="6b. Peak RSS growth reading the answer, streamed vs whole",
        value=median(grown), baseline=median(grown_whole), ratio=paired_ratio(grown, grown_whole),
        unit="MiB", baseline_label="body read whole, parsed at once, every sale kept", target=0.25,
        higher_is_better=False,
        notes=f"{params.sales} sales over HTTP from the sandbox, batches of 500; RSS before the call "
              f"{before_mib:.0f} MiB; streamed peak/before {1 + median(grown) / before_mib:.2f}",
        extra={"streamed_growth_mib": grown, "whole_growth_mib": grown_whole, "rss_before_mib": before_mib},
    )


def run(sandbox: Sandbox, params: ParsingParams) -> list[Figure]:
    """Measure figure 6 and return its two lines."""
    return [time_figure(params), memory_figure(sandbox, params)]
