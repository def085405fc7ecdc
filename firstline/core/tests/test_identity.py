"""Tests for firstline.core.identity (pure functions: no database, no settings required).

Error messages are lazy translations, so tests compare ``IdentityError.code`` and never render them.
"""

from __future__ import annotations

import datetime
import pickle
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firstline.core import identity
from firstline.core.identity import (
    HMT_PERMIT,
    OLD_RESIDENT_ID,
    OTHER,
    PASSPORT,
    PROVINCE_CODES,
    RESIDENT_ID,
    IdentityError,
    ResidentIdInfo,
    clean_raw,
    mask_id_number,
    mask_phone,
    name_initials,
    name_pinyin,
    normalize_address,
    normalize_id_number,
    normalize_name,
    normalize_phone,
    parse_resident_id,
    resident_id_check_char,
    upgrade_15_to_18,
)

SAMPLE = "11010519491231002X"  # GB 11643 sample: Beijing Chaoyang, born 1949-12-31, female
TODAY = datetime.date(2025, 6, 1)


def make_id(body17: str) -> str:
    return body17 + resident_id_check_char(body17)


def error_code(raw: str, id_type: str = RESIDENT_ID) -> str:
    with pytest.raises(IdentityError) as excinfo:
        normalize_id_number(raw, id_type, today=TODAY)
    return excinfo.value.code


# --- check character ---------------------------------------------------------------------------------


def test_standard_sample_is_valid() -> None:
    assert resident_id_check_char(SAMPLE[:17]) == "X"
    assert normalize_id_number(SAMPLE, RESIDENT_ID) == (RESIDENT_ID, SAMPLE)


def test_check_char_worked_example() -> None:
    # 6*7+3*9+2*10+7*5+0*8+1*4+1*2+9*1+8*6+5*3+0*7+3*9+1*10+5*5+1*8+2*4+3*2 = 286; 286 % 11 = 0 -> "1"
    assert resident_id_check_char("63270119850315123") == "1"


@pytest.mark.parametrize("bad", ["", "1234567890123456", "123456789012345678", "1101051949123100X", "１" * 17])
def test_check_char_rejects_non_17_digits(bad: str) -> None:
    with pytest.raises(IdentityError):
        resident_id_check_char(bad)


valid_bodies = st.builds(
    lambda province, rest, born, seq: f"{province}{rest}{born:%Y%m%d}{seq}",
    st.sampled_from(sorted(PROVINCE_CODES - {"81", "82", "83"})),
    st.from_regex(r"\A[0-9]{4}\Z"),
    st.dates(min_value=datetime.date(1900, 1, 1), max_value=TODAY),
    st.from_regex(r"\A[0-9]{3}\Z"),
)


@given(valid_bodies)
def test_valid_ids_round_trip(body: str) -> None:
    number = make_id(body)
    assert normalize_id_number(number, RESIDENT_ID, today=TODAY) == (RESIDENT_ID, number)
    # Dirty forms of the same number normalise back to it.
    dirty = "'" + " ".join([number[:6], number[6:14], number[14:].lower()])
    assert normalize_id_number(dirty, RESIDENT_ID, today=TODAY) == (RESIDENT_ID, number)
    info = parse_resident_id(number)
    assert info.division_code == body[:6]
    assert info.birth_date.strftime("%Y%m%d") == body[6:14]
    assert info.sex == ("M" if int(body[16]) % 2 else "F")


@given(st.from_regex(r"\A[0-9]{17}\Z"), st.integers(0, 17), st.integers(1, 9))
def test_any_single_digit_change_fails_the_check(body: str, position: int, delta: int) -> None:
    number = make_id(body)
    if position == 17 and number[17] == "X":
        changed_char = str(delta)  # X -> any digit
    elif position == 17:
        changed_char = str((int(number[17]) + delta) % 10)
    else:
        changed_char = str((int(number[position]) + delta) % 10)
    changed = number[:position] + changed_char + number[position + 1 :]
    assert changed != number
    assert resident_id_check_char(changed[:17]) != changed[17]
    with pytest.raises(IdentityError):
        normalize_id_number(changed, RESIDENT_ID, today=TODAY)


