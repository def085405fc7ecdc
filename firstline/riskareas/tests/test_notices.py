from __future__ import annotations

import datetime

import pytest

from firstline.riskareas.notices import notice_parse

D = datetime.date
DEFAULT = D(2022, 5, 1)


def _areas(text: str, default: datetime.date = DEFAULT) -> list[tuple[int, str, str]]:
    return [
        (line.line_no, line.level, line.place)
        for line in notice_parse(text, default_effective_from=default)
        if line.usable
    ]


def _rejected(text: str) -> list[tuple[int, str]]:
    return [(line.line_no, line.text) for line in notice_parse(text, default_effective_from=DEFAULT) if not line.usable]


def test_a_national_style_notice_with_counted_headings_and_numbering():
    text = """国务院联防联控机制综合组发布全国疫情中高风险地区名单
截至2022年4月28日24时
高风险地区（2个）：
1. 北京市朝阳区南磨房乡南新园社区；
2.北京市朝阳区潘家园街道华威西里。

中风险地区（3个）：
（1）天津市津南区辛庄镇
（2）上海市浦东新区张江镇
（3）西安市雁塔区电子城街道
"""
    assert _areas(text) == [
        (4, "high", "北京市朝阳区南磨房乡南新园社区"),
        (5, "high", "北京市朝阳区潘家园街道华威西里"),
        (8, "medium", "天津市津南区辛庄镇"),
        (9, "medium", "上海市浦东新区张江镇"),
        (10, "medium", "西安市雁塔区电子城街道"),
    ]


def test_a_division_followed_by_a_colon_gives_one_area_per_sub_area():
    text = "高风险地区：\n北京市丰台区：花乡地区、卢沟桥街道、新村街道。"
    assert _areas(text) == [
        (2, "high", "北京市丰台区花乡地区"),
        (2, "high", "北京市丰台区卢沟桥街道"),
        (2, "high", "北京市丰台区新村街道"),
    ]


def test_sub_areas_separated_by_semicolons_and_commas_and_a_heading_on_the_same_line():
    text = "中风险区域（3个）：北京市海淀区：中关村街道；学院路街道，万寿路街道"
    assert [place for _line, _level, place in _areas(text)] == [
        "北京市海淀区中关村街道",
        "北京市海淀区学院路街道",
        "北京市海淀区万寿路街道",
    ]


def test_a_separator_inside_brackets_does_not_split_an_area():
    text = "中风险地区\n北京市朝阳区潘家园街道华威西里（含1、2号楼）"
    assert _areas(text) == [(2, "medium", "北京市朝阳区潘家园街道华威西里（含1、2号楼）")]


def test_a_division_on_its_own_line_prefixes_the_areas_below_it():
    text = """一、高风险地区（3个）
北京市：
丰台区：
① 花乡地区
② 卢沟桥街道
天津市津南区（1个）：
⑴ 辛庄镇
"""
    assert _areas(text) == [
        (4, "high", "北京市丰台区花乡地区"),
        (5, "high", "北京市丰台区卢沟桥街道"),
        (7, "high", "天津市津南区辛庄镇"),
    ]


@pytest.mark.parametrize(
    "numbered",
    [
        "1.北京市丰台区花乡地区",
        "1、北京市丰台区花乡地区",
        "1．北京市丰台区花乡地区",
        "(1)北京市丰台区花乡地区",
        "（1）北京市丰台区花乡地区",
        "①北京市丰台区花乡地区",
        "⑴北京市丰台区花乡地区",
        "一、北京市丰台区花乡地区",
        "（一）北京市丰台区花乡地区",
        "1) 北京市丰台区花乡地区",
        "北京市丰台区花乡地区；",
        "北京市丰台区花乡地区。",
    ],
)
def test_numbering_styles_and_trailing_punctuation_are_stripped(numbered):
    assert _areas(f"高风险地区:\n{numbered}") == [(2, "high", "北京市丰台区花乡地区")]


def test_numbers_that_belong_to_the_area_are_kept():
    assert _areas("低风险地区\n3号楼所在小区") == [(2, "low", "3号楼所在小区")]


def test_english_headings():
    text = (
        "High risk areas:\n1. Huaxiang, Fengtai District, Beijing\nMedium-risk areas (1)\n2. Xinzhuang, Jinnan District"
    )
    assert [(level, place) for _line, level, place in _areas(text)] == [
        ("high", "Huaxiang, Fengtai District, Beijing"),
        ("medium", "Xinzhuang, Jinnan District"),
    ]


def test_each_block_takes_its_own_level():
    text = "高风险地区\nA村\n中风险地区\nB村\n低风险地区\nC村\n高风险地区\nD村"
    assert [(level, place) for _line, level, place in _areas(text)] == [
        ("high", "A村"),
        ("medium", "B村"),
        ("low", "C村"),
        ("high", "D村"),
    ]


def test_the_effective_day_stated_in_the_notice_applies_to_the_areas_after_it():
    text = """根据疫情防控需要，经研究决定，自2022年5月3日起，将以下地区调整为中风险地区：
北京市丰台区花乡地区
自5月6日0时起
高风险地区：
天津市津南区辛庄镇
"""
    lines = [line for line in notice_parse(text, default_effective_from=DEFAULT) if line.usable]
    assert [(line.level, line.place, line.effective_from) for line in lines] == [
        ("medium", "北京市丰台区花乡地区", D(2022, 5, 3)),
        ("high", "天津市津南区辛庄镇", D(2022, 5, 6)),
    ]


def test_the_default_day_is_used_when_the_notice_names_none():
    [line] = notice_parse("高风险地区：北京市丰台区花乡地区", default_effective_from=D(2022, 4, 1))
    assert line.effective_from == D(2022, 4, 1)


def test_lines_that_are_not_areas_come_back_with_a_reason():
    text = """北京市丰台区花乡地区
高风险地区：
北京市朝阳区某小区
以上地区请广大市民近期不要前往，如有旅居史请主动报备，配合落实各项防控措施。
低风险地区：除上述中高风险地区外的其他地区。
"""
    lines = notice_parse(text, default_effective_from=DEFAULT)
    reasons = {line.line_no: line.reason for line in lines if line.reason}
    assert set(reasons) == {1, 4, 5}
    assert "等级" in reasons[1]  # no level heading above it
    assert [line.place for line in lines if line.usable] == ["北京市朝阳区某小区"]


def test_blank_lines_and_headings_are_not_reported():
    assert _rejected("\n\n高风险地区（1个）：\n\n北京市丰台区花乡地区\n\n") == []


def test_the_later_parts_of_a_line_share_the_division_of_the_first():
    text = "中风险地区：\n北京市丰台区花乡地区、卢沟桥街道\n天津市河西区、南开区"
    assert [place for _line, _level, place in _areas(text)] == [
        "北京市丰台区花乡地区",
        "北京市丰台区卢沟桥街道",
        "天津市河西区",
        "天津市南开区",
    ]


def test_an_empty_block_saying_none_gives_no_area():
    lines = notice_parse("高风险地区：无\n中风险地区：\n北京市丰台区花乡地区", default_effective_from=DEFAULT)
    assert [(line.line_no, line.usable) for line in lines] == [(1, False), (3, True)]
