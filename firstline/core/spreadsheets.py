"""Reading uploaded spreadsheets for bulk imports, and writing the error workbook that goes back to the uploader.

- ``open_rows`` streams the rows of one sheet of an .xlsx/.xlsm/.xls/.ods file (python-calamine) or a .csv/.txt
  file (csv module, encoding and delimiter detected) as ``Row(number, cells)`` with 1-based spreadsheet row numbers.
- ``cell_text`` turns a cell into text without mangling phone and ID numbers; ``detect_header`` finds the header
  row under any title rows and maps our field names to columns; ``parse_day`` / ``parse_moment`` read the many
  ways people write dates (including Excel serial numbers).
- ``write_error_workbook`` writes the rejected rows with their row numbers and reasons, every cell as text.

Memory: calamine has no lazy reader. ``iter_rows()`` avoids building Python objects for the whole sheet, but the
sheet's cells are still parsed into one Rust array when the file is opened. Measured with 12-column arrival lists
(open_rows + cell_text on every cell, shared 2-core machine): xlsx 100,000 rows 21-45k rows/s, peak RSS +90-110 MB;
1,000,000 rows 35k rows/s, peak RSS 1.2 GB. CSV is truly streamed: 47-117k rows/s, no RSS growth at either size.
Very large lists are therefore better uploaded as CSV, or the import worker needs the memory.

Pure module: no models, no database. Errors shown to uploaders (``SpreadsheetError``) carry a stable ``code`` and a
lazy translatable message, like ``firstline.core.identity.IdentityError``; the date parsers raise plain
``ValueError`` with a short English reason that the importer wraps into its own row error.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import math
import re
import unicodedata
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, NamedTuple, cast

import python_calamine
import xlsxwriter
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from firstline.core.errors import CodedError

__all__ = [
    "ACCEPTED_EXTENSIONS",
    "REASON_HEADER",
    "ROW_HEADER",
    "TEXT_EXTENSIONS",
    "WORKBOOK_EXTENSIONS",
    "Cell",
    "HeaderMatch",
    "Row",
    "RowSource",
    "SpreadsheetError",
    "cell_text",
    "detect_header",
    "header_key",
    "open_rows",
    "parse_day",
    "parse_moment",
    "write_error_workbook",
]

Cell = str | int | float | bool | datetime.date | datetime.datetime | datetime.time | datetime.timedelta | None

WORKBOOK_EXTENSIONS: Final = (".xlsx", ".xlsm", ".xls", ".ods")
TEXT_EXTENSIONS: Final = (".csv", ".txt")
ACCEPTED_EXTENSIONS: Final = WORKBOOK_EXTENSIONS + TEXT_EXTENSIONS

_ZIP_MAGIC: Final = b"PK\x03\x04"
_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and also password-protected .xlsx
_ZIP_EXTENSIONS: Final = (".xlsx", ".xlsm", ".ods")

_ENCODINGS: Final = ("utf-8", "gb18030")  # Chinese Excel/WPS save "CSV" in GBK; GB18030 is its superset
_ENCODING_CHUNK: Final = 256 * 1024
_SNIFF_BYTES: Final = 64 * 1024
_SNIFF_LINES: Final = 50
_DELIMITERS: Final = (",", "\t", ";")


# --- errors -------------------------------------------------------------------------------------------


class SpreadsheetError(CodedError):
    """The uploaded file cannot be read (wrong format, empty, corrupt, unknown encoding, no header row …)."""


def _err_empty() -> SpreadsheetError:
    return SpreadsheetError("empty", _("The file is empty."))


def _err_corrupt(reason: object) -> SpreadsheetError:
    return SpreadsheetError(
        "corrupt", format_lazy(_("The file could not be read as a spreadsheet ({reason})."), reason=reason)
    )


# --- rows -----------------------------------------------------------------------------------------------


class Row(NamedTuple):
    """One spreadsheet row: its 1-based row number as the spreadsheet program shows it, and its cell values.

    Cells are the values calamine returns (str, int, float, bool, date, datetime, time, timedelta; ``""`` for an
    empty cell) or, for CSV, strings. Rows can have different lengths in CSV files.
    """

    number: int
    cells: list[Cell]


def _is_blank(cells: Sequence[Cell]) -> bool:
    for cell in cells:
        if cell is None or cell == "":
            continue
        if isinstance(cell, str) and not cell.strip():
            continue
        return False
    return True


class RowSource:
    """The rows of one sheet, read lazily; iterate once (like a file). Use it as a context manager.

    ``head(n)`` returns the first rows without consuming them, for header detection and previews.
    """

    def __init__(
        self,
        rows: Iterator[Row],
        *,
        kind: str,
        sheet_name: str | None = None,
        sheet_names: Sequence[str] = (),
        encoding: str | None = None,
        delimiter: str | None = None,
        total_rows_estimate: int | None = None,
        total_bytes: int | None = None,
        bytes_read: Callable[[], int] | None = None,
        closer: Callable[[], None] | None = None,
    ) -> None:
        self._rows = rows
        self._buffer: deque[Row] = deque()
        self._last_number = 0
        self._bytes_read = bytes_read
        self._closer = closer
        self._done = False
        #: "xlsx", "xlsm", "xls", "ods", "csv" or "txt" (from the file name).
        self.kind = kind
        #: The sheet being read (workbooks only) and all sheet names of the workbook, for a sheet picker.
        self.sheet_name = sheet_name
        self.sheet_names = list(sheet_names)
        #: Text files only: the detected encoding and delimiter.
        self.encoding = encoding
        self.delimiter = delimiter
        #: Workbooks: the number of the sheet's last row (exact). Text files: estimated from the average line
        #: length of the first 64 KB (exact when the file is smaller). Blank rows are counted.
        self.total_rows_estimate = total_rows_estimate
        #: Text files: the file size, which ``progress`` uses.
        self.total_bytes = total_bytes

    def __iter__(self) -> RowSource:
        return self

    def __next__(self) -> Row:
        if self._buffer:
            row = self._buffer.popleft()
        else:
            try:
                row = next(self._rows)
            except StopIteration:
                self._done = True
                raise
        self._last_number = row.number
        return row

    def head(self, n: int = 10) -> list[Row]:
        """The next ``n`` (non-blank) rows, kept so that iteration still yields them."""
        while len(self._buffer) < n:
            try:
                self._buffer.append(next(self._rows))
            except StopIteration:
                break
        return list(self._buffer)[:n]

    @property
    def progress(self) -> float:
        """Fraction of the file read so far, 0.0–1.0 (by bytes for text files, by row for workbooks)."""
        if self._done:
            return 1.0
        if self._bytes_read is not None and self.total_bytes:
            return min(1.0, self._bytes_read() / self.total_bytes)
        if self.total_rows_estimate:
            return min(1.0, self._last_number / self.total_rows_estimate)
        return 0.0

    def close(self) -> None:
        """Close the file and drop the parsed sheet; safe to call twice."""
        close_rows = getattr(self._rows, "close", None)
        if close_rows is not None:
            close_rows()
        self._rows = iter(())
        self._buffer.clear()
        self._bytes_read = None  # the file is gone; progress falls back to rows
        if self._closer is not None:
            self._closer()
            self._closer = None

    def __enter__(self) -> RowSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_rows(
    path: str | Path, *, filename: str | None = None, sheet: str | None = None, skip_blank: bool = True
) -> RowSource:
    """Open an uploaded spreadsheet and return its rows as a ``RowSource`` of ``Row(number, cells)``.

    ``filename`` is the name the user uploaded (its extension decides the format; upload temp files may have
    none); ``sheet`` picks a sheet by name, otherwise the first visible worksheet is read. Wholly blank rows are
    skipped unless ``skip_blank=False``; row numbers always count them, so they match what Excel shows.

    The file is opened, checked and (for workbooks) parsed here, so format problems raise ``SpreadsheetError``
    at once. Text files are decoded while iterating; a decoding or quoting error later in the file raises
    ``SpreadsheetError`` from the iteration, naming the row.
    """
    path = Path(path)
    ext = Path(filename or path.name).suffix.lower()
    if ext not in ACCEPTED_EXTENSIONS:
        raise SpreadsheetError(
            "unsupported_format",
            format_lazy(
                _("Files of type “{ext}” cannot be imported. Accepted formats: {formats}."),
                ext=ext or "?",
                formats=", ".join(ACCEPTED_EXTENSIONS),
            ),
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _err_corrupt(exc.strerror or exc) from exc
    if size == 0:
        raise _err_empty()
    if ext in TEXT_EXTENSIONS:
        return _open_text(path, kind=ext[1:], size=size, skip_blank=skip_blank)
    return _open_workbook(path, ext=ext, sheet=sheet, skip_blank=skip_blank)


# --- workbooks (calamine) -------------------------------------------------------------------------------


def _load_workbook(path: Path, *, ext: str) -> python_calamine.CalamineWorkbook:
    with path.open("rb") as handle:
        magic = handle.read(8)
    if not magic.startswith(_ZIP_MAGIC) and magic != _OLE_MAGIC:
        if magic.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            # Many web systems export an HTML table (or Excel 2003 XML) and name it .xls.
            raise SpreadsheetError(
                "disguised_html",
                _(
                    "This file is a web page or XML export, not a real spreadsheet. Open it in Excel or WPS "
                    "and save it as .xlsx, then upload that file."
                ),
            )
        raise _err_corrupt(_("not an Excel or OpenDocument file"))
    expected = magic.startswith(_ZIP_MAGIC) == (ext in _ZIP_EXTENSIONS)
    try:
        if expected and path.suffix.lower() == ext:
            return python_calamine.CalamineWorkbook.from_path(str(path))
        # Wrong extension on disk or a renamed file: let calamine detect the format from the content.
        with path.open("rb") as handle:
            return python_calamine.CalamineWorkbook.from_filelike(handle)
    except python_calamine.PasswordError as exc:
        raise SpreadsheetError(
            "password", _("The file is password-protected. Remove the password and upload it again.")
        ) from exc
    except python_calamine.CalamineError as exc:
        if magic == _OLE_MAGIC and ext in _ZIP_EXTENSIONS:
            # Encrypted OOXML files are wrapped in an OLE container.
            raise SpreadsheetError(
                "password", _("The file is password-protected. Remove the password and upload it again.")
            ) from exc
        raise _err_corrupt(exc) from exc
    except OSError as exc:
        raise _err_corrupt(exc.strerror or exc) from exc


def _pick_sheet(workbook: python_calamine.CalamineWorkbook, sheet: str | None) -> str:
    names = workbook.sheet_names
    if sheet is not None:
        if sheet not in names:
            raise SpreadsheetError(
                "no_sheet",
                format_lazy(
                    _("There is no sheet named “{sheet}”. Sheets: {names}."), sheet=sheet, names=", ".join(names)
                ),
            )
        return sheet
    # The first sheet the user sees: templates often hide a sheet of allowed values in front.
    for meta in workbook.sheets_metadata:
        if (
            meta.visible == python_calamine.SheetVisibleEnum.Visible
            and meta.typ == python_calamine.SheetTypeEnum.WorkSheet
        ):
            return meta.name
    if not names:
        raise _err_empty()
    return names[0]


def _open_workbook(path: Path, *, ext: str, sheet: str | None, skip_blank: bool) -> RowSource:
    workbook = _load_workbook(path, ext=ext)
    try:
        name = _pick_sheet(workbook, sheet)
        data = workbook.get_sheet_by_name(name)
        sheet_names = list(workbook.sheet_names)
    except python_calamine.CalamineError as exc:
        raise _err_corrupt(exc) from exc
    finally:
        workbook.close()  # the sheet keeps its own copy of the cells; the zip/OLE reader can go
    start, end = data.start, data.end
    if start is None or end is None or data.height == 0:
        raise _err_empty()
    return RowSource(
        _workbook_rows(data, col_offset=start[1], skip_blank=skip_blank),
        kind=ext[1:],
        sheet_name=name,
        sheet_names=sheet_names,
        total_rows_estimate=end[0] + 1,
    )


def _workbook_rows(data: python_calamine.CalamineSheet, *, col_offset: int, skip_blank: bool) -> Iterator[Row]:
    # iter_rows() (python-calamine 0.9) yields empty rows for the blank rows above the data, so the n-th row
    # yielded is spreadsheet row n; it does not pad blank columns on the left, so we do, to keep column
    # indexes equal to spreadsheet columns (A = 0).
    pad: list[Cell] = [""] * col_offset
    number = 0
    for values in data.iter_rows():
        number += 1
        cells: list[Cell] = [*pad, *values] if col_offset else cast("list[Cell]", values)
        if skip_blank and _is_blank(cells):
            continue
        yield Row(number, cells)


# --- text files (csv) -----------------------------------------------------------------------------------


def _detect_encoding(handle: IO[bytes]) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel "Unicode text"), else GB18030; decided on the first
    chunk that contains a non-ASCII byte, so a long ASCII-only start does not hide GBK names further down."""
    chunk = handle.read(_ENCODING_CHUNK)
    if chunk.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    while chunk.isascii():
        chunk = handle.read(_ENCODING_CHUNK)
        if not chunk:
            return "utf-8"
    at_end = len(chunk) < _ENCODING_CHUNK
    for encoding in _ENCODINGS:
        try:
            codecs.getincrementaldecoder(encoding)().decode(chunk, final=at_end)
        except UnicodeDecodeError:
            continue
        return encoding
    raise SpreadsheetError(
        "encoding",
        _("The text encoding of the file is not recognised (UTF-8 or GBK expected). Save it as “CSV UTF-8”."),
    )


