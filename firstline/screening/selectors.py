"""Reads on arrivals, registration points and re-evaluation runs, always scoped through ``visible_to``."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from firstline.accounts.models import Department
from firstline.accounts.roles import Perm
from firstline.core import identity
from firstline.core.scoping import scope_of
from firstline.dispatch.models import Task
from firstline.people.models import IdType, Person
from firstline.people.selectors import person_search_q
from firstline.policy.explain import measure_label
from firstline.policy.models import MeasureType
from firstline.regions.models import TOWNSHIP_LEVELS, Division, Household
from firstline.screening.models import (
    Arrival,
    PointKind,
    Reevaluation,
    RegistrationPoint,
    TravelItem,
    TravelMatch,
)

ARRIVAL_LIST_RELATED = ("person", "household__grid", "measure", "registration_point")


# -- arrivals ---------------------------------------------------------------------------------------------------


def arrival_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Arrival]:
    """Arrivals the user may see, filtered.

    ``filters``: ``q`` (name, pinyin, ID/phone tail), ``date_from``/``date_to`` (arrival date), ``division`` (grid or
    division code prefix), ``measure`` (a measure type, "none" for none), ``source``, ``status``, ``needs_review`` and
    ``unresolved`` ("1"/"0" or booleans).
    """
    filters = filters or {}
    arrivals = Arrival.objects.visible_to(user)
    if filters.get("date_from"):
        arrivals = arrivals.filter(arrival_date__gte=filters["date_from"])
    if filters.get("date_to"):
        arrivals = arrivals.filter(arrival_date__lte=filters["date_to"])
    if filters.get("division"):
        arrivals = arrivals.filter(path__startswith=str(filters["division"]).strip())
    measure = filters.get("measure")
    if measure == MeasureType.NONE:
        arrivals = arrivals.filter(measure__isnull=True)
    elif measure:
        arrivals = arrivals.filter(measure__measure_type=measure)
    if filters.get("source"):
        arrivals = arrivals.filter(source=filters["source"])
    if filters.get("status"):
        arrivals = arrivals.filter(status=filters["status"])
    needs_review = _flag(filters.get("needs_review"))
    if needs_review is not None:
        arrivals = arrivals.filter(needs_review=needs_review)
    unresolved = _flag(filters.get("unresolved"))
    if unresolved is not None:
        arrivals = arrivals.filter(household__isnull=unresolved)
    query = str(filters.get("q") or "").strip()
    if query:
        arrivals = arrivals.filter(person__in=Person.objects.filter(person_search_q(query)).values("pk"))
    return arrivals.select_related(*ARRIVAL_LIST_RELATED).order_by("-arrival_date", "-id")


def _flag(value: Any) -> bool | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes", "on")


def arrival_get_for_user(user: Any, pk: Any, *, write: bool = False) -> Arrival:
    """The arrival if the user may see it; 404 for missing and out-of-scope alike."""
    try:
        queryset = Arrival.objects.visible_to(user).select_related(
            "person", "household__grid", "measure", "registration_point", "registered_by", "verified_by"
        )
        if write:
            queryset = queryset.select_for_update(of=("self",))
        return queryset.get(pk=int(pk))
    except (Arrival.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def arrival_travel(arrival: Arrival) -> list[TravelItem]:
    """The travel history with its risk-area matches (two queries)."""
    matches = TravelMatch.objects.select_related("area", "period").order_by("id")
    return list(arrival.travel.prefetch_related(Prefetch("matches", queryset=matches)).order_by("position"))


def match_get_for_user(user: Any, pk: Any) -> TravelMatch:
    """A risk-area match of an arrival the user may see; 404 otherwise."""
    try:
        return TravelMatch.objects.select_related("arrival", "arrival__person", "area").get(
            pk=int(pk), arrival__in=Arrival.objects.visible_to(user).values("pk")
        )
    except (TravelMatch.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def arrival_tasks_for(user: Any, arrival: Arrival) -> QuerySet[Task]:
    """The tasks about this arrival that the user may see."""
    return (
        Task.objects.visible_to(user)
        .filter(content_type=ContentType.objects.get_for_model(Arrival), object_id=str(arrival.pk))
        .select_related("assignee_user", "assignee_grid")
        .order_by("due_at", "id")
    )


def queue_list(*, user: Any, query: str = "", status: str = "") -> QuerySet[Arrival]:
    """The township queue: arrivals in scope whose destination household is not known yet, oldest first."""
    arrivals = Arrival.objects.visible_to(user).unresolved()
    if status:
        arrivals = arrivals.filter(status=status)
    if query.strip():
        arrivals = arrivals.filter(person__in=Person.objects.filter(person_search_q(query)).values("pk"))
    return arrivals.select_related(*ARRIVAL_LIST_RELATED).order_by("arrival_date", "id")


def arrivals_of_person(user: Any, person: Person) -> QuerySet[Arrival]:
    return (
        Arrival.objects.visible_to(user)
        .filter(person=person)
        .select_related("measure", "household")
        .order_by("-arrival_date", "-id")
    )


# -- households for pickers ----------------------------------------------------------------------------------------


def households_for_form(user: Any) -> QuerySet[Household]:
    """The households a user may send an arrival to: their grids' first (a grid worker's whole list)."""
    return Household.objects.visible_to(user).select_related("grid").order_by("path", "code")


def household_search(*, user: Any, query: str = "", under: str = "", limit: int = 30) -> list[Household]:
    households = Household.objects.visible_to(user)
    if under:
        households = households.filter(path__startswith=under)
    query = query.strip()
    if query:
        households = households.filter(Q(code__startswith=query) | Q(address__contains=query))
    return list(households.select_related("grid").order_by("code")[:limit])


def queue_divisions_for(user: Any) -> QuerySet[Division]:
    """Divisions whose queue a user may send an unresolved arrival to (their own, down to communities)."""
    return Division.objects.visible_to(user).exclude(level__in=("province", "prefecture")).order_by("code")


# -- person lookup while typing an ID ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonLookup:
    """What the form may show about a typed ID: nothing out of scope beyond “known person”."""

    status: str  # "typing" | "invalid" | "new" | "visible" | "known"
    message: str = ""
    birth_date: datetime.date | None = None
    sex: str = ""
    person: Person | None = None


def person_lookup(
    *, user: Any, id_number: str, id_type: str = IdType.RESIDENT, today: datetime.date | None = None
) -> PersonLookup:
    raw = identity.clean_raw(id_number or "")
    if not raw:
        return PersonLookup("typing")
    resident_like = id_type in (IdType.RESIDENT, IdType.RESIDENT15, IdType.HMT_PERMIT)
    try:
        kind, number = identity.normalize_id_number(raw, id_type or IdType.RESIDENT, today=today)
    except identity.IdentityError as exc:
        if resident_like and len(raw) < 18 and exc.code in ("bad_length", "bad_check_char", "bad_birth_date"):
            return PersonLookup("typing")  # still typing
        return PersonLookup("invalid", message=str(exc.message))
    birth_date, sex = None, ""
    if kind in (IdType.RESIDENT, IdType.HMT_PERMIT):
        info = identity.parse_resident_id(number, today=today)
        birth_date, sex = info.birth_date, info.sex
    found = Person.objects.filter(id_type=kind, id_number=number).only("pk", "merged_into_id").first()
    hops = 0
    while found is not None and found.merged_into_id is not None and hops < 10:
        found = Person.objects.filter(pk=found.merged_into_id).only("pk", "merged_into_id").first()
        hops += 1
    if found is None:
        return PersonLookup("new", birth_date=birth_date, sex=sex)
    visible = Person.objects.visible_to(user).select_related("household__grid").filter(pk=found.pk).first()
    if visible is None:
        return PersonLookup("known", birth_date=birth_date, sex=sex)
    return PersonLookup("visible", birth_date=birth_date, sex=sex, person=visible)


# -- registration points ----------------------------------------------------------------------------------------


def point_list(*, user: Any, query: str = "", kind: str = "", active: Any = None) -> QuerySet[RegistrationPoint]:
    points = RegistrationPoint.objects.visible_to(user)
    if kind:
        points = points.filter(kind=kind)
    flag = _flag(active)
    if flag is not None:
        points = points.filter(active=flag)
    if query.strip():
        points = points.filter(name__contains=query.strip())
    return points.select_related("division", "created_by").order_by("path", "name")


def point_get_for_user(user: Any, pk: Any) -> RegistrationPoint:
    try:
        return RegistrationPoint.objects.visible_to(user).select_related("division").get(pk=int(pk))
    except (RegistrationPoint.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def point_get_public(token: str) -> RegistrationPoint:
    """The active point behind a printed QR code; 404 for unknown and inactive codes alike."""
    point = RegistrationPoint.objects.filter(token=token, active=True).select_related("division").first()
    if point is None:
        raise Http404
    return point


def checkpoint_points_for(user: Any) -> QuerySet[RegistrationPoint]:
    """Checkpoints a user may work at: inside their jurisdiction, the one their grid or village lies in, or (for
    department staff such as the police) inside the division their department serves.

    Choosing a point lets a user register arrivals there; it shows them nothing but their own entries.
    """
    scope = scope_of(user)
    condition = RegistrationPoint.objects.visibility_q(scope) or Q(pk__in=[])
    for prefix in scope.paths:
        village = prefix.split("-")[0]
        condition |= Q(path__in=[village[:n] for n in range(2, len(village) + 1)])
    if scope.department_ids:
        served = Department.objects.filter(pk__in=scope.department_ids).values_list("division_id", flat=True)
        for code in served:
            condition |= Q(path__startswith=code)
    return (
        RegistrationPoint.objects.filter(condition, kind=PointKind.CHECKPOINT, active=True)
        .select_related("division")
        .order_by("path", "name")
    )


def checkpoint_recent(*, user: Any, point: RegistrationPoint, limit: int = 20) -> list[Arrival]:
    """The last entries this user made at this checkpoint (their own work, whatever township they went to)."""
    return list(
        Arrival.objects.filter(registration_point=point, registered_by=user)
        .select_related("person", "measure")
        .order_by("-created_at", "-id")[:limit]
    )


def destination_townships(point: RegistrationPoint) -> QuerySet[Division]:
    """Townships of the checkpoint's county: where an arrival may be headed (public administrative names)."""
    return Division.objects.filter(code__startswith=point.path[:6], level__in=TOWNSHIP_LEVELS).order_by("code")


