"""Reads of frontline care, all starting from ``visible_to(user)``: the frontline registry, a user's own requests,
the township's queue, one request with what the viewer may do with it, and the summary per township.

Who may do what with a request (``CareAccess``) is decided here, once, for the services, the pages and the API.
"""

from __future__ import annotations

import datetime
import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import Http404
from django.utils import timezone

from firstline.accounts.models import Membership, User
from firstline.accounts.roles import Perm
from firstline.community.models import (
    OPEN_CARE_STATUSES,
    CareEvent,
    CareRequest,
    CareStatus,
    FrontlineWorker,
)
from firstline.core import identity
from firstline.core.scoping import scope_of
from firstline.people.selectors import person_search_q
from firstline.regions.models import Division, DivisionLevel
from firstline.regions.models import township_code as regions_township_code

# Requests still waiting for someone: the queue's default.
ACTIVE_CARE_STATUSES = (CareStatus.OPEN, CareStatus.ASSIGNED, CareStatus.HANDLED)
FINISHED_CARE_STATUSES = (CareStatus.CLOSED, CareStatus.CANCELLED)
# Division levels a queue is filtered by: townships (street, town, township) and the villages/communities below.
LOCAL_LEVELS = (
    DivisionLevel.STREET,
    DivisionLevel.TOWN,
    DivisionLevel.TOWNSHIP,
    DivisionLevel.COMMUNITY,
    DivisionLevel.VILLAGE,
)


def _get(queryset: QuerySet[Any], pk: Any) -> Any:
    try:
        return queryset.get(pk=int(pk))
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def home_code(path: str) -> str:
    """The division code of a home path (a grid path's division part)."""
    return path.split("-")[0]


def township_code(path: str) -> str:
    """The township a home path belongs to; a code above township level stays as it is."""
    return regions_township_code(path) or home_code(path)


# -- frontline registry ---------------------------------------------------------------------------------------------


def workers_visible_to(user: Any) -> QuerySet[FrontlineWorker]:
    return FrontlineWorker.objects.visible_to(user).select_related("person", "user")


def worker_get_for_user(user: Any, pk: Any, *, write: bool = False) -> FrontlineWorker:
    """The frontline worker if the user may see the row; 404 for missing and out-of-scope alike."""
    queryset = workers_visible_to(user)
    if write:
        queryset = queryset.select_for_update(of=("self",))
    return _get(queryset, pk)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class WorkerFilters:
    query: str = ""
    post_kind: str = ""
    division: str = ""
    active: bool | None = None


def worker_list(*, user: Any, filters: WorkerFilters) -> QuerySet[FrontlineWorker]:
    workers = workers_visible_to(user)
    if filters.query:
        workers = workers.filter(
            Q(person__in=_persons_matching(filters.query))
            | Q(post__contains=filters.query)
            | Q(organisation__contains=filters.query)
            | Q(user__username=filters.query)
        )
    if filters.post_kind:
        workers = workers.filter(post_kind=filters.post_kind)
    if filters.division:
        workers = workers.filter(path__startswith=filters.division)
    if filters.active is not None:
        workers = workers.filter(active=filters.active)
    return workers.order_by("-active", "path", "person__name", "id")


def _persons_matching(query: str) -> Any:
    from firstline.people.models import Person

    return Person.objects.filter(person_search_q(query)).values("pk")


def worker_of(user: Any) -> FrontlineWorker | None:
    """The user's own frontline record (active), if they have one."""
    scope = scope_of(user)
    if scope.user_id is None:
        return None
    return FrontlineWorker.objects.filter(user_id=scope.user_id, active=True).select_related("person", "user").first()


def worker_by_key(key: str) -> FrontlineWorker | None:
    """The active frontline worker whose account name or ID number is exactly ``key`` — in any jurisdiction.

    Lets someone file for a colleague whose home they cannot see (a site manager for their staff). Callers show
    only the name and the post of the match: nothing else of an out-of-scope person leaves this function's users.
    """
    text = (key or "").strip()
    if not text:
        return None
    workers = FrontlineWorker.objects.filter(active=True).select_related("person", "user")
    found = workers.filter(user__username=text, user__is_active=True).first()
    if found is not None:
        return found
    try:
        id_type, number = identity.normalize_id_number(text, identity.RESIDENT_ID, today=timezone.localdate())
    except identity.IdentityError:
        number = identity.clean_raw(text).upper()
        return workers.filter(person__id_number=number).first() if number else None
    return workers.filter(person__id_type=id_type, person__id_number=number).first()