def _sniff_delimiter(sample: str) -> str:
    """The delimiter among comma, tab and semicolon that splits the sample's lines most consistently."""
    lines = sample.splitlines()[:_SNIFF_LINES]
    best, best_score = ",", (False, 0, 0)
    for delimiter in _DELIMITERS:
        counts = [len(fields) for fields in csv.reader(lines, delimiter=delimiter) if fields]
        if not counts:
            continue
        width, agreeing = Counter(counts).most_common(1)[0]
        # More than one column beats one column; then more lines agreeing (a title row above the header
        # disagrees); then more columns. Ties keep the earlier delimiter (comma first).
        score = (width > 1, agreeing, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _open_text(path: Path, *, kind: str, size: int, skip_blank: bool) -> RowSource:
    handle = path.open("rb")
    try:
        encoding = _detect_encoding(handle)
        handle.seek(0)
        raw = handle.read(_SNIFF_BYTES)
        at_end = len(raw) < _SNIFF_BYTES
        sample = codecs.getincrementaldecoder(encoding)(errors="replace").decode(raw, final=at_end)
        if not at_end:
            sample = sample[: sample.rfind("\n") + 1] or sample  # drop the cut-off last line
        sample = sample.removeprefix("\ufeff")
        if not sample.strip():
            raise _err_empty()
        delimiter = _sniff_delimiter(sample)
        lines = sample.count("\n") or 1
        estimate = lines if at_end else max(lines, round(size * lines / len(raw)))
        handle.seek(0)
        text = io.TextIOWrapper(handle, encoding=encoding, errors="replace", newline="")
    except BaseException:
        handle.close()
        raise
    return RowSource(
        _text_rows(text, encoding=encoding, delimiter=delimiter, skip_blank=skip_blank),
        kind=kind,
        encoding=encoding,
        delimiter=delimiter,
        total_rows_estimate=estimate,
        total_bytes=size,
        bytes_read=handle.tell,
        closer=text.close,
    )


def _text_rows(text: IO[str], *, encoding: str, delimiter: str, skip_blank: bool) -> Iterator[Row]:
    # Row numbers count records, not physical lines: a quoted cell with a line break is one row in Excel too.
    # The text is decoded with errors="replace" and each row checked for U+FFFD, because the decoder reads ahead
    # of the csv reader in 8 KB chunks: a strict decoder would fail rows before the broken one.
    number = 0
    try:
        for fields in csv.reader(text, delimiter=delimiter):
            number += 1
            if "\ufffd" in "".join(fields):
                raise SpreadsheetError(
                    "encoding",
                    format_lazy(
                        _("Row {row} is not valid {encoding} text; the file mixes encodings. Save it as “CSV UTF-8”."),
                        row=number,
                        encoding=encoding,
                    ),
                )
            cells: list[Cell] = list(fields)
            if skip_blank and _is_blank(cells):
                continue
            yield Row(number, cells)
    except csv.Error as exc:
        raise SpreadsheetError(
            "bad_csv", format_lazy(_("Row {row}: the CSV file is malformed ({reason})."), row=number + 1, reason=exc)
        ) from exc


# --- cell values ----------------------------------------------------------------------------------------

_SCIENTIFIC_FROM: Final = 1e15  # Excel keeps 15 significant digits; beyond that the digits are already lost


def cell_text(value: object) -> str:
    """A cell as text: ``None`` → ``""``; strings stripped (and a CSV ``="0123"`` text guard unwrapped);
    ``TRUE``/``FALSE``; integral floats below 1e15 as integers (``13912345678.0`` → ``"13912345678"``);
    larger floats in Excel's scientific notation (``6.32701E+17``: the digits are gone and the ID check must
    reject it, never guess); other floats in short form (``0.1 + 0.2`` → ``"0.3"``); dates and times as ISO text.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        text = value.strip()
        if len(text) >= 3 and text.startswith('="') and text.endswith('"'):
            text = text[2:-1].strip()
        return text
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < _SCIENTIFIC_FROM:
            return str(int(value))
        # 15 significant digits like Excel: "6.32701E+17", "1E+15", "3.14159".
        return f"{value:.15G}"
    if isinstance(value, datetime.date | datetime.time):  # includes datetime
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return str(value)
    return str(value).strip()


# --- header detection -----------------------------------------------------------------------------------

_RE_BRACKETED: Final = re.compile(r"[(\[【〔{<《][^)\]】〕}>》]*[)\]】〕}>》]")
_RE_HEADER_NOISE: Final = re.compile(r"[\s*:_\-.★☆]+")


def header_key(text: str) -> str:
    """The comparable form of a header: NFKC, bracketed notes such as ``（必填）`` removed, spaces, asterisks,
    colons, underscores, dashes and dots removed, case-folded (``"*身份证号码（必填）"`` → ``"身份证号码"``,
    ``"ID No."`` → ``"idno"``)."""
    text = unicodedata.normalize("NFKC", text)
    text = _RE_BRACKETED.sub("", text)
    return _RE_HEADER_NOISE.sub("", text).casefold()


@dataclass(frozen=True)
class HeaderMatch:
    """Where the header row is and which column holds which field (column indexes are 0-based)."""

    header_row: int
    columns: dict[str, int]
    header: list[str]
    #: (column index, header text) of non-empty header cells that match no field.
    unrecognised: list[tuple[int, str]]
    #: (field, column index, header text) of further columns naming a field already mapped; the first one wins.
    duplicates: list[tuple[str, int, str]]

    def pick(self, cells: Sequence[Any]) -> dict[str, Any]:
        """The raw values of the mapped fields in a data row (``""`` where the row is too short)."""
        width = len(cells)
        return {field: cells[index] if index < width else "" for field, index in self.columns.items()}

    def missing(self, required: Iterable[str]) -> list[str]:
        """The required fields that no column maps to."""
        return [field for field in required if field not in self.columns]


def _synonym_index(synonyms: Mapping[str, Sequence[str]]) -> dict[str, str]:
    index: dict[str, str] = {}
    for field, names in synonyms.items():
        for name in (field, *names):
            key = header_key(name)
            if index.setdefault(key, field) != field:
                raise ValueError(f"header {name!r} is a synonym of both {index[key]!r} and {field!r}")
    return index


def detect_header(
    rows_head: Sequence[Sequence[Any]], synonyms: Mapping[str, Sequence[str]], *, max_scan: int = 10
) -> HeaderMatch:
    """Find the header row among the first ``max_scan`` rows and map fields to columns.

    ``rows_head`` is either ``RowSource.head()`` (``Row`` items, whose numbers are used) or plain lists of cells
    (row 1 first). The row naming the most distinct fields wins (titles such as "XX社区返乡人员登记表" above
    it name none); ties go to the upper row. Headers are compared with ``header_key``; each field's own name
    is accepted as well as its synonyms. Raises ``SpreadsheetError("no_header")`` when no row names any field.
    """
    index = _synonym_index(synonyms)
    best: tuple[int, int, Sequence[Any]] | None = None  # (score, row number, cells)
    for position, row in enumerate(rows_head[:max_scan]):
        number, cells = (row.number, row.cells) if isinstance(row, Row) else (position + 1, row)
        fields = {index.get(header_key(cell_text(cell))) for cell in cells} - {None}
        if fields and (best is None or len(fields) > best[0]):
            best = (len(fields), number, cells)
    if best is None:
        examples = "、".join(names[0] for names in list(synonyms.values())[:3] if names)
        raise SpreadsheetError(
            "no_header",
            format_lazy(
                _("No header row found in the first {n} rows; expected column names such as {examples}."),
                n=max_scan,
                examples=examples,
            ),
        )
    _score, number, cells = best
    header = [cell_text(cell) for cell in cells]
    columns: dict[str, int] = {}
    unrecognised: list[tuple[int, str]] = []
    duplicates: list[tuple[str, int, str]] = []
    for column, text in enumerate(header):
        if not text:
            continue
        field = index.get(header_key(text))
        if field is None:
            unrecognised.append((column, text))
        elif field in columns:
            duplicates.append((field, column, text))
        else:
            columns[field] = column
    return HeaderMatch(
        header_row=number, columns=columns, header=header, unrecognised=unrecognised, duplicates=duplicates
    )


# --- dates and times ------------------------------------------------------------------------------------

# Excel's 1900 date system: serial 1 is 1900-01-01 and serial 60 is 29 February 1900, a day that never existed
# (kept for Lotus 1-2-3 compatibility). From serial 61 on, day N is 1899-12-30 + N; below 60, 1899-12-31 + N.
_EXCEL_EPOCH: Final = datetime.date(1899, 12, 30)
_EXCEL_LEAP_BUG: Final = 60
_EXCEL_MAX_SERIAL: Final = 2958465  # 9999-12-31
_SECONDS_PER_DAY: Final = 86400

_RE_DATE_SEP: Final = re.compile(r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})", re.ASCII)
_RE_DATE_CN: Final = re.compile(r"([0-9]{4})\s*年\s*([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*[日号]?", re.ASCII)
_RE_DATE_CN_NO_YEAR: Final = re.compile(r"([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*[日号]?", re.ASCII)
_RE_DATE_COMPACT: Final = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})", re.ASCII)
_RE_TIME_COLON: Final = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?", re.ASCII)
_RE_TIME_CN: Final = re.compile(r"([0-9]{1,2})\s*[时点]\s*(?:([0-9]{1,2})\s*分?\s*(?:([0-9]{1,2})\s*秒)?)?", re.ASCII)
# Serials typed or stored as text: 5 digits cover 1927-05-18 … 2173-10-14; shorter numbers ("2021", "10.8") are
# far more likely something else than a day of the 1900s, so only numeric cells may use small serials.
_RE_SERIAL_TEXT: Final = re.compile(r"[0-9]{5}(?:\.[0-9]+)?", re.ASCII)


def _describe(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


class _DateError(ValueError):
    """A ValueError whose message is final (the inner parsers' bare ValueErrors get the generic one)."""


def _not_a_date(value: object, why: str = "") -> _DateError:
    return _DateError(f"not a date: {_describe(value)}" + (f" ({why})" if why else ""))


def _from_serial(serial: float, original: object) -> tuple[datetime.date | None, datetime.time | None]:
    """An Excel serial number: whole days since 1899-12-30 (see the leap-year note), the fraction is the time.
    A value below 1 is a time of day alone."""
    if not math.isfinite(serial) or serial < 0 or serial >= _EXCEL_MAX_SERIAL + 1:
        raise _not_a_date(original, "out of range")
    days = math.floor(serial)
    seconds = round((serial - days) * _SECONDS_PER_DAY)
    if seconds == _SECONDS_PER_DAY:  # 0.99999999 rounds up to the next midnight
        days, seconds = days + 1, 0
    moment = datetime.time(seconds // 3600, seconds // 60 % 60, seconds % 60)
    if days == 0:
        return None, moment
    if days == _EXCEL_LEAP_BUG:
        raise _not_a_date(original, "Excel day 60 is 1900-02-29, which does not exist")
    base = _EXCEL_EPOCH if days > _EXCEL_LEAP_BUG else _EXCEL_EPOCH + datetime.timedelta(days=1)
    return base + datetime.timedelta(days=days), (moment if seconds else None)


def _year_less(month: int, day: int, today: datetime.date) -> datetime.date:
    # "10月8日": the occurrence closest to today (so "12月30日" typed on 2 January is last year's).
    candidates = []
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            candidates.append(datetime.date(year, month, day))
        except ValueError:
            continue
    if not candidates:
        raise ValueError("no such day")
    return min(candidates, key=lambda candidate: abs((candidate - today).days))


def _parse_time_text(text: str) -> datetime.time | None:
    for pattern in (_RE_TIME_COLON, _RE_TIME_CN):
        match = pattern.fullmatch(text)
        if match:
            hour, minute, second, fraction = (*match.groups(), None)[:4]
            micro = int((fraction or "0").ljust(6, "0"))
            return datetime.time(int(hour or 0), int(minute or 0), int(second or 0), micro)
    return None


def _normalize_text(text: str) -> str:
    # NFKC turns full-width digits and punctuation (２０２１／１０／８, １４：３０) into ASCII.
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _aware_iso(text: str) -> datetime.datetime | None:
    """Full ISO 8601 with an offset ("2021-10-08T14:30:00+08:00"), as other systems' exports write it."""
    text = _normalize_text(text)
    if len(text) > 16 and text[4:5] == "-" and text[10:11] == "T":
        try:
            parsed = datetime.datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else None
    return None


def _split_text(text: str, today: datetime.date) -> tuple[datetime.date | None, datetime.time | None]:
    original = text
    text = _normalize_text(text)
    if not text:
        raise _DateError("no date given")
    try:
        match = _RE_DATE_SEP.match(text) or _RE_DATE_CN.match(text)
        if match:
            groups = match.groups()
            year, month, day = (groups[0], groups[2], groups[3]) if len(groups) == 4 else groups
            date = datetime.date(int(year), int(month), int(day))
            rest = text[match.end() :].lstrip(" T")
            if not rest:
                return date, None
            moment = _parse_time_text(rest)
            if moment is None:
                aware = _aware_iso(text)
                if aware is None:
                    raise ValueError("bad time part")
                return aware.date(), aware.time()
            return date, moment
        match = _RE_DATE_CN_NO_YEAR.fullmatch(text)
        if match:
            return _year_less(int(match[1]), int(match[2]), today), None
        match = _RE_DATE_COMPACT.fullmatch(text)
        if match:
            return datetime.date(int(match[1]), int(match[2]), int(match[3])), None
        if _RE_SERIAL_TEXT.fullmatch(text):
            return _from_serial(float(text), original)
        moment = _parse_time_text(text)
        if moment is not None:
            return None, moment
    except _DateError:
        raise
    except ValueError:  # datetime.date/time refused the numbers (month 13, 25 o'clock …)
        raise _not_a_date(original) from None
    raise _not_a_date(original)


def _split(value: object, today: datetime.date) -> tuple[datetime.date | None, datetime.time | None]:
    """(day, time of day) of a cell; either may be None (a time cell has no day, a date cell no time)."""
    if isinstance(value, datetime.datetime):
        return value.date(), value.time()
    if isinstance(value, datetime.date):
        return value, None
    if isinstance(value, datetime.time):
        return None, value.replace(tzinfo=None)
    if isinstance(value, datetime.timedelta):
        # calamine returns durations for cells formatted like [h]:mm; below a day it is a time of day.
        if datetime.timedelta(0) <= value < datetime.timedelta(days=1):
            return None, (datetime.datetime.min + value).time()
        raise _not_a_date(value)
    if isinstance(value, bool) or value is None:
        raise _not_a_date(value)
    if isinstance(value, int | float):
        if (isinstance(value, int) or value.is_integer()) and 10_000_000 <= value <= 99_999_999:
            digits = str(int(value))  # 20211008 typed as a number
            try:
                return datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:])), None
            except ValueError:
                raise _not_a_date(value) from None
        return _from_serial(float(value), value)
    if isinstance(value, str):
        return _split_text(value, today)
    raise _not_a_date(value)


