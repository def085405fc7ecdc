"""The demo city's tracing work: venues with QR codes, three days of check-ins, and two cases traced from them.

Everything goes through the services a user would use (venue registry, check-in intake, case report, exposure
record), so the demo shows real co-presence exposures, contacts with measures and explanations, tasks and a
transmission cluster. The people and visits are invented (the demo city's synthetic residents).
"""

from __future__ import annotations

import datetime
import random

from django.utils import timezone

from firstline.accounts.models import User
from firstline.people.models import Person
from firstline.regions.models import Grid
from firstline.tracing.clusters.services import clusters_recompute
from firstline.tracing.models import CheckInSource, VenueCategory
from firstline.tracing.services import case_create, exposure_create
from firstline.tracing.venues.services import checkin_record, venue_create

VENUES = [
    ("结古农贸市场", VenueCategory.MARKET, 40),
    ("格萨尔广场超市", VenueCategory.SUPERMARKET, 25),
    ("扎西藏餐馆", VenueCategory.RESTAURANT, 60),
    ("康巴药房", VenueCategory.PHARMACY, 10),
    ("玉树市第二人民医院发热门诊", VenueCategory.CLINIC, 45),
    ("三江源宾馆", VenueCategory.HOTEL, 30),
    ("结古镇第一完全小学", VenueCategory.SCHOOL, 30),
    ("1路公交车", VenueCategory.BUS, 20),
]


def seed_tracing(*, users: dict[str, User], township_code: str, seed: int, visitors: int = 200) -> dict[str, int]:
    """Load the demo's tracing data; returns counts for the seed report."""
    rng = random.Random(f"{seed}:tracing")
    township, cdc = users["township"], users["cdc"]
    grids = list(Grid.objects.filter(path__startswith=township_code).order_by("code")[: len(VENUES)])
    if not grids:
        return {}
    venues = [
        venue_create(
            actor=township, name=name, category=category, grid=grids[i % len(grids)], default_stay_minutes=stay
        )
        for i, (name, category, stay) in enumerate(VENUES)
    ]
    people = list(
        Person.objects.filter(path__startswith=township_code, household__isnull=False)
        .exclude(phone="")
        .order_by("id")[: visitors * 3]
    )
    rng.shuffle(people)
    people = people[:visitors]
    if len(people) < 10:
        return {"venues": len(venues)}
    now = timezone.now()
    today = timezone.localdate()
    checkins = 0
    # Three days of visits: each visitor goes to one or two places a day, mostly in the daytime.
    for days_ago in (3, 2, 1):
        day = today - datetime.timedelta(days=days_ago)
        for person in people:
            for _visit in range(rng.choice((0, 1, 1, 2))):
                venue = rng.choice(venues)
                start = timezone.make_aware(
                    datetime.datetime.combine(day, datetime.time(rng.randint(8, 19), rng.choice((0, 15, 30, 45))))
                )
                checkin_record(venue=venue, phone=person.phone, start=start, source=CheckInSource.PUBLIC, now=now)
                checkins += 1
    # The index case visited the market and the restaurant the day before yesterday (demo story).
    index = people[0]
    day = today - datetime.timedelta(days=2)
    for venue, hour in ((venues[0], 9), (venues[2], 12)):
        start = timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, 0)))
        checkin_record(venue=venue, phone=index.phone, start=start, source=CheckInSource.PUBLIC, now=now)
        checkins += 1
    first = case_create(
        actor=cdc,
        person=index,
        values={
            "classification": "confirmed",
            "onset_date": today - datetime.timedelta(days=1),
            "sampling_date": today - datetime.timedelta(days=1),
            "report_date": today,
            "found_by": "clinic",
            "isolation_place": "玉树州人民医院",
        },
    )
    # A close contact had dinner with a friend last night: a secondary contact.
    close = [c.person for c in first.derivation.created if c.kind == "close"]
    exposures = first.exposures_found
    if close:
        friend = next(p for p in people[1:] if p.pk not in {c.pk for c in close})
        evening = timezone.make_aware(datetime.datetime.combine(today - datetime.timedelta(days=1), datetime.time(19)))
        exposure_create(
            actor=cdc,
            source=close[0],
            exposed=friend,
            values={
                "setting": "shared_meal",
                "start": evening,
                "end": evening + datetime.timedelta(hours=2),
                "proximity": "within_1m",
                "protection": "none",
                "evidence": "流调：同桌吃饭（演示）",
            },
        )
        exposures += 1
    # A suspected case reported today, traced while the result is awaited.
    suspected = case_create(
        actor=cdc,
        person=people[-1],
        values={
            "classification": "suspected",
            "onset_date": today,
            "report_date": today,
            "found_by": "routine_testing",
        },
    )
    clusters = clusters_recompute()
    return {
        "venues": len(venues),
        "checkins": checkins,
        "cases": 2,
        "exposures": exposures + suspected.exposures_found,
        "contacts": len(first.derivation.created) + len(suspected.derivation.created) + (1 if close else 0),
        "clusters": clusters.clusters,
    }