# --- dirty input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits and X
        "１１０１０５１９４９１２３１００２ｘ",  # full-width lower-case x
        "11010519491231002x",
        "  11010519491231002X\t",
        "110105 19491231 002X",
        "110105　19491231　002X",  # ideographic spaces
        "110105-19491231-002X",
        "110105–19491231—002X",
        "110105‐19491231‐002x",
        "'11010519491231002X",
        "‘11010519491231002X",
        "’11010519491231002X",
        "\ufeff11010519491231002X\u200b",
    ],
)
def test_dirty_resident_ids_normalise(raw: str) -> None:
    assert normalize_id_number(raw, RESIDENT_ID) == (RESIDENT_ID, SAMPLE)


def test_clean_raw() -> None:
    assert clean_raw(" '１２３ ４５-６x ") == "12345" + "6x"
    assert clean_raw("") == ""


@pytest.mark.parametrize(
    "raw",
    [
        "6.32701E+17",
        "6.32701e17",
        "6.32701E17",
        " 6.32701E+17 ",
        "'6.32701E+17",
        "６.３２７０１Ｅ＋１７",
        "1E+17",
    ],
)
@pytest.mark.parametrize("id_type", [RESIDENT_ID, OLD_RESIDENT_ID, HMT_PERMIT])
def test_scientific_notation_is_rejected(raw: str, id_type: str) -> None:
    assert error_code(raw, id_type) == "scientific_notation"


@pytest.mark.parametrize("id_type", [PASSPORT, OTHER])
def test_scientific_notation_rejected_for_free_form_types(id_type: str) -> None:
    assert error_code("6.32701E+17", id_type) == "scientific_notation"
    assert error_code("6.32701e17", id_type) == "scientific_notation"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("'", "empty"),
        ("11010519491231002Y", "bad_chars"),
        ("1101051949123X002X", "bad_chars"),
        ("ABCDEFGHIJKLMNOPQR", "bad_chars"),
        ("1101051949123100", "bad_length"),
        ("11010519491231002", "bad_length"),
        ("11010519491231002X1", "bad_chars"),
        ("1101051949123100211", "bad_length"),
        ("110105194912310021", "bad_check_char"),
        ("110105194912310020", "bad_check_char"),
        ("00010519491231002X", "bad_division"),
        ("99010519491231002X", "bad_division"),
    ],
)
def test_invalid_resident_ids(raw: str, code: str) -> None:
    assert error_code(raw) == code


def test_spreadsheet_truncated_id_fails_check() -> None:
    # Excel keeps 15 significant digits: 632701198503151231 becomes 632701198503151000.
    assert error_code("632701198503151000") == "bad_check_char"


@pytest.mark.parametrize("born", ["19900230", "19900431", "19901301", "19900001", "19000000", "18991231"])
def test_impossible_birth_date(born: str) -> None:
    assert error_code(make_id("632701" + born + "123")) == "bad_birth_date"


def test_future_birth_date() -> None:
    tomorrow = TODAY + datetime.timedelta(days=1)
    assert error_code(make_id(f"632701{tomorrow:%Y%m%d}123")) == "bad_birth_date"
    assert normalize_id_number(make_id(f"632701{TODAY:%Y%m%d}123"), RESIDENT_ID, today=TODAY)[0] == RESIDENT_ID
    # Without an explicit ``today`` the real current date is used.
    next_year = datetime.date.today().year + 1
    with pytest.raises(IdentityError) as excinfo:
        normalize_id_number(make_id(f"632701{next_year}0101123"), RESIDENT_ID)
    assert excinfo.value.code == "bad_birth_date"


# --- 15 -> 18 upgrade ---------------------------------------------------------------------------------


def test_upgrade_15_to_18_worked_examples() -> None:
    # 110105 49 1231 002 -> 110105 1949 1231 002 + check. Weighted sum of 11010519491231002:
    # 1*7+1*9+0*10+1*5+0*8+5*4+1*2+9*1+4*6+9*3+1*7+2*9+3*10+1*5+0*8+0*4+2*2 = 167; 167 % 11 = 2 -> "X".
    assert upgrade_15_to_18("110105491231002") == SAMPLE
    # 632701 85 0315 123 -> 63270119850315123, sum 286, 286 % 11 = 0 -> "1".
    assert upgrade_15_to_18("632701850315123") == "632701198503151231"


@pytest.mark.parametrize("id_type", [RESIDENT_ID, OLD_RESIDENT_ID])
def test_15_digit_ids_are_upgraded_and_typed_resident(id_type: str) -> None:
    assert normalize_id_number("110105491231002", id_type) == (RESIDENT_ID, SAMPLE)
    assert normalize_id_number(" ６３２７０１-８５０３１５-１２３ ", id_type) == (
        RESIDENT_ID,
        "632701198503151231",
    )