# -- re-evaluation runs -----------------------------------------------------------------------------------------


REEVALUATION_PERMISSIONS = (Perm.ARRIVAL_VERIFY, Perm.CITY_SUMMARY, Perm.RISKAREA_EDIT, Perm.POLICY_EDIT)


def can_view_reevaluations(user: Any) -> bool:
    scope = scope_of(user)
    return any(scope.has(permission) for permission in REEVALUATION_PERMISSIONS)


def reevaluation_list(*, user: Any, status: str = "", kind: str = "") -> QuerySet[Reevaluation]:
    """Runs are city-wide facts (a risk list or policy changed); what they changed is filtered per user."""
    if not can_view_reevaluations(user):
        return Reevaluation.objects.none()
    runs = Reevaluation.objects.select_related("actor")
    if status:
        runs = runs.filter(status=status)
    if kind:
        runs = runs.filter(kind=kind)
    return runs.order_by("-created_at", "-id")


def reevaluation_get_for_user(user: Any, pk: Any) -> Reevaluation:
    try:
        return reevaluation_list(user=user).get(pk=int(pk))
    except (Reevaluation.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


@dataclass(frozen=True)
class ChangeSentence:
    change: str
    measure: str
    count: int
    text: str
    in_scope: int | None = None


def change_sentence(row: Mapping[str, Any], *, reason: str) -> str:
    """One summary row of a run as a sentence."""
    change = row.get("change")
    count = int(row.get("count") or 0)
    measure = measure_label(row.get("measure"))
    if change in ("created", "replaced"):
        return ngettext(
            "%(count)s person newly needs %(measure)s because of %(reason)s.",
            "%(count)s people newly need %(measure)s because of %(reason)s.",
            count,
        ) % {"count": count, "measure": measure, "reason": reason}
    if change == "kept":
        return ngettext(
            "%(count)s person keeps their measure (lowering never shortens a started measure).",
            "%(count)s people keep their measure (lowering never shortens a started measure).",
            count,
        ) % {"count": count}
    if change == "cancelled":
        return ngettext(
            "%(count)s person no longer needs a measure.",
            "%(count)s people no longer need a measure.",
            count,
        ) % {"count": count}
    return _("%(count)s: %(change)s (%(measure)s).") % {"count": count, "change": change, "measure": measure}


def reevaluation_sentences(run: Reevaluation, *, user: Any) -> list[ChangeSentence]:
    """The change list as sentences; with, for users who see less than the whole city, how many are theirs."""
    in_scope: dict[tuple[str, str], int] = {}
    if run.changed:
        visible = set(
            Arrival.objects.visible_to(user).filter(pk__in=[row[0] for row in run.changed]).values_list("pk", flat=True)
        )
        for arrival_id, change, measure in run.changed:
            if arrival_id in visible:
                in_scope[(change, measure)] = in_scope.get((change, measure), 0) + 1
    sentences = []
    for row in run.summary or []:
        key = (str(row.get("change")), str(row.get("measure")))
        sentences.append(
            ChangeSentence(
                change=key[0],
                measure=key[1],
                count=int(row.get("count") or 0),
                text=change_sentence(row, reason=run.reason),
                in_scope=in_scope.get(key, 0) if run.changed else None,
            )
        )
    return sentences


def reevaluation_changed_arrivals(run: Reevaluation, *, user: Any) -> tuple[QuerySet[Arrival], dict[int, str]]:
    """The changed arrivals the user may see, and the change of each."""
    changes = {int(row[0]): str(row[1]) for row in run.changed or []}
    arrivals = (
        Arrival.objects.visible_to(user)
        .filter(pk__in=list(changes))
        .select_related("person", "measure", "household")
        .order_by("path", "-arrival_date", "id")
    )
    return arrivals, changes
