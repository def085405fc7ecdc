"""The feedback workbook for the level that pushed the list: one row per person, their columns and the outcome."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _

from firstline.core import audit
from firstline.core.exports import Column, export_response
from firstline.core.models import AuditAction
from firstline.core.pii import sees_full_pii, shown
from firstline.people.models import IdType
from firstline.regions.models import TOWNSHIP_LEVELS, Division
from firstline.screening.assist.routing import township_of
from firstline.screening.models import AssistBatch, AssistItem


def _moment(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def feedback_columns(*, full: bool, townships: dict[str, str]) -> list[Column]:
    def measure(item: AssistItem, attribute: str) -> Any:
        if item.measure is None:
            return ""
        if attribute == "type":
            return item.measure.get_measure_type_display()
        return getattr(item.measure, attribute).isoformat()

    return [
        (_("Row"), lambda i: i.row_number),
        (_("Name"), lambda i: i.name),
        (_("ID type"), lambda i: IdType(i.id_type).label if i.id_type in IdType.values else i.id_type),
        (_("ID number"), lambda i: shown(i.id_number, "id_number", full=full)),
        (_("Phone"), lambda i: shown(i.phone, "phone", full=full)),
        (_("Address"), lambda i: i.address),
        (_("Coming from"), lambda i: i.origin),
        (_("Reason"), lambda i: i.reason),
        (_("Township"), lambda i: townships.get(township_of(i.path), "")),
        (_("Jurisdiction"), lambda i: i.path),
        (_("Status"), lambda i: i.get_status_display()),
        (_("Located at"), lambda i: _moment(i.located_at)),
        (_("Controlled at"), lambda i: _moment(i.controlled_at)),
        (_("Measure"), lambda i: measure(i, "type")),
        (_("Measure start"), lambda i: measure(i, "start")),
        (_("Measure end"), lambda i: measure(i, "end")),
        (_("Left for"), lambda i: i.left_to),
        (_("Transferred to"), lambda i: i.transferred_to),
        (_("Outcome"), lambda i: i.outcome_note),
    ]


def feedback_response(*, user: Any, batch: AssistBatch, fmt: str = "xlsx") -> HttpResponseBase:
    """The user's visible people of the batch as xlsx (or csv); personal data as the user may see it; audited."""
    items = (
        AssistItem.objects.visible_to(user).filter(batch=batch).select_related("measure").order_by("row_number", "id")
    )
    townships = dict(
        Division.objects.filter(code__startswith=settings.FIRSTLINE_CITY_CODE, level__in=TOWNSHIP_LEVELS).values_list(
            "code", "name"
        )
    )
    full = sees_full_pii(user)
    audit.record(
        actor=user,
        action=AuditAction.EXPORT,
        instance=batch,
        note=f"协查 feedback {fmt} batch={batch.pk} full_pii={full}",
    )
    basename = f"assist-feedback-{batch.pk}"
    return export_response(
        rows=items.iterator(chunk_size=2000),
        columns=feedback_columns(full=full, townships=townships),
        basename=basename,
        fmt=fmt,
    )