def test_old_type_with_18_digits_is_accepted() -> None:
    assert normalize_id_number(SAMPLE, OLD_RESIDENT_ID) == (RESIDENT_ID, SAMPLE)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("110105490230002", "bad_birth_date"),
        ("110105491301002", "bad_birth_date"),
        ("000105491231002", "bad_division"),
        ("11010549123100X", "bad_chars"),
    ],
)
def test_invalid_15_digit_ids(raw: str, code: str) -> None:
    assert error_code(raw, OLD_RESIDENT_ID) == code


@pytest.mark.parametrize("bad", ["11010549123100", "1101054912310021", "11010549123100X"])
def test_upgrade_rejects_malformed(bad: str) -> None:
    with pytest.raises(IdentityError) as excinfo:
        upgrade_15_to_18(bad)
    assert excinfo.value.code == "bad_length"


# --- HK/Macao/Taiwan permits, passports, other ----------------------------------------------------------


@pytest.mark.parametrize("prefix", ["810000", "820000", "830000"])
def test_hmt_permit(prefix: str) -> None:
    number = make_id(prefix + "19900101" + "123")
    assert normalize_id_number(number, HMT_PERMIT) == (HMT_PERMIT, number)
    assert normalize_id_number(number.lower(), HMT_PERMIT) == (HMT_PERMIT, number)
    # Typed into the resident field: reclassified, not rejected.
    assert normalize_id_number(number, RESIDENT_ID) == (HMT_PERMIT, number)
    assert parse_resident_id(number).division_code == prefix


def test_invalid_hmt_permits() -> None:
    assert error_code(make_id("811234" + "19900101" + "123"), HMT_PERMIT) == "bad_division"
    assert error_code(make_id("811234" + "19900101" + "123"), RESIDENT_ID) == "bad_division"
    assert error_code(SAMPLE, HMT_PERMIT) == "bad_division"
    assert error_code("81000019900101123", HMT_PERMIT) == "bad_length"
    assert error_code(make_id("810000" + "19900230" + "123"), HMT_PERMIT) == "bad_birth_date"
    good = make_id("810000" + "19900101" + "123")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    assert error_code(wrong, HMT_PERMIT) == "bad_check_char"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("E12345678", "E12345678"),
        (" e1234 5678 ", "E12345678"),
        ("ｇ１２３-４５６７８", "G12345678"),
        ("'ab123", "AB123"),
    ],
)
def test_passport(raw: str, expected: str) -> None:
    assert normalize_id_number(raw, PASSPORT) == (PASSPORT, expected)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("E123", "bad_length"),
        ("E" * 21, "bad_length"),
        ("E1234567!", "bad_chars"),
        ("张12345", "bad_chars"),
        ("", "empty"),
    ],
)
def test_invalid_passport(raw: str, code: str) -> None:
    assert error_code(raw, PASSPORT) == code


def test_other_documents() -> None:
    assert normalize_id_number(" abc-123 ", OTHER) == (OTHER, "ABC123")
    assert normalize_id_number("军字第123号", OTHER) == (OTHER, "军字第123号")
    assert normalize_id_number("A" * 32, OTHER) == (OTHER, "A" * 32)
    assert error_code("A" * 33, OTHER) == "bad_length"
    assert error_code(" - ", OTHER) == "empty"


def test_unknown_type() -> None:
    assert error_code(SAMPLE, "driving_licence") == "bad_type"


# --- parse ------------------------------------------------------------------------------------------


def test_parse_resident_id() -> None:
    assert parse_resident_id(SAMPLE) == ResidentIdInfo("110105", datetime.date(1949, 12, 31), "F")
    assert parse_resident_id("632701198503151231") == ResidentIdInfo("632701", datetime.date(1985, 3, 15), "M")
    assert parse_resident_id("110105491231002").birth_date == datetime.date(1949, 12, 31)
    with pytest.raises(IdentityError):
        parse_resident_id("110105194912310021")


# --- phones -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        " 138 1234 5678 ",
        "138-1234-5678",
        "138–1234–5678",
        "(138)12345678",
        "１３８１２３４５６７８",
        "'13812345678",
        "+8613812345678",
        "+86 138 1234 5678",
        "+86-138-1234-5678",
        "(+86) 138 1234 5678",
        "＋８６ １３８１２３４５６７８",
        "8613812345678",
        "86 13812345678",
        "008613812345678",
        "0086 138-1234-5678",
    ],
)
def test_phones_normalise(raw: str) -> None:
    assert normalize_phone(raw) == "13812345678"


