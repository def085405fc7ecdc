"""Small builders shared by the tracing tests."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from conftest import make_person, valid_id


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


def member(household: Any, name: str, body17: str, phone: str = "") -> Any:
    return make_person(household=household, name=name, id_number=valid_id(body17), phone=phone)


def confirmed_case(
    actor: Any, person: Any, *, onset: datetime.date, report: datetime.date | None = None, **extra: Any
) -> Any:
    from firstline.tracing.services import case_create

    values = {
        "classification": "confirmed",
        "onset_date": onset,
        "report_date": report or timezone.localdate(),
        **extra,
    }
    return case_create(actor=actor, person=person, values=values)


def venue(path_grid: Any, *, name: str = "测试超市", stay: int = 30, code: str | None = None) -> Any:
    from firstline.tracing.models import Venue

    return Venue.objects.create(
        code=code or f"V{Venue.objects.count() + 1:05d}",
        name=name,
        category="supermarket",
        grid=path_grid,
        path=path_grid.path,
        default_stay_minutes=stay,
    )


def visit(
    venue: Any, *, start: datetime.datetime, minutes: int | None = None, person: Any = None, phone: str = ""
) -> Any:
    from firstline.tracing.models import CheckIn

    end = start + datetime.timedelta(minutes=minutes if minutes is not None else venue.default_stay_minutes)
    return CheckIn.objects.create(
        venue=venue,
        person=person,
        phone=phone or (person.phone if person is not None else ""),
        start=start,
        end=end,
        end_known=minutes is not None,
    )
