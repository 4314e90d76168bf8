"""The metrics files of processes that are gone are folded away: the folder stays bounded, totals stay."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict, mmap_key

from workers.observability.compaction import compact
from workers.observability.multiprocess import SamplesCollector


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


Samples = dict[tuple[str, tuple[str, ...]], float]


def write(folder: Path, name: str, samples: Samples, when: float = 0.0) -> None:
    """Write samples as prometheus_client does: (metric, label values) -> value, labels named `kind`.

    The file appears whole (renamed into place), as one a process finished before it died.
    """
    partial = folder / f"{name}.partial"
    file = MmapedDict(str(partial))
    for (metric, labels), value in samples.items():
        names = ["kind"] if labels else []
        file.write_value(mmap_key(metric, metric, names, list(labels), "help"), value, when)
    file.close()
    os.replace(partial, folder / name)


def totals(folder: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for m in SamplesCollector(str(folder)).collect() for s in m.samples}


def seed(folder: Path, pid: int, n: float) -> None:
    write(folder, f"counter_{pid}.db", {("rakuten_orders_imported_total", ()): n,
                                        ("rakuten_quota_hits_total", ("stock",)): n})
    write(folder, f"histogram_{pid}.db", {("dramatiq_message_duration_milliseconds_bucket", ()): n})
    write(folder, f"gauge_max_{pid}.db", {("rakuten_scheduler_last_tick_timestamp_seconds", ()): 100 + n})
    write(folder, f"gauge_livesum_{pid}.db", {("dramatiq_messages_inprogress", ()): n})
    write(folder, f"gauge_mostrecent_{pid}.db", {("rakuten_batch", ()): n}, when=n)


def test_files_of_dead_processes_are_folded_into_archives_and_the_totals_do_not_change(
    tmp_path: Path,
) -> None:
    live = os.getpid()
    first, second = dead_pid(), dead_pid()
    seed(tmp_path, live, 1)
    seed(tmp_path, first, 2)
    seed(tmp_path, second, 4)
    before = totals(tmp_path)

    assert compact(str(tmp_path)) == 10
    left = sorted(p.name for p in tmp_path.glob("*.db"))
    assert not [name for name in left if str(first) in name or str(second) in name]
    assert {name for name in left if "archive" in name} == {
        "counter_archive.db", "histogram_archive.db", "gauge_max_archive.db", "gauge_mostrecent_archive.db"}
    after = totals(tmp_path)
    assert after[("rakuten_orders_imported_total", ())] == 7 == before[("rakuten_orders_imported_total", ())]
    assert after[("rakuten_quota_hits_total", (("kind", "stock"),))] == 7
    assert after[("rakuten_scheduler_last_tick_timestamp_seconds", ())] == 104
    assert after[("rakuten_batch", ())] == 4, "the most recent value is kept"
    assert after[("dramatiq_messages_inprogress", ())] == 1, "a dead process's live gauge ends with it"
    assert {k: v for k, v in after.items() if k[0] != "dramatiq_messages_inprogress"} == {
        k: v for k, v in before.items() if k[0] != "dramatiq_messages_inprogress"}

    third = dead_pid()
    seed(tmp_path, third, 8)
    assert compact(str(tmp_path)) == 5
    assert totals(tmp_path)[("rakuten_orders_imported_total", ())] == 15
    assert compact(str(tmp_path)) == 0, "the archives and the live files stay"


def test_a_scrape_during_compaction_sees_every_value_once(tmp_path: Path) -> None:
    seed(tmp_path, os.getpid(), 1)
    seen: list[float] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def scrape() -> None:
        while not stop.is_set():
            try:
                seen.append(totals(tmp_path)[("rakuten_orders_imported_total", ())])
            except Exception as exc:  # a file moved under the reader's feet
                errors.append(exc)

    scraper = threading.Thread(target=scrape)
    scraper.start()
    expected = 1.0
    for _ in range(30):
        seed(tmp_path, dead_pid(), 1)
        expected += 1
        compact(str(tmp_path))
    stop.set()
    scraper.join()
    assert errors == [] and len(seen) > 30
    assert seen == sorted(seen), "a total never goes down"
    assert totals(tmp_path)[("rakuten_orders_imported_total", ())] == expected
