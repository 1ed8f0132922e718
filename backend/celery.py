"""Celery application: eager (in-process) unless CELERY_BROKER_URL is set (e.g. redis://...)."""

import ctypes
import os
import sys

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")

app = Celery("nilai")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def _load_the_index_run(**_: object) -> None:
    """Import the index run's stack (pandas, scipy.stats: ~0.7 s) when the worker starts, not
    in its first task: a parallel run's first parts started that much later on every worker
    (bench/README.md, national). A prefork pool's children inherit it."""
    import django

    keep_freed_memory()  # before the first array: a prefork pool's children inherit it
    django.setup()  # the Django fixup has done it; idempotent
    import surveys.services.compute_parallel  # noqa: F401


#: glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4


def keep_freed_memory() -> bool:
    """Make glibc's malloc serve every block from the heap and keep freed memory for reuse
    (``M_MMAP_MAX`` 0, ``M_TRIM_THRESHOLD`` 2 GiB); True when set. A worker's tasks allocate
    and free arrays of tens of MB (a million responses x 7 scores is 56 MB): above 32 MB glibc
    maps each from the kernel and unmaps it when freed, so every use paid a page fault and
    the zeroing per 4 KiB page: 1.1-1.4 million faults and 6-18 s of kernel time (as the VM
    went) in a one-worker 5M chord, 0.35 million and 2.6-4.4 s with this (bench/README.md,
    docs/DECISIONS.md 83). The worker's
    resident memory stays at its peak instead of shrinking between tasks. Off with
    ``NILAI_WORKER_KEEP_HEAP=false``; nothing on a C library without ``mallopt``."""
    if os.environ.get("NILAI_WORKER_KEEP_HEAP", "true").lower() in ("0", "false", "no"):
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # musl and others
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
