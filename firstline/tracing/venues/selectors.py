"""Reads of venues and check-ins, always scoped: a check-in is visible to whoever sees its venue."""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Mapping
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.db.models.signals import post_delete, post_save
from django.http import Http404
from django.utils import timezone

from firstline.tracing.models import CheckIn, Venue

# The public check-in looks its venue up by code on every scan. Each process keeps a directory of the active venues
# (code → a few columns), loaded whole in one query and reloaded after VENUE_CACHE_SECONDS: a city's tens of thousands
# of venues take a few megabytes, and a scan then costs no query for its venue. A code missing from the directory (a
# venue created since the load, or a table too large to load whole) is looked up alone and remembered. A venue
# switched off in another process stops accepting check-ins here at the next reload (within a minute); one switched
# off in this process at once (``venue_cache_forget``).
VENUE_CACHE_SECONDS = 60.0
VENUE_DIRECTORY_MAX = 200_000
_VENUE_COLUMNS = ("id", "code", "name", "category", "path", "default_stay_minutes", "active")
_VenueRow = tuple[int, str, str, str, str, int, bool]


class _VenueDirectory:
    def __init__(self) -> None:
        self.rows: dict[str, _VenueRow] = {}
        self.expires = 0.0
        self.lock = threading.Lock()

    def _reload(self, now: float) -> None:
        rows = list(Venue.objects.filter(active=True).values_list(*_VENUE_COLUMNS)[: VENUE_DIRECTORY_MAX + 1])
        # Too many to hold: start empty and remember codes one by one as they are scanned.
        self.rows = {} if len(rows) > VENUE_DIRECTORY_MAX else {row[1]: row for row in rows}
        self.expires = now + VENUE_CACHE_SECONDS

    def get(self, code: str) -> _VenueRow | None:
        now = time.monotonic()
        if now >= self.expires:
            with self.lock:
                if now >= self.expires:
                    self._reload(now)
        row = self.rows.get(code)
        if row is None:
            found = list(Venue.objects.filter(code=code).values_list(*_VENUE_COLUMNS)[:1])
            # Unknown codes are not remembered (guessing must not fill the memory); switched-off ones are, until the
            # next reload, so that scanning an old poster costs no query either.
            if found and len(self.rows) < VENUE_DIRECTORY_MAX:
                row = found[0]
                self.rows[code] = row
            elif found:
                row = found[0]
        return row

    def forget(self, code: str | None) -> None:
        with self.lock:
            if code is None:
                self.rows, self.expires = {}, 0.0
            else:
                self.rows.pop(code, None)


_directory = _VenueDirectory()


def normalize_code(code: str) -> str:
    return (code or "").strip().upper()[:16]


def venue_get_public(code: str) -> Venue:
    """The active venue behind a printed code; 404 for unknown and inactive codes alike (see the directory above).

    The venue carries only the columns the check-in needs (id, code, name, category, path, default stay, active).
    """
    row = _directory.get(normalize_code(code))
    if row is None or not row[6]:
        raise Http404("unknown venue")
    venue = Venue(**dict(zip(_VENUE_COLUMNS, row, strict=True)))
    venue._state.adding = False
    venue._state.db = "default"
    return venue


def venue_cache_forget(code: str | None = None) -> None:
    """Drop one code (after an edit in this process) or everything (tests) from the in-process directory."""
    _directory.forget(None if code is None else normalize_code(code))


def _forget_saved_venue(sender: Any, instance: Venue, **kwargs: Any) -> None:
    # Cache invalidation only (no domain logic): a venue saved or deleted through the ORM in this process is looked
    # up afresh, so a code reused by a new row (test databases roll back and reuse codes) never meets a stale entry.
    venue_cache_forget(instance.code)


post_save.connect(_forget_saved_venue, sender=Venue, dispatch_uid="tracing.venue_directory.save")
post_delete.connect(_forget_saved_venue, sender=Venue, dispatch_uid="tracing.venue_directory.delete")


def _flag(value: Any) -> bool | None:
    if value in (True, "1", "true", "yes", "on"):
        return True
    if value in (False, "0", "false", "no", "off"):
        return False
    return None


def venue_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Venue]:
    """Venues the user may see. ``filters``: ``q`` (name, address or code), ``category``, ``division`` (grid or
    division code prefix), ``active`` ("1"/"0")."""
    filters = filters or {}
    venues = Venue.objects.visible_to(user)
    text = str(filters.get("q") or "").strip()
    if text:
        venues = venues.filter(Q(name__contains=text) | Q(address__contains=text) | Q(code=text.upper()))
    if filters.get("category"):
        venues = venues.filter(category=filters["category"])
    if filters.get("division"):
        venues = venues.filter(path__startswith=str(filters["division"]).strip())
    active = _flag(filters.get("active"))
    if active is not None:
        venues = venues.filter(active=active)
    return venues.select_related("grid").order_by("path", "name", "id")


def venue_get_for_user(user: Any, pk: Any) -> Venue:
    """One venue the user may see; 404 for missing and out-of-scope alike."""
    try:
        return Venue.objects.visible_to(user).select_related("grid", "created_by").get(pk=int(pk))
    except (Venue.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def checkin_list(
    *,
    user: Any,
    venue: Any = None,
    person: Any = None,
    start_from: datetime.datetime | None = None,
    start_to: datetime.datetime | None = None,
) -> QuerySet[CheckIn]:
    """Check-ins at venues the user may see, newest first; filtered by venue id, person id and start range."""
    checkins = CheckIn.objects.filter(venue__in=Venue.objects.visible_to(user).values("pk"))
    if venue not in (None, ""):
        checkins = checkins.filter(venue_id=venue)
    if person not in (None, ""):
        checkins = checkins.filter(person_id=person)
    if start_from is not None:
        checkins = checkins.filter(start__gte=start_from)
    if start_to is not None:
        checkins = checkins.filter(start__lt=start_to)
    return checkins.select_related("venue").order_by("-start", "-id")


def venue_checkins(venue: Venue) -> QuerySet[CheckIn]:
    """Check-ins of a venue the caller already holds (fetched with ``venue_get_for_user``), newest first."""
    return CheckIn.objects.filter(venue_id=venue.pk).order_by("-start", "-id")


def venue_daily_counts(venue: Venue, *, days: int = 14, today: datetime.date | None = None) -> list[dict[str, Any]]:
    """Visits per local day over the last ``days`` days (zero days included), oldest first."""
    today = today or timezone.localdate()
    first = today - datetime.timedelta(days=days - 1)
    since = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min))
    rows = (
        CheckIn.objects.filter(venue_id=venue.pk, start__gte=since)
        .annotate(day=TruncDate("start", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(visits=Count("id"), main=Count("id", filter=Q(party_of__isnull=True)))
        .order_by("day")
    )
    by_day = {row["day"]: row for row in rows}
    result = []
    for offset in range(days):
        day = first + datetime.timedelta(days=offset)
        row = by_day.get(day) or {}
        result.append(
            {"day": day, "visits": row.get("visits", 0), "companions": row.get("visits", 0) - row.get("main", 0)}
        )
    return result
