"""Queue the index recompute after a write that changes a run's inputs.

Kept apart from `surveys.services.compute` (which re-exports it) so that the writers that call
it, the response import above all, do not import the whole analysis stack (scipy, about a
second) just to queue a task: the task module is imported only when a recompute is queued.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction


def queue_recompute(wave_id: int | None = None) -> None:
    """Queue `compute_indices_task` after the current transaction commits.

    Call it from any write that changes a run's inputs (imports, closing a wave). With no
    broker configured the task runs eagerly in-process right after the commit; set
    ``NILAI_AUTO_RECOMPUTE = False`` to switch the automatic recompute off (bulk loads that
    compute once at the end, some tests).
    """
    if not getattr(settings, "NILAI_AUTO_RECOMPUTE", True):
        return
    from surveys.tasks import compute_indices_task

    transaction.on_commit(lambda: compute_indices_task.delay(wave_id=wave_id))
