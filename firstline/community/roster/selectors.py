"""Reads of the party-member and volunteer registry, posts, rosters, pledges and service records.

Everything starts from ``visible_to(user)``: one access function per model (404 for missing and out of scope
alike). The roster week and the service records are computed in a fixed number of queries, whatever the number
of shifts or members.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from firstline.accounts.models import Membership, User
from firstline.community.models import (
    Commitment,
    PledgeSignature,
    Post,
    ServiceEntry,
    Shift,
    ShiftStatus,
    Volunteer,
)
from firstline.community.roster import coverage
from firstline.community.roster.coverage import DAY, Gap, Span
from firstline.core import identity
from firstline.core.scoping import scope_of
from firstline.dispatch.models import Task, TaskStatus
from firstline.people.models import IdType, Person
from firstline.regions.models import Division, Grid, Household

# Shifts that put someone on the post (a missed or cancelled shift staffs nothing).
STAFFING_STATUSES = (ShiftStatus.PLANNED, ShiftStatus.ON_DUTY, ShiftStatus.DONE)


def _flag(value: Any) -> bool | None:
    if value in (True, "1", "true", "yes", "on"):
        return True
    if value in (False, "0", "false", "no", "off"):
        return False
    return None


# -- where people serve ---------------------------------------------------------------------------------------


def area_choices(user: Any) -> list[tuple[str, str]]:
    """Divisions (township level and below) and grids inside the user's jurisdiction, as (code, label)."""
    scope = scope_of(user)
    divisions = (
        Division.objects.visible_to(user)
        .exclude(level__in=("province", "prefecture"))
        .only("code", "name")
        .order_by("code")
    )
    grids = Grid.objects.visible_to(user).only("code", "name").order_by("code")
    rows = [(d.code, f"{d.name}（{d.code}）") for d in divisions if scope.covers_path(d.code)]
    rows += [(g.code, f"{g.name}（{g.code}）") for g in grids]
    return sorted(rows)


def resolve_area(user: Any, code: str, *, field_name: str = "area") -> tuple[Division, str]:
    """The division (a grid's village/community for a grid) and path of an area code in the user's jurisdiction."""
    code = (code or "").strip()
    if not code:
        raise ValidationError({field_name: [_("Choose a division or grid.")]})
    grid = Grid.objects.select_related("division").filter(code=code).first()
    division = grid.division if grid is not None else Division.objects.filter(code=code).first()
    if division is None:
        raise ValidationError({field_name: [_("No division or grid has the code %(code)s.") % {"code": code}]})
    if not scope_of(user).covers_path(code):
        raise ValidationError({field_name: [_("This division or grid is outside your jurisdiction.")]})
    return division, code


def person_by_id_number(user: Any, id_number: str, id_type: str = IdType.RESIDENT) -> Person:
    """A registered person the user sees, by ID number; the error names the field (nothing beyond scope leaks)."""
    try:
        kind, number = identity.normalize_id_number(id_number or "", id_type or IdType.RESIDENT)
    except identity.IdentityError as exc:
        raise ValidationError({"id_number": [str(exc.message)]}) from exc
    person = (
        Person.objects.visible_to(user)
        .active()
        .select_related("household")
        .filter(id_type=kind, id_number=number)
        .first()
    )
    if person is None:
        raise ValidationError(
            {"id_number": [_("No registered person with this ID number in your jurisdiction: register them first.")]}
        )
    return person


def account_by_username(user: Any, username: str) -> User | None:
    """An account the user may link to a member: their own, or one with a role inside their jurisdiction."""
    username = (username or "").strip()
    if not username:
        return None
    account = User.objects.filter(username=username, is_active=True).first()
    if account is not None and (
        account.pk == getattr(user, "pk", None)
        or Membership.objects.visible_to(user).filter(user=account, active=True).exists()
    ):
        return account
    raise ValidationError({"account": [_("No account named %(name)s in your jurisdiction.") % {"name": username}]})


# -- the registry ---------------------------------------------------------------------------------------------


def skill_q(skill: str) -> Q:
    """Members listing ``skill``: JSON containment where the database has it, else the stored JSON text."""
    if connection.vendor == "postgresql":
        return Q(skills__contains=[skill])
    # SQLite keeps the list as JSON text (non-ASCII escaped): look for the element's own JSON.
    return Q(skills__icontains=json.dumps(skill))


