"""Reads on 协查 batches and their people, always scoped through ``visible_to``."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Substr
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from firstline.core import identity
from firstline.regions.models import Division
from firstline.screening.assist import visibility
from firstline.screening.models import ASSIST_FINAL_STATUSES, AssistBatch, AssistItem, AssistStatus

# Until ScreeningConfig.ready() registers it (idempotent): batches are seen wherever one of their people is.
visibility.register()

BATCH_STATES = ("open", "closed", "overdue")
STATUS_KEYS = tuple(AssistStatus.values)
QUEUE = "queue"  # the township filter's value for people still at the receiving level


def batch_list(
    *, user: Any, state: str = "", query: str = "", now: datetime.datetime | None = None
) -> QuerySet[AssistBatch]:
    batches = batches_in_state(AssistBatch.objects.visible_to(user), state=state, now=now)
    text = query.strip()
    if text:
        batches = batches.filter(Q(reference__icontains=text) | Q(source__icontains=text))
    return batches.order_by("-received_at", "-id")


def locate_due(batch: AssistBatch) -> datetime.datetime:
    return batch.received_at + datetime.timedelta(hours=batch.locate_within_hours)


def control_due(batch: AssistBatch) -> datetime.datetime:
    return batch.received_at + datetime.timedelta(hours=batch.control_within_hours)


def batches_in_state(
    batches: QuerySet[AssistBatch], *, state: str, now: datetime.datetime | None = None
) -> QuerySet[AssistBatch]:
    """open, closed, or overdue (open and past the report-back deadline); anything else: all."""
    if state == "open":
        return batches.filter(closed_at__isnull=True)
    if state == "closed":
        return batches.filter(closed_at__isnull=False)
    if state == "overdue":
        return batches.filter(closed_at__isnull=True, deadline_at__lt=now or timezone.now())
    return batches


def status_counts(*, user: Any, batch_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Per batch: the number of the user's visible people in each status, and the total (one aggregate query)."""
    ids = list(batch_ids)
    counts: dict[int, dict[str, int]] = {pk: {**dict.fromkeys(STATUS_KEYS, 0), "total": 0} for pk in ids}
    if not ids:
        return counts
    rows = (
        AssistItem.objects.visible_to(user)
        .filter(batch_id__in=ids)
        .values("batch_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        entry = counts[row["batch_id"]]
        entry[row["status"]] = row["n"]
        entry["total"] += row["n"]
    for entry in counts.values():
        entry["final"] = sum(entry[status] for status in ASSIST_FINAL_STATUSES)
        entry["open"] = entry["total"] - entry["final"]
    return counts


def batch_get_for_user(user: Any, pk: Any) -> AssistBatch:
    """The batch if the user may see it; 404 for missing and out-of-scope alike."""
    try:
        return AssistBatch.objects.visible_to(user).select_related("created_by").get(pk=int(pk))
    except (AssistBatch.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def item_list(
    *,
    user: Any,
    batch: AssistBatch | int | None = None,
    status: str = "",
    township: str = "",
    query: str = "",
) -> QuerySet[AssistItem]:
    items = AssistItem.objects.visible_to(user)
    if batch is not None:
        items = items.filter(batch=batch)
    if status == "open":
        items = items.exclude(status__in=ASSIST_FINAL_STATUSES)
    elif status in STATUS_KEYS:
        items = items.filter(status=status)
    if township == QUEUE:
        items = items.filter(path=F("batch__path"))
    elif township:
        items = items.filter(path__startswith=township)
    text = query.strip()
    if text:
        condition = Q(name__contains=identity.normalize_name(text))
        if text.replace("x", "").replace("X", "").isdigit():
            condition |= Q(id_number__endswith=text.upper()) | Q(phone__endswith=text)
        items = items.filter(condition)
    return items.select_related("batch", "household", "measure").order_by("batch_id", "row_number", "id")


def item_get_for_user(user: Any, pk: Any, *, write: bool = False) -> AssistItem:
    """The person of a batch if the user may see them; 404 for missing and out-of-scope alike."""
    try:
        queryset = AssistItem.objects.visible_to(user).select_related(
            "batch", "household", "person", "measure", "arrival"
        )
        if write:
            queryset = queryset.select_for_update(of=("self",))
        return queryset.get(pk=int(pk))
    except (AssistItem.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def division_names(codes: Iterable[str]) -> dict[str, str]:
    wanted = sorted({code for code in codes if code})
    if not wanted:
        return {}
    return dict(Division.objects.filter(code__in=wanted).values_list("code", "name"))


def township_progress(*, user: Any, batch: AssistBatch) -> list[dict[str, Any]]:
    """Per receiving township (``""``: not routed below the receiving level): counts per status, one query."""
    rows = (
        AssistItem.objects.visible_to(user)
        .filter(batch=batch)
        .annotate(township=Substr("path", 1, 9))
        .values("township", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    table: dict[str, dict[str, Any]] = {}
    for row in rows:
        code = row["township"] if len(row["township"]) == 9 and row["township"].isdigit() else ""
        entry = table.setdefault(code, {"code": code, **dict.fromkeys(STATUS_KEYS, 0), "total": 0})
        entry[row["status"]] += row["n"]
        entry["total"] += row["n"]
    names = division_names(table)
    result = []
    for code in sorted(table):
        entry = table[code]
        entry["name"] = names.get(code, "") if code else str(_("not routed yet"))
        entry["final"] = sum(entry[status] for status in ASSIST_FINAL_STATUSES)
        entry["percent"] = round(100 * entry["final"] / entry["total"]) if entry["total"] else 100
        result.append(entry)
    return result


def totals(progress: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The status counts of a whole batch from its per-township progress rows (no further query)."""
    counts = {**dict.fromkeys(STATUS_KEYS, 0), "total": 0}
    for row in progress:
        for key in (*STATUS_KEYS, "total"):
            counts[key] += row[key]
    counts["final"] = sum(counts[status] for status in ASSIST_FINAL_STATUSES)
    counts["open"] = counts["total"] - counts["final"]
    return counts


@dataclass(frozen=True)
class Countdown:
    key: str
    label: str
    due: datetime.datetime
    window_seconds: int
    seconds_left: int
    done: bool

    @property
    def due_ms(self) -> int:
        """The deadline as milliseconds since the epoch, for the page's script (no date parsing in browsers)."""
        return int(self.due.timestamp() * 1000)

    @property
    def css(self) -> str:
        return {"ok": "success", "warning": "warning", "danger": "danger"}.get(self.level, "secondary")

    @property
    def label_left(self) -> str:
        return str(_("%s left"))

    @property
    def label_overdue(self) -> str:
        return str(_("overdue by %s"))

    @property
    def text(self) -> str:
        """The time left (or overdue) as H:MM:SS, as the page's script keeps it up to date."""
        if self.done:
            return str(_("done"))
        seconds = abs(self.seconds_left)
        span = f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        return (self.label_left if self.seconds_left > 0 else self.label_overdue).replace("%s", span)

    @property
    def level(self) -> str:
        """ok / warning (the last quarter of the window, at most the last hour) / danger (overdue) / done."""
        if self.done:
            return "done"
        if self.seconds_left <= 0:
            return "danger"
        if self.seconds_left <= min(max(self.window_seconds // 4, 1), 3600):
            return "warning"
        return "ok"


def countdowns(
    batch: AssistBatch, *, counts: Mapping[str, int] | None = None, now: datetime.datetime | None = None
) -> list[Countdown]:
    """Time left to locate, to control and to report back. ``counts`` (the viewer's status counts) stop a clock
    whose work is done: nobody pending → located in time; nobody pending/located → controlled."""
    now = now or timezone.now()
    closed = batch.closed_at is not None
    if counts is None:
        pending = unsettled = 1  # unknown: the clocks run
    else:
        pending = counts.get(AssistStatus.PENDING, 0)
        unsettled = pending + counts.get(AssistStatus.LOCATED, 0)
    clocks = (
        ("locate", _("locate"), locate_due(batch), closed or pending == 0),
        ("control", _("control"), control_due(batch), closed or unsettled == 0),
        ("report", _("report back"), batch.deadline_at, closed),
    )
    return [
        Countdown(
            key=key,
            label=str(label),
            due=due,
            window_seconds=int((due - batch.received_at).total_seconds()),
            seconds_left=int((due - now).total_seconds()),
            done=done,
        )
        for key, label, due, done in clocks
    ]


def item_overdue(item: AssistItem, *, now: datetime.datetime | None = None) -> str:
    """ "locate" / "control" when the person is overdue for that step, else ""."""
    now = now or timezone.now()
    if item.batch.closed_at is not None:
        return ""
    if item.status in (AssistStatus.PENDING, AssistStatus.LOCATED) and now > control_due(item.batch):
        return "control"
    if item.status == AssistStatus.PENDING and now > locate_due(item.batch):
        return "locate"
    return ""
