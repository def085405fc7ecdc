"""Tests for firstline.core.spreadsheets: reading uploads, cell text, header detection, dates, error workbooks.

Files are written into ``tmp_path``: xlsx with xlsxwriter, ods by hand (an ODS file is a zip of XML), xls from a
small embedded fixture. Errors are compared by ``SpreadsheetError.code``; messages are rendered only where the
message content is the behaviour under test.
"""

from __future__ import annotations

import base64
import codecs
import datetime
import pickle
import zipfile
import zlib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import python_calamine
import xlsxwriter
from django.utils import translation

from firstline.core.spreadsheets import (
    ACCEPTED_EXTENSIONS,
    REASON_HEADER,
    ROW_HEADER,
    HeaderMatch,
    Row,
    SpreadsheetError,
    cell_text,
    detect_header,
    header_key,
    open_rows,
    parse_day,
    parse_moment,
    write_error_workbook,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
SYNONYMS = {
    "name": ("姓名", "full name"),
    "id_number": ("身份证号", "身份证号码", "id number"),
    "phone": ("手机号", "联系电话", "phone"),
    "arrival_date": ("抵达日期", "arrival date"),
}


def write_xlsx(path: Path, rows: dict[int, list[object]], *, sheet: str = "Sheet1") -> Path:
    """An xlsx with ``rows`` = {0-based row index: cells}; dates get a date format, like a user's file."""
    workbook = xlsxwriter.Workbook(str(path))
    worksheet = workbook.add_worksheet(sheet)
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for index, cells in rows.items():
        for column, value in enumerate(cells):
            if isinstance(value, datetime.datetime):
                worksheet.write_datetime(index, column, value, moment)
            elif isinstance(value, datetime.date):
                worksheet.write_datetime(index, column, value, day)
            elif value is not None:
                worksheet.write(index, column, value)
    workbook.close()
    return path


def read_all(path: Path, **kwargs: object) -> list[Row]:
    with open_rows(path, **kwargs) as source:  # type: ignore[arg-type]
        return list(source)


def error_code(path: Path, **kwargs: object) -> str:
    with pytest.raises(SpreadsheetError) as caught:
        read_all(path, **kwargs)
    return caught.value.code


# --- xlsx -----------------------------------------------------------------------------------------------


def test_xlsx_round_trip_keeps_row_numbers_dates_and_numbers(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "list.xlsx",
        {
            0: ["XX社区返乡人员登记表"],
            1: ["姓名", "身份证号", "抵达日期", "手机号", "抵达时间"],
            2: ["张三", "11010519491231002X", datetime.date(2021, 10, 8), 13912345678, None],
            4: ["李四", 6.32701e17, datetime.date(2021, 10, 9), "13800000000", datetime.datetime(2021, 10, 9, 14, 30)],
        },
    )

    rows = read_all(path)

    assert [row.number for row in rows] == [1, 2, 3, 5]  # the blank row 4 is skipped but still counted
    assert rows[0].cells[0] == "XX社区返乡人员登记表"
    assert rows[2].cells[:4] == ["张三", "11010519491231002X", datetime.date(2021, 10, 8), 13912345678.0]
    assert rows[3].cells[2] == datetime.date(2021, 10, 9)
    assert rows[3].cells[4] == datetime.datetime(2021, 10, 9, 14, 30)
    assert [cell_text(cell) for cell in rows[3].cells] == [
        "李四",
        "6.32701E+17",
        "2021-10-09",
        "13800000000",
        "2021-10-09T14:30:00",
    ]


def test_xlsx_blank_rows_kept_when_asked(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "list.xlsx", {0: ["姓名"], 2: ["张三"]})

    rows = read_all(path, skip_blank=False)

    assert [row.number for row in rows] == [1, 2, 3]
    assert rows[1].cells == [""]


def test_xlsx_data_starting_below_and_right_keeps_spreadsheet_coordinates(tmp_path: Path) -> None:
    # Given a sheet whose first cell is C3 (rows 1-2 and columns A-B empty)
    path = write_xlsx(tmp_path / "offset.xlsx", {2: [None, None, "姓名", "手机号"], 3: [None, None, "张三", "139"]})

    # When it is read
    rows = read_all(path)

    # Then row numbers and column indexes are those Excel shows (C = index 2)
    assert rows == [Row(3, ["", "", "姓名", "手机号"]), Row(4, ["", "", "张三", "139"])]


def test_xlsx_reads_first_visible_sheet_or_named_sheet(tmp_path: Path) -> None:
    path = tmp_path / "two.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    hidden = workbook.add_worksheet("字典")
    hidden.write(0, 0, "allowed values")
    visible = workbook.add_worksheet("登记")
    visible.write(0, 0, "姓名")
    visible.activate()  # xlsxwriter refuses to hide the active sheet
    hidden.hide()
    workbook.add_worksheet("其他").write(0, 0, "other")
    workbook.close()

    with open_rows(path) as source:
        assert source.sheet_name == "登记"
        assert source.sheet_names == ["字典", "登记", "其他"]
        assert list(source) == [Row(1, ["姓名"])]
    assert read_all(path, sheet="其他") == [Row(1, ["other"])]
    assert error_code(path, sheet="nope") == "no_sheet"


def test_xlsx_total_rows_progress_and_head(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "list.xlsx", {i: [f"r{i + 1}"] for i in range(10)})

    with open_rows(path) as source:
        assert source.kind == "xlsx"
        assert source.total_rows_estimate == 10
        assert source.progress == 0.0
        head = source.head(3)
        assert [row.number for row in head] == [1, 2, 3]
        assert source.progress == 0.0  # peeking does not consume
        first_five = [next(source) for _ in range(5)]
        assert [row.number for row in first_five] == [1, 2, 3, 4, 5]
        assert source.progress == 0.5
        assert [row.number for row in source] == [6, 7, 8, 9, 10]
        assert source.progress == 1.0


def test_closed_source_yields_nothing_and_closes_twice(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("姓名\n张三\n李四\n")
    source = open_rows(path)
    assert next(source) == Row(1, ["姓名"])

    source.close()
    source.close()

    assert list(source) == []


def test_upload_name_decides_the_format_when_the_temp_file_has_none(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "list.xlsx", {0: ["姓名"]})
    upload = path.rename(tmp_path / "tmpab12cd.upload")

    assert read_all(upload, filename="返乡人员.xlsx") == [Row(1, ["姓名"])]


def test_xlsx_renamed_to_xls_is_still_read(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "list.xlsx", {0: ["姓名"]})

    assert read_all(path, filename="list.xls") == [Row(1, ["姓名"])]


# --- ods and xls ----------------------------------------------------------------------------------------

# calamine's ODS reader expects no whitespace between cells, as LibreOffice writes it.
_ODS_CONTENT = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
    ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
    '<office:body><office:spreadsheet><table:table table:name="登记">'
    "<table:table-row>"
    '<table:table-cell office:value-type="string"><text:p>姓名</text:p></table:table-cell>'
    '<table:table-cell office:value-type="string"><text:p>抵达日期</text:p></table:table-cell>'
    '<table:table-cell office:value-type="string"><text:p>手机号</text:p></table:table-cell>'
    "</table:table-row><table:table-row>"
    '<table:table-cell office:value-type="string"><text:p>张三</text:p></table:table-cell>'
    '<table:table-cell office:value-type="date" office:date-value="2021-10-08"><text:p>2021-10-08</text:p>'
    "</table:table-cell>"
    '<table:table-cell office:value-type="float" office:value="13912345678"><text:p>13912345678</text:p>'
    "</table:table-cell>"
    "</table:table-row>"
    "</table:table></office:spreadsheet></office:body></office:document-content>"
)

_ODS_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"""


def test_ods_is_read_with_dates_and_numbers(tmp_path: Path) -> None:
    path = tmp_path / "list.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", _ODS_MANIFEST, zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", _ODS_CONTENT, zipfile.ZIP_DEFLATED)

    with open_rows(path) as source:
        rows = list(source)
        assert source.kind == "ods"
        assert source.sheet_name == "登记"
    assert rows == [
        Row(1, ["姓名", "抵达日期", "手机号"]),
        Row(2, ["张三", datetime.date(2021, 10, 8), 13912345678.0]),
    ]


# Written by xlwt 1.3.0 (sheet 登记表: a title row, a header row, one person with a date cell), zlib + base64.
_XLS_FIXTURE = (
    "eNrtWF1IVEEU/ubeXXfX/FlNAw1sEbIyhV0tSEG3xPKhXCyF1gjMzcXCUFkisKAsEwIpg56KXgR7iMDsIfsl8q2HwMggCAIteoh6"
    "CSp7UG/nnL231ApcKMG432XOnHPmnLkze+bMzN5nYxkTA7dyJ7EAldAxa3iQNEenqHgswQtqNwxmrdpNxbCxrOBxUyCTnHiQ+tTF"
    "MeR4T0LDsGOUKPCGyn50ItTRHvUtIapkDM2Kx1BBVOEqadKQI6PKFHpQ6EqhN8XyodCtojkvtIJsJ9Q+jAVDhVvMVRzW8qUtDdzv"
    "HfF5JZoAsvGEV/Gpiypu68S22OHmI8usIc+RgkFQQGui7dEYy+m4hmSgkVBcW1tcXT2BLAr2IL4YPuCzldWPfbZ+afUKpP82X+/6"
    "g95NQVyov6Q5gG4YByRJemlR73Jwi65OHBvuO3RumtKEM5vLCqgwwqjsKq9/0d8cuh8KN8SNyHW8MbXBAXXjwkxotG+qntjbkUf9"
    "76JrWnWonZHy1ql6svI1eUKZlCcBf8C/OVC2qSxQUhrw+0vCyXw2yF7inbeXpEqOpRBtQbrwGZJpXprM9PVPz2sjdcEm0XTL+RE/"
    "ZdbypGDgNHuQc5q06EK5pVA8Ngo9I72uFj5XaBalAdUFddkms6NHbM5KawG9p1QwHlw3h19PfO+H3Xfzet8GNxA/VDN5PGvoZXAA"
    "+XTqtZA/Pz0oUkXqymXGvaBVK3NHei0055fdya15zbkZ5lGajhnOR0KGULZQMrv5FkosmMYl6/eLSxpJ+g9JJ8lh9qX9pi9N+nKa"
    "9vFYcIxOaixpNIevIxp0jfdFXcbVGfn43lNVqWVihJ1pZ/2JZNiwYcOGDRs2bNhYfuCbpWberfnu6DTv7S7zu84MlVn7M8l/iz3o"
    "oOco/ancjnaqY+hKaP2sglNZfalF+ljfCxl76e0xtCEi42hLeP3S/y41dz6LdvT+vRRK9P2ziYzzH7//O7ZL7jU="
)


def test_xls_is_read_with_title_row_and_dates(tmp_path: Path) -> None:
    path = tmp_path / "list.xls"
    path.write_bytes(zlib.decompress(base64.b64decode(_XLS_FIXTURE)))

    with open_rows(path) as source:
        rows = list(source)
        assert source.kind == "xls"
    assert rows == [
        Row(1, ["XX社区返乡人员登记表", "", "", ""]),
        Row(2, ["姓名", "身份证号", "抵达日期", "手机号"]),
        Row(3, ["张三", "11010519491231002X", datetime.date(2021, 10, 8), 13912345678.0]),
    ]
    match = detect_header(rows, SYNONYMS)
    assert match.header_row == 2
    assert match.columns == {"name": 0, "id_number": 1, "arrival_date": 2, "phone": 3}


# --- csv ------------------------------------------------------------------------------------------------


def test_csv_in_gb18030_from_chinese_excel(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes("姓名,身份证号,手机号\r\n張三,11010519491231002X,13912345678\r\n".encode("gb18030"))

    with open_rows(path) as source:
        rows = list(source)
        assert (source.encoding, source.delimiter) == ("gb18030", ",")
    assert rows == [Row(1, ["姓名", "身份证号", "手机号"]), Row(2, ["張三", "11010519491231002X", "13912345678"])]


def test_csv_gbk_names_after_a_long_ascii_start_are_detected(tmp_path: Path) -> None:
    # Given English headers and 300 KB of ASCII rows before the first Chinese name (beyond the first chunk)
    lines = ["name,phone"] + ["Tom,13912345678"] * 20_000 + ["张三,13800000000"]
    path = tmp_path / "list.csv"
    path.write_bytes("\n".join(lines).encode("gbk"))

    rows = read_all(path)

    assert rows[-1] == Row(20_002, ["张三", "13800000000"])


def test_csv_utf8_with_bom_and_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(codecs.BOM_UTF8 + '姓名;手机号;住址\n张三;139;"XX路1号; 2单元"\n'.encode())

    with open_rows(path) as source:
        rows = list(source)
        assert (source.encoding, source.delimiter) == ("utf-8-sig", ";")
    assert rows == [Row(1, ["姓名", "手机号", "住址"]), Row(2, ["张三", "139", "XX路1号; 2单元"])]


def test_csv_tab_delimited_text_with_title_row(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text("XX社区返乡人员登记表\n姓名\t手机号\t出发地\n张三\t139\t西宁市, 城东区\n李四\t138\t玉树\n")

    with open_rows(path) as source:
        rows = list(source)
        assert (source.kind, source.encoding, source.delimiter) == ("txt", "utf-8", "\t")
    assert rows[2] == Row(3, ["张三", "139", "西宁市, 城东区"])


def test_excel_unicode_text_utf16_is_read(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_bytes("姓名\t手机号\r\n张三\t139\r\n".encode("utf-16"))

    assert read_all(path) == [Row(1, ["姓名", "手机号"]), Row(2, ["张三", "139"])]


def test_csv_row_numbers_count_records_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text('姓名,住址\n张三,"XX路\n1号"\n\n李四,YY路\n')

    rows = read_all(path)

    assert rows == [Row(1, ["姓名", "住址"]), Row(2, ["张三", "XX路\n1号"]), Row(4, ["李四", "YY路"])]


def test_csv_progress_runs_by_bytes(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("name,phone\n" + "Tom,13912345678\n" * 50_000)

    with open_rows(path) as source:
        assert source.total_bytes == path.stat().st_size
        assert source.total_rows_estimate == pytest.approx(50_001, rel=0.01)
        for row in source:
            if row.number == 25_000:
                assert 0.4 < source.progress < 0.6
        assert source.progress == 1.0


def test_csv_in_an_unknown_encoding_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(b"name\n\xff\xfe\xfd\xff\n")  # valid in neither UTF-8 nor GB18030

    assert error_code(path) == "encoding"


def test_csv_mixing_encodings_fails_with_the_row(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    body = "姓名\n张三\n".encode() + b"x\n" * 150_000 + "李四\n".encode("gbk")
    path.write_bytes(body)

    with pytest.raises(SpreadsheetError) as caught:
        read_all(path)

    assert caught.value.code == "encoding"
    with translation.override("en"):
        assert str(caught.value).startswith("Row 150003 is not valid utf-8")  # 2 + 150,000 rows before it


# --- refusals -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["list.xlsx", "list.xls", "list.ods", "list.csv", "list.txt"])
def test_empty_file_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")

    with pytest.raises(SpreadsheetError) as caught:
        read_all(path)

    assert caught.value.code == "empty"
    with translation.override("en"):
        assert str(caught.value) == "The file is empty."


def test_csv_with_only_blank_lines_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("\n \n\n")

    assert error_code(path) == "empty"


def test_workbook_without_cells_is_empty(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "list.xlsx", {})

    assert error_code(path) == "empty"


def test_unknown_extension_names_the_accepted_formats(tmp_path: Path) -> None:
    path = tmp_path / "list.pdf"
    path.write_bytes(b"%PDF-1.4")

    with pytest.raises(SpreadsheetError) as caught:
        read_all(path)

    assert caught.value.code == "unsupported_format"
    message = str(caught.value)
    assert ".pdf" in message
    assert all(ext in message for ext in ACCEPTED_EXTENSIONS)


def test_truncated_xlsx_is_corrupt_with_the_reason(tmp_path: Path) -> None:
    good = write_xlsx(tmp_path / "good.xlsx", {0: ["姓名"], 1: ["张三"]}).read_bytes()
    path = tmp_path / "list.xlsx"
    path.write_bytes(good[: len(good) // 2])

    with pytest.raises(SpreadsheetError) as caught:
        read_all(path)

    assert caught.value.code == "corrupt"
    assert "Zip" in str(caught.value)  # calamine's reason is passed on


def test_xlsx_with_broken_sheet_xml_is_corrupt(tmp_path: Path) -> None:
    good = write_xlsx(tmp_path / "good.xlsx", {0: ["姓名"], 1: ["张三"]})
    path = tmp_path / "list.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, data[: len(data) // 2] if name == "xl/worksheets/sheet1.xml" else data)

    assert error_code(path) == "corrupt"


def test_random_bytes_named_xlsx_are_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "list.xlsx"
    path.write_bytes(b"this is not a spreadsheet at all")

    assert error_code(path) == "corrupt"


def test_html_table_named_xls_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "export.xls"
    path.write_bytes(b"\r\n<html><body><table><tr><td>\xe5\xa7\x93\xe5\x90\x8d</td></tr></table></body></html>")

    assert error_code(path) == "disguised_html"


def test_password_protected_xlsx_is_explained(tmp_path: Path) -> None:
    # Encrypted OOXML is an OLE container; its content is unreadable without the password.
    path = tmp_path / "secret.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)

    assert error_code(path) == "password"


def test_spreadsheet_error_survives_pickling() -> None:
    error = SpreadsheetError("empty", "The file is empty.")

    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes

    assert (copy.code, str(copy)) == ("empty", "The file is empty.")


# --- cell_text ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("  张三 ", "张三"),
        ('="0013912345678"', "0013912345678"),
        (True, "TRUE"),
        (False, "FALSE"),
        (42, "42"),
        (13912345678.0, "13912345678"),
        (999_999_999_999_999.0, "999999999999999"),
        (-3.0, "-3"),
        (6.32701e17, "6.32701E+17"),
        (632701199001011234.0, "6.32701199001011E+17"),
        (1e15, "1E+15"),
        (0.1 + 0.2, "0.3"),
        (1.5, "1.5"),
        (datetime.date(2021, 10, 8), "2021-10-08"),
        (datetime.datetime(2021, 10, 8, 14, 30), "2021-10-08T14:30:00"),
        (datetime.time(14, 30), "14:30:00"),
        (datetime.timedelta(hours=2, minutes=5), "2:05:00"),
    ],
)
def test_cell_text(value: object, text: str) -> None:
    assert cell_text(value) == text


def test_id_in_scientific_notation_stays_rejectable() -> None:
    from firstline.core.identity import RESIDENT_ID, IdentityError, normalize_id_number

    with pytest.raises(IdentityError) as caught:
        normalize_id_number(cell_text(6.32701e17), RESIDENT_ID)

    assert caught.value.code == "scientific_notation"


# --- header detection -----------------------------------------------------------------------------------


def test_header_below_a_title_row_is_found_and_mapped() -> None:
    rows: list[list[object]] = [
        ["XX社区返乡人员登记表", "", "", "", ""],
        ["填报单位：XX社区", "", "", "", "2021年10月"],
        ["序号", "*姓名", "身份证号码（必填）", "联系电话：", "备注"],
        [1, "张三", "11010519491231002X", 13912345678.0, ""],
    ]

    match = detect_header(rows, SYNONYMS)

    assert match == HeaderMatch(
        header_row=3,
        columns={"name": 1, "id_number": 2, "phone": 3},
        header=["序号", "*姓名", "身份证号码（必填）", "联系电话：", "备注"],
        unrecognised=[(0, "序号"), (4, "备注")],
        duplicates=[],
    )
    assert match.pick(rows[3]) == {"name": "张三", "id_number": "11010519491231002X", "phone": 13912345678.0}
    assert match.missing(["name", "arrival_date"]) == ["arrival_date"]


def test_english_headers_any_case_and_spacing() -> None:
    match = detect_header([["Full Name", "ID_Number", " PHONE ", "Arrival Date", "arrival_date"]], SYNONYMS)

    assert match.header_row == 1
    assert match.columns == {"name": 0, "id_number": 1, "phone": 2, "arrival_date": 3}
    assert match.duplicates == [("arrival_date", 4, "arrival_date")]


def test_header_row_numbers_come_from_rows_read_from_a_file() -> None:
    rows = [Row(2, ["title"]), Row(5, ["姓名", "手机号"]), Row(6, ["张三", "139"])]

    match = detect_header(rows, SYNONYMS)

    assert match.header_row == 5
    assert match.pick(["张三"]) == {"name": "张三", "phone": ""}


def test_row_naming_most_fields_wins_over_an_earlier_partial_one() -> None:
    rows = [["姓名", "说明"], ["姓名", "手机号", "抵达日期"]]

    assert detect_header(rows, SYNONYMS).header_row == 2


def test_header_beyond_max_scan_is_not_found() -> None:
    rows = [["title"]] * 3 + [["姓名", "手机号"]]

    with pytest.raises(SpreadsheetError) as caught:
        detect_header(rows, SYNONYMS, max_scan=3)

    assert caught.value.code == "no_header"
    assert "姓名" in str(caught.value)


def test_synonym_shared_by_two_fields_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="both"):
        detect_header([["电话"]], {"phone": ("电话",), "mobile": ("电话 ",)})


def test_header_key() -> None:
    assert header_key("＊身份证号码【必填】") == "身份证号码"
    assert header_key("联系电话(手机)：") == "联系电话"
    assert header_key("车次/航班号") == "车次/航班号"
    assert header_key("ID No.") == "idno"


# --- dates ----------------------------------------------------------------------------------------------

OCT_8 = datetime.date(2021, 10, 8)


@pytest.mark.parametrize(
    "value",
    [
        OCT_8,
        datetime.datetime(2021, 10, 8, 14, 30),
        "2021-10-08",
        "2021/10/8",
        "2021.10.8",
        "2021-10-8",
        "2021年10月8日",
        "2021 年 10 月 8 号",
        "２０２１年１０月８日",
        "２０２１－１０－０８",
        "20211008",
        20211008,
        44477,
        44477.0,
        "44477",
        44477.604166666664,
        "2021-10-08 14:30",
        "2021-10-08T14:30:00",
        "2021/10/8 14:30:15",
        "2021年10月8日 14时30分",
        " 2021-10-08 ",
    ],
)
def test_parse_day_accepts(value: object) -> None:
    assert parse_day(value) == OCT_8


@pytest.mark.parametrize(
    ("serial", "day"),
    [
        (1, datetime.date(1900, 1, 1)),
        (59, datetime.date(1900, 2, 28)),
        (61, datetime.date(1900, 3, 1)),
        (43831, datetime.date(2020, 1, 1)),
        (2958465, datetime.date(9999, 12, 31)),
    ],
)
def test_excel_serials_follow_the_1900_date_system(serial: int, day: datetime.date) -> None:
    assert parse_day(serial) == day


def test_excel_serial_60_is_the_day_that_never_existed() -> None:
    with pytest.raises(ValueError, match="1900-02-29"):
        parse_day(60)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2021-13-40", "not a date: '2021-13-40'"),
        ("2021-02-29", "not a date: '2021-02-29'"),
        ("2021-10-08 25:00", "not a date: '2021-10-08 25:00'"),
        ("2021-10/08", "not a date: '2021-10/08'"),
        ("10/8/2021", "not a date: '10/8/2021'"),
        ("明天", "not a date: '明天'"),
        ("2021", "not a date: '2021'"),
        ("20211340", "not a date: '20211340'"),
        (20211340, "not a date: 20211340"),
        ("", "no date given"),
        (True, "not a date: True"),
        (None, "not a date: None"),
        (0, "not a date: 0 (a time without a date)"),
        ("14:30", "not a date: '14:30' (a time without a date)"),
        (-1, "not a date: -1 (out of range)"),
        (2958466, "not a date: 2958466 (out of range)"),
    ],
)
def test_parse_day_rejects_with_reason(value: object, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_day(value)

    assert str(caught.value) == reason


def test_day_without_year_is_the_nearest_to_today() -> None:
    assert parse_day("10月8日", today=datetime.date(2021, 11, 1)) == OCT_8
    assert parse_day("12月30日", today=datetime.date(2022, 1, 2)) == datetime.date(2021, 12, 30)
    assert parse_day("1月2日", today=datetime.date(2021, 12, 30)) == datetime.date(2022, 1, 2)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-10-08 14:30", datetime.datetime(2021, 10, 8, 14, 30)),
        ("2021/10/8 14:30:15", datetime.datetime(2021, 10, 8, 14, 30, 15)),
        ("2021年10月8日14时30分", datetime.datetime(2021, 10, 8, 14, 30)),
        ("２０２１-１０-０８ １４：３０", datetime.datetime(2021, 10, 8, 14, 30)),
        ("2021-10-08T14:30:00.250", datetime.datetime(2021, 10, 8, 14, 30, 0, 250000)),
        (44477.604166666664, datetime.datetime(2021, 10, 8, 14, 30)),
        ("44477.5", datetime.datetime(2021, 10, 8, 12, 0)),
        (datetime.datetime(2021, 10, 8, 14, 30), datetime.datetime(2021, 10, 8, 14, 30)),
        ("2021-10-08", datetime.datetime(2021, 10, 8, 0, 0)),
        (OCT_8, datetime.datetime(2021, 10, 8, 0, 0)),
    ],
)
def test_parse_moment_is_aware_in_the_given_zone(value: object, expected: datetime.datetime) -> None:
    moment = parse_moment(value, tz=SHANGHAI)

    assert moment == expected.replace(tzinfo=SHANGHAI)
    assert moment.utcoffset() == datetime.timedelta(hours=8)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("14:30", datetime.time(14, 30)),
        ("14点", datetime.time(14, 0)),
        ("9时5分", datetime.time(9, 5)),
        (datetime.time(14, 30), datetime.time(14, 30)),
        (0.604166666667, datetime.time(14, 30)),
        (datetime.timedelta(hours=14, minutes=30), datetime.time(14, 30)),
    ],
)
def test_time_alone_is_combined_with_the_given_day(value: object, expected: datetime.time) -> None:
    assert parse_moment(value, tz=SHANGHAI, day=OCT_8) == datetime.datetime.combine(OCT_8, expected, SHANGHAI)


def test_time_alone_without_day_is_rejected() -> None:
    with pytest.raises(ValueError, match="a time without a date: '14:30'"):
        parse_moment("14:30", tz=SHANGHAI)


def test_aware_input_is_converted_to_the_zone() -> None:
    utc = datetime.datetime(2021, 10, 8, 6, 30, tzinfo=datetime.UTC)

    assert parse_moment(utc, tz=SHANGHAI) == datetime.datetime(2021, 10, 8, 14, 30, tzinfo=SHANGHAI)
    assert parse_moment("2021-10-08T06:30:00Z", tz=SHANGHAI).hour == 14
    assert parse_moment("2021-10-08T14:30:00+08:00", tz=SHANGHAI).hour == 14


def test_parse_moment_rejects_with_reason() -> None:
    with pytest.raises(ValueError, match=r"not a date: '2021-10-08 14:61'"):
        parse_moment("2021-10-08 14:61", tz=SHANGHAI)


# --- error workbook -------------------------------------------------------------------------------------


def test_error_workbook_has_row_reason_and_original_cells_as_text(tmp_path: Path) -> None:
    path = tmp_path / "errors.xlsx"

    write_error_workbook(
        path,
        header=["姓名", "身份证号", "抵达日期", "手机号"],
        rows=[
            (3, ["张三", 6.32701e17, datetime.date(2021, 10, 8), 13912345678.0], "身份证号为科学计数法"),
            (7, ["李四", "0123", "", None, "extra"], "手机号为空"),
        ],
    )

    sheet = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    assert sheet.name == "errors"
    assert sheet.to_python() == [
        [ROW_HEADER, REASON_HEADER, "姓名", "身份证号", "抵达日期", "手机号", ""],
        [3.0, "身份证号为科学计数法", "张三", "6.32701E+17", "2021-10-08", "13912345678", ""],
        [7.0, "手机号为空", "李四", "0123", "", "", "extra"],
    ]


def test_error_workbook_can_be_read_back_by_the_importer(tmp_path: Path) -> None:
    path = tmp_path / "errors.xlsx"
    write_error_workbook(path, header=["姓名", "手机号"], rows=[(2, ["张三", "139"], "bad phone")])

    with open_rows(path) as source:
        match = detect_header(source.head(), SYNONYMS)
        rows = list(source)

    assert match.columns == {"name": 2, "phone": 3}
    assert match.unrecognised == [(0, ROW_HEADER), (1, REASON_HEADER)]
    assert rows[1] == Row(2, [2.0, "bad phone", "张三", "139"])


def test_error_workbook_with_no_rows_has_the_header_only(tmp_path: Path) -> None:
    path = tmp_path / "errors.xlsx"

    write_error_workbook(path, header=["姓名"], rows=iter(()))

    sheet = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    assert sheet.to_python() == [[ROW_HEADER, REASON_HEADER, "姓名"]]
