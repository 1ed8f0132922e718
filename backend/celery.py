"""Celery application: eager (in-process) unless CELERY_BROKER_URL is set (e.g. redis://...)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")

app = Celery("nilai")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