def filing_choices(user: Any) -> QuerySet[FrontlineWorker]:
    """Workers a user may pick from a list when filing: the active ones they can see (their own included)."""
    return workers_visible_to(user).filter(active=True).order_by("person__name", "id")


# -- care requests ----------------------------------------------------------------------------------------------


def care_visible_to(user: Any) -> QuerySet[CareRequest]:
    return CareRequest.objects.visible_to(user).select_related(
        "person", "worker", "division", "handler", "filed_by", "household"
    )


def care_get_for_user(user: Any, pk: Any, *, write: bool = False) -> CareRequest:
    """The request if the user may see it (jurisdiction, filer, subject or handler); 404 otherwise."""
    queryset = care_visible_to(user)
    if write:
        queryset = queryset.select_for_update(of=("self",))
    return _get(queryset.select_related("task", "care_need"), pk)  # type: ignore[no-any-return]


def care_mine(user: Any) -> QuerySet[CareRequest]:
    """Requests the user filed or that are about them, newest first."""
    scope = scope_of(user)
    if scope.user_id is None:
        return CareRequest.objects.none()
    return (
        care_visible_to(user)
        .filter(Q(filed_by_id=scope.user_id) | Q(worker__user_id=scope.user_id))
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class QueueFilters:
    status: str = "active"  # "active", "overdue", "all" or one CareStatus
    category: str = ""
    urgency: int | None = None
    division: str = ""  # a division code prefix
    source: str = ""


def care_queue(*, user: Any, filters: QueueFilters, now: datetime.datetime | None = None) -> QuerySet[CareRequest]:
    """The handlers' queue: oldest first, so what has waited longest is seen first."""
    now = now or timezone.now()
    requests = care_visible_to(user)
    if filters.status == "active":
        requests = requests.filter(status__in=ACTIVE_CARE_STATUSES)
    elif filters.status == "overdue":
        requests = requests.filter(status__in=OPEN_CARE_STATUSES, due_at__lt=now)
    elif filters.status and filters.status != "all":
        requests = requests.filter(status=filters.status)
    if filters.category:
        requests = requests.filter(category=filters.category)
    if filters.urgency:
        requests = requests.filter(urgency=filters.urgency)
    if filters.division:
        requests = requests.filter(path__startswith=filters.division)
    if filters.source:
        requests = requests.filter(source=filters.source)
    return requests.order_by("created_at", "id")


def care_events(care: CareRequest) -> QuerySet[CareEvent]:
    return CareEvent.objects.filter(request=care).select_related("actor").order_by("at", "id")


def is_overdue(care: CareRequest, now: datetime.datetime | None = None) -> bool:
    return care.status in OPEN_CARE_STATUSES and care.due_at < (now or timezone.now())


@dataclass(frozen=True)
class CareAccess:
    """What one user may do with one request (the services enforce it; pages and the API show it)."""

    handles: bool  # may assign and resolve: care.handle in the request's jurisdiction
    is_handler: bool
    is_requester: bool  # the worker the request is about, or whoever filed it
    sees_home: bool  # may see the household: the jurisdiction's handlers and the worker themself
    confirmers_exist: bool

    @property
    def can_assign(self) -> bool:
        return self.handles

    @property
    def can_handle(self) -> bool:
        return self.handles or self.is_handler

    @property
    def can_confirm(self) -> bool:
        # A quarantine supply request nobody filed by hand is confirmed by its handlers on delivery.
        return self.is_requester or (self.handles and not self.confirmers_exist)

    @property
    def can_close_for_requester(self) -> bool:
        """The township closes a handled request on the requester's word (a phone call), saying so."""
        return self.handles and not self.can_confirm

    @property
    def can_cancel(self) -> bool:
        return self.is_requester or self.handles


def care_access(user: Any, care: CareRequest) -> CareAccess:
    scope = scope_of(user)
    handles = scope.has(Perm.CARE_HANDLE) and scope.covers_path(care.path)
    worker_user_id = care.worker.user_id if care.worker_id and care.worker else None
    requester_ids = {pk for pk in (worker_user_id, care.filed_by_id) if pk is not None}
    return CareAccess(
        handles=handles,
        is_handler=scope.user_id is not None and care.handler_id == scope.user_id,
        is_requester=scope.user_id in requester_ids,
        sees_home=handles or (scope.user_id is not None and worker_user_id == scope.user_id),
        confirmers_exist=bool(requester_ids),
    )


def handler_candidates(user: Any, care: CareRequest) -> QuerySet[User]:
    """Who a handler may give the request to: active accounts with a role in the request's township that the
    handler can see (village secretaries, grid workers, volunteers, the township's own officers)."""
    in_scope = Membership.objects.visible_to(user).filter(
        user=OuterRef("pk"), active=True, path__startswith=care.division_id
    )
    return User.objects.filter(Exists(in_scope), is_active=True).order_by("username")


# -- summary per township ------------------------------------------------------------------------------------------


@dataclass
class TownshipSummary:
    division: Division
    total: int = 0
    open: int = 0
    handled: int = 0
    closed: int = 0
    cancelled: int = 0
    overdue: int = 0
    resolved: int = 0
    median_to_resolve: datetime.timedelta | None = None

    @property
    def median_hours(self) -> float | None:
        if self.median_to_resolve is None:
            return None
        return round(self.median_to_resolve.total_seconds() / 3600, 1)


def _resolved(requests: QuerySet[CareRequest]) -> QuerySet[CareRequest]:
    return requests.filter(status__in=(CareStatus.HANDLED, CareStatus.CLOSED), handled_at__isnull=False)


def median_time_to_resolve(requests: QuerySet[CareRequest]) -> dict[str, datetime.timedelta]:
    """Median time from filing to handling per handling division, computed in the database.

    Window functions number each division's resolved requests by duration; only the middle one or two rows come
    back (standard SQL, the same on SQLite and PostgreSQL), and the two middles of an even count are averaged.
    """
    took = ExpressionWrapper(F("handled_at") - F("created_at"), output_field=DurationField())
    middles = (
        _resolved(requests)
        .order_by()
        .annotate(
            took=took,
            position=Window(RowNumber(), partition_by=[F("division_id")], order_by=[took.asc(), F("id").asc()]),
            count=Window(Count("id"), partition_by=[F("division_id")]),
        )
        .filter(Q(position=(F("count") + 1) / 2) | Q(position=(F("count") + 2) / 2))
        .values_list("division_id", "took")
    )
    by_division: dict[str, list[datetime.timedelta]] = defaultdict(list)
    for division_id, duration in middles:
        by_division[division_id].append(duration)
    return {
        code: datetime.timedelta(seconds=statistics.fmean(d.total_seconds() for d in durations))
        for code, durations in by_division.items()
    }


def care_summary(
    *,
    user: Any,
    filed_from: datetime.date | None = None,
    filed_to: datetime.date | None = None,
    now: datetime.datetime | None = None,
) -> list[TownshipSummary]:
    """Per handling township: requests by status, overdue, and median time to resolve. Three queries."""
    now = now or timezone.now()
    requests = CareRequest.objects.visible_to(user)
    if filed_from:
        requests = requests.filter(created_at__date__gte=filed_from)
    if filed_to:
        requests = requests.filter(created_at__date__lte=filed_to)
    counts = (
        requests.order_by()
        .values("division_id")
        .annotate(
            total=Count("id"),
            open=Count("id", filter=Q(status__in=OPEN_CARE_STATUSES)),
            handled=Count("id", filter=Q(status=CareStatus.HANDLED)),
            closed=Count("id", filter=Q(status=CareStatus.CLOSED)),
            cancelled=Count("id", filter=Q(status=CareStatus.CANCELLED)),
            overdue=Count("id", filter=Q(status__in=OPEN_CARE_STATUSES, due_at__lt=now)),
            resolved=Count(
                "id", filter=Q(status__in=(CareStatus.HANDLED, CareStatus.CLOSED), handled_at__isnull=False)
            ),
        )
    )
    rows = list(counts)
    divisions = Division.objects.in_bulk([row["division_id"] for row in rows])
    medians = median_time_to_resolve(requests) if any(row["resolved"] for row in rows) else {}
    summaries = [
        TownshipSummary(
            division=divisions[row["division_id"]],
            total=row["total"],
            open=row["open"],
            handled=row["handled"],
            closed=row["closed"],
            cancelled=row["cancelled"],
            overdue=row["overdue"],
            resolved=row["resolved"],
            median_to_resolve=medians.get(row["division_id"]),
        )
        for row in rows
    ]
    return sorted(summaries, key=lambda s: s.division.code)


def township_choices(user: Any) -> list[tuple[str, str]]:
    """Townships (and villages/communities) under the user's jurisdiction, for the queue's division filter."""
    divisions = Division.objects.visible_to(user).filter(level__in=LOCAL_LEVELS)
    return [(d.code, str(d)) for d in divisions.order_by("code")[:500]]
