"""Place parsing for travel-history matching: division code prefixes, remainders, and scope containment."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest

from firstline.riskareas import places
from firstline.riskareas.places import ParsedPlace, normalize_scope, parse_place, parse_places, scope_contains
from firstline.riskareas.places import scope_is_broader as broader


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    parse_place.cache_clear()
    yield
    parse_place.cache_clear()


def _summary(place: ParsedPlace) -> tuple[str, str, str, str, str, str]:
    return (place.code, place.level, place.province, place.prefecture, place.county, place.remainder)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Published risk-area lines.
        ("吉林省长春市朝阳区", ("220104", "county", "吉林省", "长春市", "朝阳区", "")),
        ("北京市丰台区", ("110106", "county", "北京市", "", "丰台区", "")),
        ("内蒙古额济纳旗达来呼布镇", ("152923", "county", "内蒙古自治区", "阿拉善盟", "额济纳旗", "达来呼布镇")),
        ("上海市浦东新区张江镇XX小区", ("310115", "county", "上海市", "", "浦东新区", "张江镇XX小区")),
        ("西安市雁塔区电子城街道", ("610113", "county", "陕西省", "西安市", "雁塔区", "电子城街道")),
        ("青海省玉树藏族自治州玉树市结古街道", ("632701", "county", "青海省", "玉树藏族自治州", "玉树市", "结古街道")),
        # Travellers' histories.
        ("西安", ("6101", "prefecture", "陕西省", "西安市", "", "")),
        ("陕西省西安市", ("6101", "prefecture", "陕西省", "西安市", "", "")),
        ("西安市雁塔区电子城街道科技路", ("610113", "county", "陕西省", "西安市", "雁塔区", "电子城街道科技路")),
        ("额济纳旗", ("152923", "county", "内蒙古自治区", "阿拉善盟", "额济纳旗", "")),
        ("陕西", ("61", "province", "陕西省", "", "", "")),
        ("北京", ("11", "province", "北京市", "", "", "")),
        ("东莞市长安镇", ("4419", "prefecture", "广东省", "东莞市", "", "长安镇")),
        ("湖北省仙桃市", ("429004", "county", "湖北省", "", "仙桃市", "")),
    ],
)
def test_place_resolves_to_most_specific_code_prefix(text: str, expected: tuple[str, ...]) -> None:
    assert _summary(parse_place(text)) == expected


@pytest.mark.parametrize(
    ("text", "code", "remainder"),
    [
        ("成都双流", "510116", ""),
        ("深圳南山", "440305", ""),
        ("陕西雁塔", "610113", ""),
        ("北京丰台", "110106", ""),
        ("成都双流县东升街道", "510116", "东升街道"),  # the pre-2016 name's suffix goes with the short name
        ("成都双流市场", "510116", "市场"),
        ("玉树州", "6327", ""),
        ("延边", "2224", ""),
        ("玉树州称多县", "632723", ""),
        ("青海西宁城东区", "630102", ""),  # 海西 (a prefecture) overlaps 青海西宁 and must not win
    ],
)
def test_abbreviations_are_recognised(text: str, code: str, remainder: str) -> None:
    place = parse_place(text)
    assert (place.code, place.remainder) == (code, remainder)


def test_county_short_name_used_as_a_road_is_not_the_county() -> None:
    assert (parse_place("西安市雁塔路").code, parse_place("西安市雁塔路").remainder) == ("6101", "雁塔路")


def test_traditional_characters_are_simplified_before_parsing() -> None:
    place = parse_place("陝西省西安市雁塔區電子城街道")
    assert (place.normalized, place.code, place.remainder) == ("陕西省西安市雁塔区电子城街道", "610113", "电子城街道")


def test_full_width_and_spaces_are_normalised() -> None:
    place = parse_place("  上海市 浦东新区　张江镇ＸＸ小区 ")
    assert place.text == "上海市 浦东新区　张江镇ＸＸ小区"
    assert (place.normalized, place.code, place.remainder) == ("上海市浦东新区张江镇XX小区", "310115", "张江镇XX小区")


def test_remainder_drops_separators_at_its_edges() -> None:
    assert parse_place("北京市丰台区（卢沟桥街道）").remainder == "卢沟桥街道"


@pytest.mark.parametrize(
    "text",
    ["火星基地", "", "   ", "-", "不详", "N/A", "日本东京", "火星县", "中山路", "南京路", "市辖区", "朝阳区", "鼓楼区"],
)
def test_unknown_or_ambiguous_places_are_unrecognised(text: str) -> None:
    place = parse_place(text)
    assert (place.recognised, place.code, place.level, place.province, place.remainder) == (False, "", "", "", "")
    assert place.text == text.strip()


def test_hong_kong_resolves_to_its_province_level_code_only() -> None:
    assert _summary(parse_place("香港九龙")) == ("81", "province", "香港特别行政区", "", "", "九龙")


def test_county_renamed_after_the_parsers_table_stays_at_prefecture_with_its_name_in_the_remainder() -> None:
    # cpca's table predates 郫县 → 郫都区 (2016): name containment below the prefecture still works.
    assert _summary(parse_place("成都市郫都区犀浦镇")) == ("5101", "prefecture", "四川省", "成都市", "", "郫都区犀浦镇")


def test_county_level_city_turned_district_keeps_the_tables_code() -> None:
    assert _summary(parse_place("福州市长乐区营前街道")) == (
        "350182",
        "county",
        "福建省",
        "福州市",
        "长乐市",
        "营前街道",
    )


def test_parser_failure_is_logged_and_unrecognised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(text: str) -> tuple[str, int]:
        raise RuntimeError("parser bug")

    monkeypatch.setattr(places._get_gazetteer(), "locate", boom)
    with caplog.at_level(logging.WARNING, logger="firstline.riskareas.places"):
        place = parse_place("西安市")
    assert (place.recognised, place.normalized) == (False, "西安市")
    assert "place parser failed" in caplog.text


def test_each_distinct_string_is_parsed_once() -> None:
    first = parse_place("西安市雁塔区")
    again = parse_place("西安市雁塔区")
    assert again is first
    info = parse_place.cache_info()
    assert (info.hits, info.misses) == (1, 1)


def test_batch_parses_each_distinct_string_once() -> None:
    result = parse_places(["西安", "北京市丰台区", "西安", "火星基地"])
    assert {text: place.code for text, place in result.items()} == {
        "西安": "6101",
        "北京市丰台区": "110106",
        "火星基地": "",
    }
    info = parse_place.cache_info()
    assert (info.hits, info.misses) == (0, 3)


def test_importing_the_module_does_not_load_the_parser() -> None:
    code = (
        "import sys; import firstline.riskareas.places as p; "
        "print('cpca' in sys.modules); p.parse_place('西安'); "
        "print('cpca' in sys.modules, 'pandas' in sys.modules, 'pkg_resources' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True", "False", "False"]


def test_normalize_scope_removes_spaces_punctuation_and_case() -> None:
    assert normalize_scope(" 張江鎮 ＸＸ小區（東區）") == "张江镇xx小区东区"


@pytest.mark.parametrize(
    ("travel", "area", "contains", "is_broader"),
    [
        ("电子城街道科技路8号", "电子城街道", True, False),
        ("电子城街道", "电子城街道", True, False),
        ("张江镇XX小区3栋", "张江镇XX小区", True, False),
        ("张江镇", "张江镇XX小区", False, True),  # travel stops above the area
        ("张江", "张江镇XX小区", False, True),
        ("", "张江镇", False, True),
        ("张江镇", "", True, False),  # the area is the whole division
        ("", "", True, False),
        ("张江", "张江镇", True, False),  # suffix omitted on the travel side
        ("张江镇", "张江", True, False),  # ... or on the area side
        ("张江XX小区", "张江镇XX小区", True, False),
        ("张江镇ｘｘ小区", "张江镇XX小区", True, False),
        ("高新区电子城街道", "电子城街道", True, False),  # unofficial zone in front of the street office
        ("曲江街道", "电子城街道", False, False),
        ("唐延路", "电子城", False, False),
        ("石桥路", "石村", False, False),  # a one-character core (石) never matches by tolerance
    ],
)
def test_scope_truth_table(travel: str, area: str, contains: bool, is_broader: bool) -> None:
    assert (scope_contains(travel, area), broader(travel, area)) == (contains, is_broader)
