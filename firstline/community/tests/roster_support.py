"""Builders shared by the duty-roster tests (test_roster_*.py): a fixed week, posts, members and shifts."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from firstline.community.models import Post, Shift, Volunteer
from firstline.community.roster import services

# A Monday far from today, so nothing in these weeks is "now" unless a test says so.
MONDAY = datetime.date(2030, 1, 7)


def at(day: int, hour: int, minute: int = 0, *, monday: datetime.date = MONDAY) -> datetime.datetime:
    """Local time on the ``day``-th day (0 = Monday) of the test week."""
    moment = datetime.datetime.combine(monday + datetime.timedelta(days=day), datetime.time(hour % 24, minute))
    if hour >= 24:
        moment += datetime.timedelta(days=hour // 24)
    return timezone.make_aware(moment)


def make_post(
    city: Any,
    *,
    actor: str = "township",
    area: str | None = None,
    name: str = "结古检查站",
    kind: str = "checkpoint",
    opens: datetime.time = datetime.time(8),
    closes: datetime.time = datetime.time(20),
    min_staff: int = 1,
) -> Post:
    return services.post_create(
        actor=city[actor],
        name=name,
        kind=kind,
        area=area or city.community_a.code,
        opens_at=opens,
        closes_at=closes,
        min_staff=min_staff,
        place="214国道",
    )


def make_member_b(city: Any, *, account: str | None = "grid_b") -> Volunteer:
    """A volunteer (person_b) serving in grid B, registered by the township."""
    return services.volunteer_create(
        actor=city["township"],
        person=city.person_b,
        kind="volunteer",
        area=city.grid_b.code,
        skills=["driving", "藏汉翻译"],
        account=city[account] if account else None,
    )


def put_on(
    city: Any,
    post: Post,
    volunteer: Volunteer,
    start: datetime.datetime,
    end: datetime.datetime,
    actor: str = "township",
) -> Shift:
    return services.shift_create(actor=city[actor], post=post, volunteer=volunteer, start=start, end=end)
