"""Exports of clusters: the list (csv/xlsx through core.exports) and one cluster (xlsx with a members sheet and an
exposures sheet; JSON with nodes and edges), always as the viewer may see them."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from typing import Any

import xlsxwriter
from django.core.serializers.json import DjangoJSONEncoder
from django.http import FileResponse, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from firstline.core.exports import Column
from firstline.core.pii import shown
from firstline.people.models import Person
from firstline.tracing.clusters.selectors import OTHER_JURISDICTION, ClusterGraph
from firstline.tracing.models import (
    Classification,
    ClusterMember,
    ExposureOrigin,
    ExposureStatus,
    MemberRole,
    Setting,
    Venue,
)


def list_columns() -> list[Column]:
    return [
        (_("Cluster"), lambda c: c.label),
        (_("Persons"), lambda c: c.size),
        (_("Cases"), lambda c: c.case_count),
        (_("Exposures"), lambda c: c.exposure_count),
        (_("First exposure"), lambda c: c.first_date),
        (_("Last exposure"), lambda c: c.last_date),
        (_("Active"), lambda c: _("yes") if c.active else _("no")),
        (_("Jurisdiction"), lambda c: c.path),
    ]


def _label(choices: Any, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def _stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d-%H%M")


def _write_sheet(book: Any, name: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    sheet = book.add_worksheet(name[:31])
    bold = book.add_format({"bold": True})
    for col, title in enumerate(header):
        sheet.write_string(0, col, str(title), bold)
    for row_index, row in enumerate(rows, start=1):
        for col, cell in enumerate(row):
            if cell is None or cell == "":
                continue
            # Everything as text: an ID number must never become 6.32701E+17 in the recipient's Excel.
            sheet.write_string(row_index, col, str(cell))


def cluster_xlsx(graph: ClusterGraph, *, full_pii: bool) -> FileResponse:
    """Members sheet (ID numbers and phones masked unless the viewer has full PII) and exposures sheet."""
    members_q = ClusterMember.objects.filter(cluster=graph.cluster).values("person_id")
    pii = {
        pk: (id_number, phone)
        for pk, id_number, phone in Person.objects.visible_to(graph.user)
        .filter(pk__in=members_q)
        .values_list("pk", "id_number", "phone")
    }
    venues = dict(
        Venue.objects.visible_to(graph.user)
        .filter(pk__in={e.venue_id for e in graph.edges if e.venue_id})
        .values_list("pk", "name")
    )
    members = []
    names = {}
    for person_id in graph.persons:
        m = graph.members[person_id]
        name = m.name if m.visible else str(OTHER_JURISDICTION)
        names[person_id] = name
        id_number, phone = pii.get(person_id, ("", ""))
        members.append(
            [
                m.node,
                name,
                shown(id_number, "id_number", full=full_pii) if m.visible else "",
                shown(phone, "phone", full=full_pii) if m.visible else "",
                _label(MemberRole, m.role),
                m.classification and _label(Classification, m.classification),
                m.path if m.visible else "",
            ]
        )
    exposures = [
        [
            e.id,
            graph.members[e.source].node,
            names.get(e.source, ""),
            graph.members[e.target].node,
            names.get(e.target, ""),
            _label(Setting, e.setting),
            timezone.localtime(e.start).strftime("%Y-%m-%d %H:%M"),
            timezone.localtime(e.end).strftime("%Y-%m-%d %H:%M"),
            _label(ExposureStatus, e.status),
            _label(ExposureOrigin, e.origin),
            venues.get(e.venue_id, str(OTHER_JURISDICTION)) if e.venue_id else "",
        ]
        for e in graph.edges
    ]
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - closed by FileResponse
    book = xlsxwriter.Workbook(handle, {"constant_memory": True, "in_memory": False})
    _write_sheet(
        book,
        _("Members"),
        [_("Node"), _("Name"), _("ID number"), _("Phone"), _("Role"), _("Classification"), _("Jurisdiction")],
        members,
    )
    _write_sheet(
        book,
        _("Exposures"),
        [
            _("Exposure"),
            _("Source node"),
            _("Source"),
            _("Exposed node"),
            _("Exposed person"),
            _("Setting"),
            _("From"),
            _("Until"),
            _("Status"),
            _("Found by"),
            _("Venue"),
        ],
        exposures,
    )
    book.close()
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=f"cluster-{graph.cluster.label}-{_stamp()}.xlsx")


def cluster_json(graph: ClusterGraph) -> HttpResponse:
    """Nodes and edges (one node per person, whatever the size), as a download."""
    body = graph.plain()
    response = HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="cluster-{graph.cluster.label}-{_stamp()}.json"'
    return response
