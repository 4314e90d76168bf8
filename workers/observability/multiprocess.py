"""The process group's prometheus_client multiprocess folder, and reading it safely.

prometheus_client keeps one file per process and metric type in the folder. A
file can be caught half-written: it is created empty, then grown; reading it
then raises `struct.error` deep in prometheus_client. `SamplesCollector` skips such
files (and removes those of processes that are gone: they stay unreadable), so a
scrape or a health check never fails on a file a process is still writing.
"""

from __future__ import annotations

import fcntl
import glob
import json
import logging
import os
import shutil
import struct
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CHILD_ENV = "RAKUTEN_METRICS_CHILD"  #: set in children: the leader serves their metrics
LOCK_FILE = ".lock"  #: in the folder: readers share it, compaction holds it alone
#: what reading a half-written or damaged samples file raises in prometheus_client
_UNREADABLE = (struct.error, RuntimeError, ValueError, UnicodeDecodeError, OSError)


def prepare_multiprocess() -> str | None:
    """Create the group's metrics folder unless a parent did; return it if this process leads.

    Must run before prometheus_client is imported.
    """
    if is_child():
        return None
    folder = tempfile.mkdtemp(prefix="rakuten-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    os.environ["dramatiq_prom_db"] = folder  # dramatiq's Prometheus middleware
    return folder


def is_child() -> bool:
    """Whether this process is a child of the group (its leader serves the metrics)."""
    return bool(os.environ.get(CHILD_ENV))


def child_environment() -> dict[str, str]:
    """The environment of a child process: it writes metrics for the leader to serve."""
    return {**os.environ, CHILD_ENV: "1"}


def forget_process(pid: int) -> None:
    """Drop the live gauges of a child that exited.

    prometheus_client keeps a dead process's `live*` gauge samples (e.g.
    dramatiq's messages in progress) until told: a worker killed mid-message
    would count that message in progress forever.
    """
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, folder)  # type: ignore[no-untyped-call]


def cleanup_multiprocess(folder: str | None) -> None:
    """Remove the group's metrics folder."""
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


class SamplesCollector:
    """A Prometheus collector of the group's samples that skips the files it cannot read."""

    def __init__(self, folder: str | None = None) -> None:
        folder = folder or os.environ.get(MULTIPROC_ENV)
        if not folder or not os.path.isdir(folder):
            raise ValueError(f"{MULTIPROC_ENV} is not set or not a folder")
        self.folder = folder

    def collect(self) -> Iterable[Any]:
        """Merge every readable file of the folder, as prometheus_client's own collector does."""
        from prometheus_client.multiprocess import MultiProcessCollector

        with folder_lock(self.folder, exclusive=False):  # compaction moves values between files
            readable = [path for path in glob.glob(os.path.join(self.folder, "*.db")) if _readable(path)]
            merged: list[Any] = list(MultiProcessCollector.merge(readable, accumulate=True))  # type: ignore[no-untyped-call]
        return merged


@contextmanager
def folder_lock(folder: str, *, exclusive: bool) -> Iterator[None]:
    """Hold the folder's lock: shared to read the samples, exclusive to move them (compaction)."""
    fd = os.open(os.path.join(folder, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock


def _readable(path: str) -> bool:
    """Whether `path` reads whole now; an unreadable file of a process that is gone is removed."""
    from prometheus_client.mmap_dict import MmapedDict

    try:
        for key, _value, _timestamp, _position in MmapedDict.read_all_values_from_file(path):  # type: ignore[no-untyped-call]
            json.loads(key)
        return True
    except FileNotFoundError:
        return False  # removed meanwhile (a live gauge of a process marked dead)
    except _UNREADABLE as exc:
        if not process_alive(path):
            log.info("metrics: removing %r, unreadable (%s) and its process is gone",
                     os.path.basename(path), type(exc).__name__)
            remove(path)
        else:
            log.debug("metrics: skipping %r, unreadable (%s)", os.path.basename(path), type(exc).__name__)
        return False


def process_alive(path: str) -> bool:
    """Whether the process that writes `path` (`<type>[_<mode>]_<pid>.db`) still runs."""
    try:
        pid = int(os.path.basename(path)[: -len(".db")].rsplit("_", 1)[1])
    except (IndexError, ValueError):
        return True  # not a name prometheus_client gives: leave it alone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