def volunteer_list(
    user: Any,
    *,
    kind: str = "",
    branch: str = "",
    skill: str = "",
    area: str = "",
    active: Any = None,
    query: str = "",
) -> QuerySet[Volunteer]:
    volunteers = Volunteer.objects.visible_to(user)
    if kind:
        volunteers = volunteers.filter(kind=kind)
    if branch.strip():
        volunteers = volunteers.filter(party_branch__icontains=branch.strip())
    if skill.strip():
        volunteers = volunteers.filter(skill_q(skill.strip()))
    if area.strip():
        volunteers = volunteers.filter(path__startswith=area.strip())
    flag = _flag(active)
    if flag is not None:
        volunteers = volunteers.filter(active=flag)
    if query.strip():
        volunteers = volunteers.filter(person__name__contains=query.strip())
    return (
        volunteers.select_related("person", "user")
        .annotate(pledges_signed=Count("pledges", distinct=True))
        .order_by("path", "person__name", "id")
    )


def volunteer_get_for_user(user: Any, pk: Any, *, write: bool = False) -> Volunteer:
    """The member if the user may see them; 404 for missing and out-of-scope alike."""
    try:
        queryset = Volunteer.objects.visible_to(user).select_related("person__household", "user")
        if write:
            queryset = queryset.select_for_update(of=("self",))
        return queryset.get(pk=int(pk))
    except (Volunteer.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def staffable_volunteers(user: Any) -> QuerySet[Volunteer]:
    """Active members the user may put on a roster."""
    return (
        Volunteer.objects.visible_to(user).filter(active=True).select_related("person").order_by("person__name", "id")
    )


def volunteer_of(user: Any) -> Volunteer | None:
    """The member record linked to this account, if any."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Volunteer.objects.filter(user_id=user.pk).select_related("person").first()


# -- pledges --------------------------------------------------------------------------------------------------


def commitments() -> QuerySet[Commitment]:
    return Commitment.objects.order_by("number")


def commitment_get(pk: Any) -> Commitment:
    try:
        return Commitment.objects.get(pk=int(pk))
    except (Commitment.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


@dataclass(frozen=True)
class PledgeRow:
    commitment: Commitment
    signature: PledgeSignature | None


def member_pledges(volunteer: Volunteer) -> list[PledgeRow]:
    """Every commitment in use (and any retired one the member signed), with the member's signature if any."""
    signed = {s.commitment_id: s for s in volunteer.pledges.select_related("recorded_by")}
    return [
        PledgeRow(commitment, signed.get(commitment.pk))
        for commitment in commitments()
        if commitment.active or commitment.pk in signed
    ]


def commitment_counts(user: Any) -> list[tuple[Commitment, int]]:
    """Each commitment with the number of members the user sees who signed it."""
    visible = Volunteer.objects.visible_to(user).values("pk")
    counts = dict(
        PledgeSignature.objects.filter(volunteer__in=visible)
        .values("commitment_id")
        .annotate(n=Count("id"))
        .values_list("commitment_id", "n")
    )
    return [(commitment, counts.get(commitment.pk, 0)) for commitment in commitments()]


def pledge_records(
    user: Any,
    *,
    commitment: Commitment | None = None,
    area: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[PledgeSignature]:
    signatures = PledgeSignature.objects.filter(volunteer__in=Volunteer.objects.visible_to(user).values("pk"))
    if commitment is not None:
        signatures = signatures.filter(commitment=commitment)
    if area.strip():
        signatures = signatures.filter(volunteer__path__startswith=area.strip())
    if date_from:
        signatures = signatures.filter(signed_on__gte=date_from)
    if date_to:
        signatures = signatures.filter(signed_on__lte=date_to)
    return signatures.select_related("volunteer__person", "commitment", "recorded_by").order_by(
        "volunteer__path", "volunteer__person__name", "volunteer_id", "commitment__number"
    )


# -- posts and shifts -----------------------------------------------------------------------------------------


def post_list(user: Any, *, kind: str = "", area: str = "", active: Any = None, query: str = "") -> QuerySet[Post]:
    posts = Post.objects.visible_to(user)
    if kind:
        posts = posts.filter(kind=kind)
    if area.strip():
        posts = posts.filter(path__startswith=area.strip())
    flag = _flag(active)
    if flag is not None:
        posts = posts.filter(active=flag)
    if query.strip():
        posts = posts.filter(Q(name__contains=query.strip()) | Q(place__contains=query.strip()))
    return posts.select_related("division").order_by("path", "name", "id")


def post_get_for_user(user: Any, pk: Any, *, write: bool = False) -> Post:
    try:
        queryset = Post.objects.visible_to(user).select_related("division")
        if write:
            queryset = queryset.select_for_update(of=("self",))
        return queryset.get(pk=int(pk))
    except (Post.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def shift_get_for_user(user: Any, pk: Any, *, write: bool = False) -> Shift:
    """A shift the user sees (the post's organisers; the member their own); 404 otherwise."""
    try:
        queryset = Shift.objects.visible_to(user).select_related("post", "volunteer__person")
        if write:
            queryset = queryset.select_for_update(of=("self",))
        return queryset.get(pk=int(pk))
    except (Shift.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def week_shifts(post: Post, monday: datetime.date) -> list[Shift]:
    """All shifts of the post touching the week (cancelled ones too: the roster shows them struck through)."""
    start, end = coverage.week_bounds(monday)
    return list(
        Shift.objects.filter(post=post, start__lt=end, end__gt=start)
        .select_related("volunteer__person")
        .order_by("start", "id")
    )


@dataclass
class RosterCell:
    state: str  # "closed" (outside the post's hours), "gap" (short of people) or "ok"
    staffed: int
    names: list[str]


@dataclass
class RosterWeek:
    post: Post
    monday: datetime.date
    days: list[datetime.date]
    shifts: list[Shift]
    spans: list[Span]
    gaps: list[Gap]
    rows: list[tuple[int, list[RosterCell]]]
    by_day: list[tuple[datetime.date, list[Shift]]]
    covered_hours: float
    gap_hours: float

    @property
    def previous(self) -> datetime.date:
        return self.monday - 7 * DAY

    @property
    def next(self) -> datetime.date:
        return self.monday + 7 * DAY


def roster_week(post: Post, day: datetime.date) -> RosterWeek:
    """The post's roster for the week of ``day``: the shifts, an hour-by-day grid, and the gaps (one query)."""
    monday = coverage.week_start(day)
    start, end = coverage.week_bounds(monday)
    shifts = week_shifts(post, monday)
    spans = coverage.covered_spans(opens_at=post.opens_at, closes_at=post.closes_at, start=start, end=end)
    staffing = [s for s in shifts if s.status in STAFFING_STATUSES]
    timeline = coverage.staffing_timeline(spans=spans, shifts=[(s.start, s.end) for s in staffing])
    gaps = coverage.staffing_gaps(spans=spans, shifts=[(s.start, s.end) for s in staffing], needed=post.min_staff)
    days = [monday + n * DAY for n in range(7)]
    rows: list[tuple[int, list[RosterCell]]] = []
    for hour in range(24):
        cells = []
        for day_ in days:
            cell_start = coverage.local_midnight(day_) + datetime.timedelta(hours=hour)
            cell_end = cell_start + datetime.timedelta(hours=1)
            cells.append(_cell(timeline, staffing, cell_start, cell_end, post.min_staff))
        rows.append((hour, cells))
    by_day = [
        (
            day_,
            [s for s in shifts if timezone.localtime(s.start).date() == day_ or (day_ == monday and s.start < start)],
        )
        for day_ in days
    ]
    covered = sum((span.end - span.start).total_seconds() for span in spans) / 3600
    return RosterWeek(
        post=post,
        monday=monday,
        days=days,
        shifts=shifts,
        spans=spans,
        gaps=gaps,
        rows=rows,
        by_day=by_day,
        covered_hours=round(covered, 2),
        gap_hours=round(sum(g.hours for g in gaps), 2),
    )


def _cell(
    timeline: Sequence[coverage.Segment],
    staffing: Sequence[Shift],
    start: datetime.datetime,
    end: datetime.datetime,
    needed: int,
) -> RosterCell:
    covered = [seg for seg in timeline if seg.covered and seg.start < end and start < seg.end]
    names = [s.volunteer.person.name for s in staffing if s.start < end and start < s.end]
    if not covered:
        return RosterCell("closed", len(names), names)
    lowest = min(seg.staffed for seg in covered)
    return RosterCell("gap" if lowest < needed else "ok", lowest, names)


def my_shifts(user: Any, *, now: datetime.datetime | None = None, days_back: int = 2) -> list[Shift]:
    """The member's own shifts from a couple of days ago onwards (what the duty page on a phone shows)."""
    now = now or timezone.now()
    if not getattr(user, "pk", None):
        return []
    return list(
        Shift.objects.filter(volunteer__user_id=user.pk, end__gte=now - days_back * DAY)
        .exclude(status=ShiftStatus.CANCELLED)
        .select_related("post")
        .order_by("start", "id")[:50]
    )


# -- service records ------------------------------------------------------------------------------------------


def duty_hours(shift: Shift) -> float:
    """Hours a done shift counts for: checked in to checked out when both are known, else the planned span."""
    if shift.checked_in_at and shift.checked_out_at and shift.checked_out_at > shift.checked_in_at:
        seconds = (shift.checked_out_at - shift.checked_in_at).total_seconds()
    else:
        seconds = (shift.end - shift.start).total_seconds()
    return seconds / 3600


@dataclass
class ServiceRecord:
    volunteer: Volunteer
    shifts_done: int = 0
    shifts_missed: int = 0
    duty_hours: float = 0.0
    posts: Counter[str] = field(default_factory=Counter)
    tasks_done: int = 0
    households_covered: int = 0
    entry_hours: Decimal = Decimal("0")
    entries: int = 0

    @property
    def total_hours(self) -> float:
        return round(self.duty_hours + float(self.entry_hours), 2)

    @property
    def posts_label(self) -> str:
        return "、".join(f"{name} ×{n}" for name, n in sorted(self.posts.items()))


def _period_bounds(
    date_from: datetime.date | None, date_to: datetime.date | None
) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    lower = coverage.local_midnight(date_from) if date_from else None
    upper = coverage.local_midnight(date_to + DAY) if date_to else None
    return lower, upper


def service_records(
    volunteers: Sequence[Volunteer],
    *,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> list[ServiceRecord]:
    """Service records of these members in the period (by shift start, task close, entry day), in 4 queries."""
    records = {v.pk: ServiceRecord(volunteer=v) for v in volunteers}
    if not records:
        return []
    lower, upper = _period_bounds(date_from, date_to)
    shifts = Shift.objects.filter(volunteer_id__in=records, status__in=(ShiftStatus.DONE, ShiftStatus.MISSED))
    if lower:
        shifts = shifts.filter(start__gte=lower)
    if upper:
        shifts = shifts.filter(start__lt=upper)
    for shift in shifts.select_related("post").only(
        "volunteer_id", "status", "start", "end", "checked_in_at", "checked_out_at", "post__name"
    ):
        record = records[shift.volunteer_id]
        if shift.status == ShiftStatus.MISSED:
            record.shifts_missed += 1
            continue
        record.shifts_done += 1
        record.duty_hours += duty_hours(shift)
        record.posts[shift.post.name] += 1
    by_account = {v.user_id: records[v.pk] for v in volunteers if v.user_id}
    if by_account:
        tasks = Task.objects.filter(assignee_user_id__in=by_account, status=TaskStatus.DONE)
        if lower:
            tasks = tasks.filter(closed_at__gte=lower)
        if upper:
            tasks = tasks.filter(closed_at__lt=upper)
        for account_id, n in (
            tasks.values("assignee_user_id").annotate(n=Count("id")).values_list("assignee_user_id", "n")
        ):
            by_account[account_id].tasks_done = n
        households = (
            Household.objects.filter(responsible_id__in=by_account)
            .values("responsible_id")
            .annotate(n=Count("id"))
            .values_list("responsible_id", "n")
        )
        for account_id, n in households:
            by_account[account_id].households_covered = n
    entries = ServiceEntry.objects.filter(volunteer_id__in=records)
    if date_from:
        entries = entries.filter(day__gte=date_from)
    if date_to:
        entries = entries.filter(day__lte=date_to)
    for volunteer_id, hours, n in (
        entries.values("volunteer_id").annotate(h=Sum("hours"), n=Count("id")).values_list("volunteer_id", "h", "n")
    ):
        records[volunteer_id].entry_hours = hours or Decimal("0")
        records[volunteer_id].entries = n
    for record in records.values():
        record.duty_hours = round(record.duty_hours, 2)
    return [records[v.pk] for v in volunteers]


def service_record(
    volunteer: Volunteer, *, date_from: datetime.date | None = None, date_to: datetime.date | None = None
) -> ServiceRecord:
    return service_records([volunteer], date_from=date_from, date_to=date_to)[0]


def service_entries(volunteer: Volunteer, *, limit: int = 100) -> list[ServiceEntry]:
    return list(volunteer.service_entries.select_related("commitment", "recorded_by").order_by("-day", "-id")[:limit])


def member_shifts(volunteer: Volunteer, *, limit: int = 60) -> list[Shift]:
    """The member's latest shifts (all posts, newest first)."""
    return list(volunteer.shifts.select_related("post").order_by("-start", "-id")[:limit])