def parse_day(value: object, *, today: datetime.date | None = None) -> datetime.date:
    """A day from a cell: ``date``/``datetime`` objects, ``2021-10-08``, ``2021/10/8``, ``2021.10.8``,
    ``2021年10月8日`` (full-width digits too), ``20211008``, Excel serial numbers (``44477``; as text only with
    5 digits), with an optional time part that is checked and dropped (``2021-10-08 14:30``).

    ``10月8日`` without a year is the occurrence nearest to ``today`` (default: the system date; pass
    ``timezone.localdate()``). Raises ``ValueError`` with a short reason (``not a date: '2021-13-40'``). Whether
    the day is plausible (not in the future, not before 2020 …) is the caller's rule.
    """
    day, _time = _split(value, today or timezone.localdate())
    if day is None:
        raise _not_a_date(value, "a time without a date")
    return day


def parse_moment(
    value: object, *, tz: datetime.tzinfo, day: datetime.date | None = None, today: datetime.date | None = None
) -> datetime.datetime:
    """An aware datetime in ``tz`` from a cell holding a date and time, e.g. ``2021-10-08 14:30``,
    ``2021/10/8 14:30:15``, ``2021年10月8日 14时30分``, an Excel serial with a fraction (``44477.6041666667``) or a
    calamine ``datetime``. A day alone means local midnight. A time alone (``14:30``, ``14点30``, a ``time``
    cell, a serial below 1) needs ``day`` (e.g. from a separate date column). Aware input is converted to ``tz``.
    Raises ``ValueError`` with a short reason.
    """
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(tz)
    if isinstance(value, str) and (aware := _aware_iso(value)) is not None:
        return aware.astimezone(tz)
    found_day, found_time = _split(value, today or timezone.localdate())
    if found_day is None:
        if day is None:
            raise ValueError(f"a time without a date: {_describe(value)}")
        found_day = day
    return datetime.datetime.combine(found_day, found_time or datetime.time(), tzinfo=tz)


