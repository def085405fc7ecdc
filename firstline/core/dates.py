"""Days in the local time zone (``TIME_ZONE``): which day it is, and when a day starts."""

from __future__ import annotations

import datetime

from django.utils import timezone


def local_today() -> datetime.date:
    """Today in the current time zone (the day a worker on site would name), not UTC's."""
    return timezone.localdate()


def day_start(day: datetime.date) -> datetime.datetime:
    """Local midnight at the start of ``day`` (aware)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def local_minute(moment: datetime.datetime | None) -> str:
    """A moment as local ``YYYY-MM-DD HH:MM`` (list cells, exports, task titles); empty for none."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""
