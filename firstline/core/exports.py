"""Exports of any list as CSV (UTF-8 with BOM, so Excel opens Chinese correctly) or xlsx.

Rows are streamed from the queryset iterator; xlsx uses xlsxwriter's constant-memory mode, so a
100,000-row export does not hold the workbook in memory.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import xlsxwriter
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils import timezone

Column = tuple[str, Callable[[Any], Any]]  # header, value of a row
FORMATS = ("csv", "xlsx")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_stream(rows: Iterable[Any], columns: Sequence[Column]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"
    yield writer.writerow([str(header) for header, _value in columns])
    for row in rows:
        yield writer.writerow(["" if (v := value(row)) is None else v for _header, value in columns])


def export_response(
    *, rows: Iterable[Any], columns: Sequence[Column], basename: str, fmt: str
) -> HttpResponse | StreamingHttpResponse | FileResponse:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        response = StreamingHttpResponse(_csv_stream(rows, columns), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{basename}-{stamp}.csv"'
        return response
    if fmt != "xlsx":
        raise ValueError(f"unknown export format {fmt!r}")
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - closed by FileResponse
    workbook = xlsxwriter.Workbook(handle, {"constant_memory": True, "in_memory": False})
    sheet = workbook.add_worksheet(basename[:31])
    bold = workbook.add_format({"bold": True})
    for col, (header, _value) in enumerate(columns):
        sheet.write_string(0, col, str(header), bold)
    for row_index, row in enumerate(rows, start=1):
        for col, (_header, value) in enumerate(columns):
            cell = value(row)
            if cell is None:
                continue
            # Everything as text: an ID number must never become 6.32701E+17 in the recipient's Excel.
            sheet.write_string(row_index, col, str(cell))
    workbook.close()
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=f"{basename}-{stamp}.xlsx")


def audited_export(
    request: Any, *, rows: Iterable[Any], columns: Sequence[Column], basename: str, note: str, permission: str
) -> HttpResponse | StreamingHttpResponse | FileResponse:
    """A list page's ``?export=csv|xlsx``: the permission checked, the export audited, the file streamed.

    400 for an unknown format; PermissionDenied (403) without ``permission``.
    """
    from django.http import HttpResponseBadRequest
    from django.utils.translation import gettext as _

    from firstline.core import audit
    from firstline.core.models import AuditAction
    from firstline.core.scoping import require

    require(request.user, permission)
    fmt = request.GET.get("export", "")
    if fmt not in FORMATS:
        return HttpResponseBadRequest(_("Unknown export format: use csv or xlsx."))
    audit.record(actor=request.user, action=AuditAction.EXPORT, note=f"{basename} {fmt} {note}"[:1000])
    return export_response(rows=rows, columns=columns, basename=basename, fmt=fmt)
