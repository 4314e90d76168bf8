"""Folding the samples files of processes that are gone into one archive per kind.

prometheus_client writes a file per process and kind of metric in the group's
folder, and a process that exits leaves its files behind. Their counters must
still count in the group's totals (a total that went down would look like a
counter reset to Prometheus, which would count it all again), so they cannot
simply be removed; yet over months of restarts they would pile up, and every
scrape reads them all. `compact` adds a dead process's values into the archive
of their kind (`counter_archive.db`, `histogram_archive.db`, `gauge_max_archive.db`
...) and removes its files; its per-process gauges (`live*` and `all` modes) go
with it. Readers share the folder's lock and compaction holds it alone, so a
scrape never sees a value twice or not at all.
"""

from __future__ import annotations

import glob
import logging
import os
import struct

from workers.observability.multiprocess import MULTIPROC_ENV, folder_lock, process_alive, remove

log = logging.getLogger(__name__)

ARCHIVE = "archive"  #: stands for the pid in an archive's file name
#: gauge modes whose value outlives the process, and how two values combine
FOLDED_GAUGES = ("sum", "max", "min", "mostrecent")
_UNREADABLE = (struct.error, RuntimeError, ValueError, UnicodeDecodeError, OSError)


def compact(folder: str | None = None) -> int:
    """Fold the files of processes that are gone into the archives; return how many files went."""
    folder = folder or os.environ.get(MULTIPROC_ENV)
    if not folder or not os.path.isdir(folder):
        return 0
    with folder_lock(folder, exclusive=True):
        dead = [path for path in glob.glob(os.path.join(folder, "*.db"))
                if not _is_archive(path) and not process_alive(path)]
        for path in dead:
            _fold(folder, path)
            remove(path)
    if dead:
        log.debug("metrics: folded %d file(s) of processes that are gone", len(dead))
    return len(dead)


def _is_archive(path: str) -> bool:
    return os.path.basename(path).endswith(f"_{ARCHIVE}.db")


def _fold(folder: str, path: str) -> None:
    """Add the values of one dead process's file into the archive of its kind."""
    from prometheus_client.mmap_dict import MmapedDict

    parts = os.path.basename(path)[: -len(".db")].split("_")
    kind, mode = parts[0], (parts[1] if parts[0] == "gauge" else "sum")
    if kind == "gauge" and mode not in FOLDED_GAUGES:
        return  # a process's own gauge (in progress, last batch...) ends with it
    try:
        values = list(MmapedDict.read_all_values_from_file(path))  # type: ignore[no-untyped-call]
    except _UNREADABLE as exc:  # half-written when the process died: it holds nothing to keep
        log.debug("metrics: %r unreadable (%s), dropped", os.path.basename(path), type(exc).__name__)
        return
    name = f"gauge_{mode}_{ARCHIVE}.db" if kind == "gauge" else f"{kind}_{ARCHIVE}.db"
    archive = MmapedDict(os.path.join(folder, name))  # type: ignore[no-untyped-call]
    try:
        known = {key for key, _value, _timestamp in archive.read_all_values()}  # type: ignore[no-untyped-call]
        for key, value, timestamp, _position in values:
            if key in known:
                value, timestamp = _combine(mode, archive.read_value(key), (value, timestamp))  # type: ignore[no-untyped-call]
            archive.write_value(key, value, timestamp)  # type: ignore[no-untyped-call]
    finally:
        archive.close()  # type: ignore[no-untyped-call]


def _combine(mode: str, kept: tuple[float, float], added: tuple[float, float]) -> tuple[float, float]:
    """The archived value after adding one more process's value (value, timestamp)."""
    if mode == "max":
        return max(kept, added)
    if mode == "min":
        return min(kept, added)
    if mode == "mostrecent":
        return kept if kept[1] >= added[1] else added
    return kept[0] + added[0], max(kept[1], added[1])