# --- error workbook -------------------------------------------------------------------------------------

ROW_HEADER: Final = "行号 / row"
REASON_HEADER: Final = "原因 / reason"


def write_error_workbook(
    path: str | Path, *, header: list[str], rows: Iterable[tuple[int, Sequence[Cell], str]]
) -> None:
    """Write rejected rows as an .xlsx: "行号 / row", "原因 / reason", then the original columns.

    The row number and reason come first so that ragged rows (longer than the header) never overwrite them, and
    so that a worker sees the reason without scrolling; the file can be corrected and uploaded again (the two
    extra columns are reported as unrecognised and ignored). Every cell is written as text and the columns are
    formatted as text, so IDs typed into the file later are not turned into 6.32701E+17 either. Streams
    (xlsxwriter constant-memory mode).
    """
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    try:
        sheet = workbook.add_worksheet("errors")
        text = workbook.add_format({"num_format": "@"})
        bold = workbook.add_format({"num_format": "@", "bold": True})
        sheet.set_column(0, 0, 10)
        sheet.set_column(1, 1, 40, text)
        sheet.set_column(2, 2 + max(len(header), 1) - 1, 16, text)
        sheet.freeze_panes(1, 0)
        for column, title in enumerate([ROW_HEADER, REASON_HEADER, *header]):
            sheet.write_string(0, column, title, bold)
        for line, (number, cells, reason) in enumerate(rows, start=1):
            sheet.write_number(line, 0, number)  # our own integer: a number, so the file sorts by row
            sheet.write_string(line, 1, reason, text)
            for column, cell in enumerate(cells, start=2):
                value = cell_text(cell)
                if value:
                    sheet.write_string(line, column, value, text)
    finally:
        workbook.close()
