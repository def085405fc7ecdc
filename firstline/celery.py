"""Celery app. With CELERY_BROKER_URL unset, tasks run inline (CELERY_TASK_ALWAYS_EAGER)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "firstline.settings")
app = Celery("firstline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
