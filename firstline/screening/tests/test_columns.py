"""Tests for firstline.screening.columns: header synonyms of arrival/协查 lists, value tables, dose parsing."""

from __future__ import annotations

import pytest

from firstline.core.spreadsheets import detect_header, header_key
from firstline.screening.columns import (
    ARRIVAL_SYNONYMS,
    HEALTH_CODE_VALUES,
    ID_TYPE_VALUES,
    TRANSPORT_VALUES,
    map_value,
    parse_vaccine_doses,
    value_key,
)


def test_every_synonym_belongs_to_one_field_only() -> None:
    owners: dict[str, str] = {}
    for field, names in ARRIVAL_SYNONYMS.items():
        for name in (field, *names):
            assert owners.setdefault(header_key(name), field) == field, name


def test_typical_chinese_arrival_list_header_is_fully_recognised() -> None:
    rows = [
        ["XX社区返乡人员登记表"],
        [
            "序号",
            "姓名",
            "证件类型",
            "身份证号码",
            "联系电话",
            "出发地",
            "途经地",
            "抵达日期",
            "到达时间",
            "交通方式",
            "车次/航班号",
            "现住址",
            "健康码颜色",
            "疫苗接种剂次",
            "末次核酸阴性时间",
        ],
    ]

    match = detect_header(rows, ARRIVAL_SYNONYMS)

    assert match.header_row == 2
    assert match.columns == {
        "name": 1,
        "id_type": 2,
        "id_number": 3,
        "phone": 4,
        "origin": 5,
        "via": 6,
        "arrival_date": 7,
        "arrival_time": 8,
        "transport": 9,
        "transport_no": 10,
        "address": 11,
        "health_code": 12,
        "vaccine_doses": 13,
        "last_negative_test": 14,
    }
    assert match.unrecognised == [(0, "序号")]


def test_english_header_and_assist_list_fields() -> None:
    header = ["Name", "ID No", "Mobile", "From", "Route", "Arrival Date", "Reason", "date_from", "离开日期", "Remarks"]

    match = detect_header([header], ARRIVAL_SYNONYMS)

    assert match.columns == {
        "name": 0,
        "id_number": 1,
        "phone": 2,
        "origin": 3,
        "via": 4,
        "arrival_date": 5,
        "reason": 6,
        "date_from": 7,
        "date_to": 8,
    }
    assert match.unrecognised == [(9, "Remarks")]


@pytest.mark.parametrize("table", [TRANSPORT_VALUES, HEALTH_CODE_VALUES, ID_TYPE_VALUES])
def test_table_keys_are_in_lookup_form(table: dict[str, str]) -> None:
    assert [key for key in table if value_key(key) != key] == []


def test_values_are_the_model_choices() -> None:
    from firstline.people.models import IdType
    from firstline.screening.models import HealthCode, Transport

    assert set(TRANSPORT_VALUES.values()) == set(Transport.values)
    assert set(HEALTH_CODE_VALUES.values()) == set(HealthCode.values)
    assert set(ID_TYPE_VALUES.values()) == set(IdType.values)


@pytest.mark.parametrize(
    ("table", "raw", "value"),
    [
        (TRANSPORT_VALUES, "高铁", "train"),
        (TRANSPORT_VALUES, " Train ", "train"),
        (TRANSPORT_VALUES, "航班", "flight"),
        (TRANSPORT_VALUES, "私家车", "car"),
        (TRANSPORT_VALUES, "客车", "bus"),
        (TRANSPORT_VALUES, "其他", "other"),
        (HEALTH_CODE_VALUES, "绿码", "green"),
        (HEALTH_CODE_VALUES, "ＧＲＥＥＮ", "green"),
        (HEALTH_CODE_VALUES, "黄", "yellow"),
        (HEALTH_CODE_VALUES, "红 码", "red"),
        (ID_TYPE_VALUES, "居民身份证", "resident"),
        (ID_TYPE_VALUES, "resident_id", "resident"),
        (ID_TYPE_VALUES, "护照", "passport"),
        (ID_TYPE_VALUES, "港澳居民居住证", "hmt_permit"),
        (ID_TYPE_VALUES, "港澳台", "hmt_permit"),
        (ID_TYPE_VALUES, "回乡证", "other"),
    ],
)
def test_map_value(table: dict[str, str], raw: str, value: str) -> None:
    assert map_value(table, raw, field="f") == value


def test_map_value_names_the_allowed_values() -> None:
    with pytest.raises(ValueError) as caught:
        map_value(HEALTH_CODE_VALUES, "蓝码", field="health_code")

    assert str(caught.value) == (
        "health_code: unknown value '蓝码'; allowed: green (绿/绿码/绿色/green); yellow (黄/黄码/黄色/yellow); "
        "red (红/红码/红色/red)"
    )


def test_map_value_refuses_an_empty_cell() -> None:
    with pytest.raises(ValueError, match=r"^transport: empty; allowed: train \("):
        map_value(TRANSPORT_VALUES, "  ", field="transport")


@pytest.mark.parametrize(
    ("text", "doses"),
    [
        ("3针", 3),
        ("已接种2剂", 2),
        ("未接种", 0),
        ("无", 0),
        ("0", 0),
        ("2", 2),
        ("２", 2),
        ("两针", 2),
        ("第一针", 1),
        ("2 doses", 2),
        ("2021年接种2针", 2),
        ("5", 5),
        ("", None),
        ("  ", None),
    ],
)
def test_parse_vaccine_doses(text: str, doses: int | None) -> None:
    assert parse_vaccine_doses(text) == doses


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("6", "vaccine_doses: 6 doses is more than 5"),
        ("九针", "vaccine_doses: 9 doses is more than 5"),
        ("已接种", "vaccine_doses: no single number of doses in '已接种'"),
        ("1,2", "vaccine_doses: no single number of doses in '1,2'"),
    ],
)
def test_parse_vaccine_doses_rejects(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_vaccine_doses(text)

    assert str(caught.value) == reason
