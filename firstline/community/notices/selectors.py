"""Reads of notices and public reports, always scoped, plus the public pages' reads (published notices of a
division and the divisions above it)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Length
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from firstline.accounts.models import Department, Membership, User
from firstline.accounts.roles import SITE_ROLES, Perm
from firstline.community.models import Notice, NoticeAttachment, NoticeRead, NoticeStatus, PublicReport
from firstline.core import identity
from firstline.core.dates import day_start
from firstline.core.scoping import scope_of
from firstline.regions.models import CODE_LENGTHS, Division
from firstline.regions.models import ancestor_codes as ancestor_codes

# Endings dropped to find a division named loosely in a place ("结古镇民主路" names 结古街道's area as 结古).
NAME_ENDINGS = ("街道办事处", "街道", "社区居委会", "居委会", "社区", "村委会", "村", "镇", "乡")

# --- notices -----------------------------------------------------------------------------------------------------


def notices_visible_to(user: Any) -> QuerySet[Notice]:
    """Notices of the user's subtree (any status) and the published notices of every division above them."""
    return Notice.objects.visible_to(user)


def effective_q(today: datetime.date) -> Q:
    """Published and in force on ``today``."""
    return Q(status=NoticeStatus.PUBLISHED, effective_from__lte=today) & (
        Q(expires_on__isnull=True) | Q(expires_on__gte=today)
    )


def with_read_state(notices: QuerySet[Notice], user: Any) -> QuerySet[Notice]:
    """``is_read``: whether ``user`` has opened the notice."""
    return notices.annotate(is_read=Exists(NoticeRead.objects.filter(notice=OuterRef("pk"), user_id=user.pk)))


def notice_list(*, user: Any, filters: Mapping[str, Any], today: datetime.date | None = None) -> QuerySet[Notice]:
    """The notices list: filters ``q`` (title or text), ``status``, ``when`` (current, upcoming, expired),
    ``division`` (a code: its subtree), ``pinned`` and ``unread``. Pinned first, newest first."""
    today = today or timezone.localdate()
    notices = with_read_state(notices_visible_to(user), user).select_related("division")
    notices = notices.annotate(attachment_count=Count("attachments"))
    q = str(filters.get("q") or "").strip()
    if q:
        notices = notices.filter(Q(title__icontains=q) | Q(body__icontains=q))
    status = filters.get("status")
    if status in NoticeStatus.values:
        notices = notices.filter(status=status)
    when = filters.get("when")
    if when == "current":
        notices = notices.filter(effective_q(today))
    elif when == "upcoming":
        notices = notices.filter(status=NoticeStatus.PUBLISHED, effective_from__gt=today)
    elif when == "expired":
        notices = notices.filter(status=NoticeStatus.PUBLISHED, expires_on__lt=today)
    division = filters.get("division")
    if division:
        notices = notices.filter(path__startswith=getattr(division, "code", division))
    if filters.get("pinned"):
        notices = notices.filter(pinned=True)
    if filters.get("unread"):
        notices = notices.filter(Q(status=NoticeStatus.PUBLISHED) & Q(is_read=False))
    return notices.order_by("-pinned", "-effective_from", "-id")


def notice_feed(user: Any, *, today: datetime.date | None = None) -> QuerySet[Notice]:
    """The notices in force for the user (home page): pinned first, with ``is_read``."""
    today = today or timezone.localdate()
    notices = with_read_state(notices_visible_to(user).filter(effective_q(today)), user)
    return notices.select_related("division").order_by("-pinned", "-effective_from", "-id")


