"""Reading a CSV/xlsx list of risk areas into loader rows (for the upload page and ``load_risk_areas``)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from firstline.core.spreadsheets import SpreadsheetError, cell_text, detect_header, open_rows

# Header names accepted for each column, English and Chinese (compared without case, spaces or notes in brackets).
FIELD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "place": ("地区", "地点", "风险地区", "地区名称", "区域", "地址", "place", "area", "place as published"),
    "division_code": ("区划代码", "行政区划代码", "代码", "division code", "code"),
    "level": ("风险等级", "等级", "级别", "level", "risk level"),
    "effective_from": (
        "起始日期",
        "生效日期",
        "开始日期",
        "起始时间",
        "生效时间",
        "effective from",
        "listed from",
        "from",
        "at this level since",
    ),
    "lifted_at": ("解除日期", "解除时间", "解封日期", "lifted at", "lifted on", "lifted"),
    "source_notice": ("来源通告", "通告", "依据", "source notice", "notice", "source"),
}
REQUIRED_FIELDS = ("place", "level", "effective_from")


class FileProblem(ValueError):
    """The file as a whole cannot be loaded (format, header, size); the message says why."""


@contextmanager
def _local_path(source: Path | str | UploadedFile) -> Iterator[Path]:
    if isinstance(source, Path | str):
        yield Path(source)
        return
    temporary = getattr(source, "temporary_file_path", None)
    if temporary is not None:
        yield Path(temporary())
        return
    suffix = Path(source.name or "").suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        for chunk in source.chunks():
            handle.write(chunk)
        handle.flush()
        yield Path(handle.name)


def read_rows(
    source: Path | str | UploadedFile, *, filename: str | None = None, max_rows: int | None = None
) -> list[dict[str, Any]]:
    """The data rows as dicts of text by field, each with its spreadsheet ``row`` number (header row = 1 …)."""
    try:
        with _local_path(source) as path, open_rows(path, filename=filename or path.name) as rows:
            header = detect_header(rows.head(10), FIELD_SYNONYMS)
            missing = header.missing(REQUIRED_FIELDS)
            if missing:
                raise FileProblem(
                    _("Columns missing: %(missing)s (found: %(found)s).")
                    % {"missing": ", ".join(missing), "found": ", ".join(h for h in header.header if h) or "-"}
                )
            result: list[dict[str, Any]] = []
            for row in rows:
                if row.number <= header.header_row:
                    continue
                if max_rows is not None and len(result) >= max_rows:
                    raise FileProblem(
                        _("The file has more than %(n)d rows; load it with the load_risk_areas command.")
                        % {"n": max_rows}
                    )
                values = {field: cell_text(value) for field, value in header.pick(row.cells).items()}
                result.append({"row": row.number, **values})
            return result
    except SpreadsheetError as exc:
        raise FileProblem(str(exc)) from exc


def rows_for_session(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows as JSON-friendly values (they are text already; kept as a seam should that change)."""
    return [{key: value if isinstance(value, int | str) else str(value) for key, value in row.items()} for row in rows]