@pytest.mark.parametrize("raw", ["", "   ", " - "])
def test_empty_phone(raw: str) -> None:
    assert normalize_phone(raw) == ""


@pytest.mark.parametrize(
    "raw",
    [
        "12812345678",  # 12x is not a mobile prefix
        "10012345678",
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "0971-1234567",  # landline
        "+1 415 555 2671",
        "+86 1381234567",
        "861381234567",
        "1.38123E+10",
        "138 1234 567x",
        "phone",
    ],
)
def test_bad_phones(raw: str) -> None:
    with pytest.raises(IdentityError) as excinfo:
        normalize_phone(raw)
    assert excinfo.value.code == "bad_phone"


# --- names and addresses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("張三", "张三"),
        (" 劉德華 ", "刘德华"),
        ("歐陽  修", "欧阳修"),
        ("扎西 多杰", "扎西多杰"),
        ("扎西\u3000多傑", "扎西多杰"),
        ("才 仁", "才仁"),
        ("卓瑪", "卓玛"),
        ("阿卜杜·热合曼", "阿卜杜·热合曼"),
        ("阿卜杜•热合曼", "阿卜杜·热合曼"),
        ("阿卜杜‧热合曼", "阿卜杜·热合曼"),
        ("阿卜杜・热合曼", "阿卜杜·热合曼"),
        ("阿卜杜 ･ 热合曼", "阿卜杜·热合曼"),
        ("  John   Smith ", "John Smith"),
        ("Ｊｏｈｎ　Ｓｍｉｔｈ", "John Smith"),
        ("Jean\tPaul\nSartre", "Jean Paul Sartre"),
        ("李 Anna", "李 Anna"),
        ("\u200b张三\ufeff", "张三"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalize_name(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


def test_normalize_address() -> None:
    assert normalize_address("  青海省  西寧市\t城中區 南大街１２號 ") == "青海省 西宁市 城中区 南大街12号"
    assert normalize_address("") == ""


def test_converter_is_a_singleton_under_threads() -> None:
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(normalize_name("張三"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["张三"] * 8
    assert identity._t2s_converter() is identity._t2s_converter()


@pytest.mark.parametrize(
    ("name", "pinyin", "initials"),
    [
        ("扎西多杰", "zhaxiduojie", "zxdj"),
        ("才仁", "cairen", "cr"),
        ("卓玛", "zhuoma", "zm"),
        ("张三", "zhangsan", "zs"),
        ("阿卜杜·热合曼", "abodureheman", "abdrhm"),
        ("John Smith", "johnsmith", "js"),
        ("李 Anna", "lianna", "la"),
        ("", "", ""),
    ],
)
def test_pinyin_and_initials(name: str, pinyin: str, initials: str) -> None:
    assert name_pinyin(name) == pinyin
    assert name_initials(name) == initials


def test_pinyin_is_cached() -> None:
    name_pinyin.cache_clear()
    name_pinyin("卓玛")
    name_pinyin("卓玛")
    assert name_pinyin.cache_info().hits == 1


# --- masking ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("63270119850315123X", "632701********123X"),
        (SAMPLE, "110105********002X"),
        ("632701850315123", "632701*****5123"),
        ("E12345678", "E1*****78"),
        ("ABC1234", "*****34"),
        ("AB", "AB"),
        ("A", "A"),
        ("", ""),
    ],
)
def test_mask_id_number(value: str, expected: str) -> None:
    assert mask_id_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("13812345678", "138****5678"), ("", ""), ("12345", "***45")],
)
def test_mask_phone(value: str, expected: str) -> None:
    assert mask_phone(value) == expected


# --- the error type -------------------------------------------------------------------------------------


def test_identity_error_shape() -> None:
    with pytest.raises(IdentityError) as excinfo:
        normalize_id_number("6.32701E+17", RESIDENT_ID)
    err = excinfo.value
    assert isinstance(err, ValueError)
    assert err.code == "scientific_notation"
    assert err.args == ("scientific_notation",)
    assert err.message is not None
    # str() renders the message when Django is configured and falls back to the code otherwise;
    # either way it must not raise.
    assert isinstance(str(err), str)
    assert str(err)
    clone = pickle.loads(pickle.dumps(err))  # noqa: S301 - round-tripping our own object
    assert isinstance(clone, IdentityError)
    assert clone.code == err.code
