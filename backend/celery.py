"""Celery application: eager (in-process) unless CELERY_BROKER_URL is set (e.g. redis://...)."""

import os

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

    django.setup()  # the Django fixup has done it; idempotent
    import surveys.services.compute_parallel  # noqa: F401