def notice_get_for_user(user: Any, pk: Any, *, write: bool = False) -> Notice:
    """A notice the user sees (404 otherwise). ``write``: the user must also be at or above its division (403)."""
    try:
        notice = (
            with_read_state(notices_visible_to(user), user)
            .select_related("division", "published_by", "created_by")
            .prefetch_related("attachments")
            .get(pk=int(pk))
        )
    except (Notice.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    if write and not scope_of(user).covers_path(notice.path):
        raise PermissionDenied(_("Only the division that published this notice, or one above it, may change it."))
    return notice


def notice_attachment_get(notice: Notice, pk: Any) -> NoticeAttachment:
    try:
        return NoticeAttachment.objects.select_related("notice").get(notice=notice, pk=int(pk))
    except (NoticeAttachment.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def can_publish_at(user: Any, notice: Notice) -> bool:
    scope = scope_of(user)
    return scope.has(Perm.NOTICE_PUBLISH) and scope.covers_path(notice.path)


def publishable_divisions(user: Any) -> QuerySet[Division]:
    """Divisions the user may publish for: their own divisions and everything below them."""
    scope = scope_of(user)
    condition: Q | None = None
    for prefix in scope.paths:
        if "-" in prefix:
            continue  # a grid is no publisher
        branch = Q(code__startswith=prefix)
        condition = branch if condition is None else condition | branch
    if condition is None:
        return Division.objects.none()
    return Division.objects.filter(condition).order_by("code")


def notice_audience(notice: Notice, *, filters: Mapping[str, Any] | None = None) -> QuerySet[User]:
    """The staff below the notice's division (every active account with a role there, quarantine-site staff aside:
    their role opens no jurisdiction), each with ``read_at`` (None: not read) and ``where`` (their post's path)."""
    filters = filters or {}
    below = Membership.objects.filter(user=OuterRef("pk"), active=True, path__startswith=notice.path).exclude(
        role__in=SITE_ROLES
    )
    users = (
        User.objects.filter(is_active=True)
        .filter(Exists(below))
        .annotate(
            read_at=Subquery(NoticeRead.objects.filter(notice=notice, user=OuterRef("pk")).values("read_at")[:1]),
            where=Subquery(below.order_by(Length("path"), "path").values("path")[:1]),
        )
    )
    state = filters.get("state")
    if state == "read":
        users = users.filter(read_at__isnull=False)
    elif state == "unread":
        users = users.filter(read_at__isnull=True)
    q = str(filters.get("q") or "").strip()
    if q:
        users = users.filter(Q(username__icontains=q) | Q(display_name__icontains=q))
    return users.order_by("where", "username")


def notice_read_counts(notice: Notice) -> dict[str, int]:
    """How many staff below the division there are and how many have read the notice (one query)."""
    figures = notice_audience(notice).aggregate(audience=Count("pk"), read=Count("pk", filter=Q(read_at__isnull=False)))
    audience, read = int(figures["audience"] or 0), int(figures["read"] or 0)
    return {"audience": audience, "read": read, "unread": audience - read}


# --- public pages ------------------------------------------------------------------------------------------------


def division_get_public(code: str) -> Division:
    """A division by its code for the public pages; 404 for an unknown one."""
    code = (code or "").strip()
    if not code.isdigit() or len(code) not in CODE_LENGTHS:
        raise Http404
    try:
        return Division.objects.select_related("parent").get(code=code)
    except Division.DoesNotExist as exc:
        raise Http404 from exc


def public_notices(division: Division, *, today: datetime.date | None = None) -> QuerySet[Notice]:
    """What a resident of ``division`` is told: the published notices in force of it and of the divisions above it,
    pinned first; ``refutes`` marks notices that answer a rumour."""
    today = today or timezone.localdate()
    return (
        Notice.objects.filter(effective_q(today), path__in=ancestor_codes(division.code))
        .select_related("division")
        .annotate(refutes=Exists(PublicReport.objects.filter(answer=OuterRef("pk"))))
        .order_by("-pinned", "-effective_from", "-id")
    )


def public_notice_get(division: Division, pk: Any, *, today: datetime.date | None = None) -> Notice:
    """One published notice reaching ``division`` that has taken effect (an expired one still reads, marked so)."""
    today = today or timezone.localdate()
    try:
        return (
            Notice.objects.filter(
                status=NoticeStatus.PUBLISHED, effective_from__lte=today, path__in=ancestor_codes(division.code)
            )
            .select_related("division")
            .prefetch_related("attachments")
            .annotate(refutes=Exists(PublicReport.objects.filter(answer=OuterRef("pk"))))
            .get(pk=int(pk))
        )
    except (Notice.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def division_named_in(place: str, *, within: str) -> Division | None:
    """The division below ``within`` whose name appears in the place text: full names first, longest first, then
    names without their ending (结古街道 → 结古); None when no name is found."""
    text = identity.normalize_address(place or "")
    if not text:
        return None
    divisions = list(Division.objects.filter(code__startswith=within).exclude(code=within).only("code", "name"))
    full: list[tuple[str, Division]] = []
    loose: list[tuple[str, Division]] = []
    for division in divisions:
        name = identity.normalize_address(division.name)
        if len(name) < 2:
            continue
        full.append((name, division))
        for ending in NAME_ENDINGS:
            if name.endswith(ending) and len(name) - len(ending) >= 2:
                loose.append((name[: -len(ending)], division))
                break
    for candidates in (full, loose):
        # Longest names first; among equals the deeper division (a community before its namesake township).
        for name, division in sorted(candidates, key=lambda pair: (-len(pair[0]), -len(pair[1].code), pair[1].code)):
            if name in text:
                return division
    return None


# --- public reports ----------------------------------------------------------------------------------------------


def reports_visible_to(user: Any) -> QuerySet[PublicReport]:
    """Reports routed into the user's jurisdiction and those referred to the user's departments."""
    return PublicReport.objects.visible_to(user)


def report_list(*, user: Any, filters: Mapping[str, Any]) -> QuerySet[PublicReport]:
    """The reports queue: filters ``q`` (text or place), ``kind``, ``status``, ``division`` (code: its subtree),
    ``since`` / ``until`` (dates received). Newest first."""
    reports = reports_visible_to(user).select_related("division", "referred_to", "answer")
    q = str(filters.get("q") or "").strip()
    if q:
        reports = reports.filter(Q(description__icontains=q) | Q(place__icontains=q))
    if filters.get("kind"):
        reports = reports.filter(kind=filters["kind"])
    if filters.get("status"):
        reports = reports.filter(status=filters["status"])
    division = filters.get("division")
    if division:
        reports = reports.filter(path__startswith=getattr(division, "code", division))
    since, until = filters.get("since"), filters.get("until")
    if isinstance(since, datetime.date):
        reports = reports.filter(created_at__gte=day_start(since))
    if isinstance(until, datetime.date):
        reports = reports.filter(created_at__lt=day_start(until + datetime.timedelta(days=1)))
    return reports.order_by("-created_at", "-id")


def report_get_for_user(user: Any, pk: Any) -> PublicReport:
    """A report the user sees; 404 for missing and out-of-scope alike."""
    try:
        return (
            reports_visible_to(user)
            .select_related("division", "referred_to", "answer", "duplicate_of", "triaged_by", "task")
            .get(pk=int(pk))
        )
    except (PublicReport.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def report_duplicates(report: PublicReport, user: Any) -> QuerySet[PublicReport]:
    """The reports marked as repeating this one."""
    return reports_visible_to(user).filter(duplicate_of=report).order_by("created_at")


def referral_departments(report: PublicReport) -> QuerySet[Department]:
    """Departments serving the report's place: those of a division above it or inside it."""
    return Department.objects.filter(
        Q(division_id__in=ancestor_codes(report.path.split("-")[0])) | Q(division__code__startswith=report.path)
    ).order_by("kind", "code")


def answer_candidates(user: Any) -> QuerySet[Notice]:
    """Notices a rumour can be linked to: ones the user sees that are not withdrawn, newest first."""
    return notices_visible_to(user).exclude(status=NoticeStatus.WITHDRAWN).order_by("-effective_from", "-id")
