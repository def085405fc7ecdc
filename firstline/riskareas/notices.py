"""Reading the text of an official risk-area notice pasted from a web page or a document.

A notice lists areas in blocks headed by a level (``高风险地区（2个）：``, ``中风险地区:``, ``High risk areas:``), one
area per line, often numbered (``1.``, ``（1）``, ``①``). Lists grouped by division either put the division on its own
line (``北京市丰台区：`` followed by the areas below it) or on the area line itself, followed by the sub-areas
(``北京市丰台区：花乡地区、卢沟桥街道``). Every area comes back with its level, its place text with the division
prefixed, its line number and the day it takes effect (``自2022年5月1日起`` in the notice, else the default); a line
that cannot be used comes back with the reason, so the preview can show it.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from firstline.riskareas.models import RiskLevel

_LEVEL_WORDS = {
    "高": RiskLevel.HIGH,
    "中": RiskLevel.MEDIUM,
    "低": RiskLevel.LOW,
    "high": RiskLevel.HIGH,
    "medium": RiskLevel.MEDIUM,
    "middle": RiskLevel.MEDIUM,
    "low": RiskLevel.LOW,
}

# Leading numbering of a line or a heading: 1.  1、  1)  （1）  (一)  一、  ①  ⑴  ⒈  第1个：
_NUMBERING = re.compile(
    r"^\s*(?:"
    r"[(（]\s*[0-9０-９一二三四五六七八九十百]+\s*[)）]"
    r"|[0-9０-９]+\s*(?:[.．、,，)）:：]|\s)"
    r"|[一二三四五六七八九十百]+\s*[、.．,，]"
    r"|第\s*[0-9０-９一二三四五六七八九十百]+\s*[个处条项]?\s*[:：、.．]?"
    r"|[\u2460-\u2473\u2474-\u2487\u2488-\u249b\u3251-\u325f\u32b1-\u32bf\u2776-\u277f]"
    r")\s*"
)
_COUNT = r"(?:[(（]?\s*(?:共|计)?\s*[0-9０-９一二三四五六七八九十百]+\s*(?:个|处)?\s*[)）]?)?"
_ZH_HEADING = re.compile(
    r"^(?:(?:新增|现有|调整为|以下为|列为)\s*)?(?P<level>[高中低])\s*风险\s*(?:地区|区域|区|等级地区)?\s*"
    + _COUNT
    + r"\s*(?:(?P<colon>[:：])\s*(?P<rest>.*))?$"
)
_EN_HEADING = re.compile(
    r"^(?P<level>high|medium|middle|low)[\s-]*risk(?:\s+(?:areas?|regions?|zones?|places?))?\s*"
    r"(?:\(\s*\d+\s*\))?\s*(?:(?P<colon>:)\s*(?P<rest>.*))?$",
    re.IGNORECASE,
)
# 自2022年5月1日起 / 从2022年5月1日0时起 / 5月1日起: the day the following blocks take effect.
_EFFECTIVE = re.compile(
    r"(?:自|从|于)?\s*(?:(?P<year>\d{4})\s*年\s*)?(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*日"
    r"(?:\s*\d{1,2}\s*[时点:：]\s*(?:\d{1,2}\s*分?)?)?\s*(?:起|开始)"
)
_TRAILING = " \t;；。.,，、:："
_TRAILING_NO_COLON = " \t;；。.,，、"
# "（3个）" after a division heading line.
_GROUP_COUNT = re.compile(r"[(（]\s*(?:共|计)?\s*[0-9０-９一二三四五六七八九十百]+\s*(?:个|处)?\s*[)）]\s*$")
# "…将以下地区调整为高风险地区（2个）：" — a sentence ending in a level heading.
_SENTENCE_HEADING = re.compile(r"(?P<level>[高中低])\s*风险\s*(?:地区|区域|区)\s*" + _COUNT + r"\s*[:：]$")
_SEPARATORS = "、；;，,"
_CJK = re.compile(r"[\u4e00-\u9fff]")
_OPEN_BRACKETS = "(（[【"
_CLOSE_BRACKETS = ")）]】"
# Provincial-level names: a group line naming one of them starts a new group instead of nesting in the last.
_PROVINCES = (
    "北京",
    "天津",
    "上海",
    "重庆",
    "河北",
    "山西",
    "辽宁",
    "吉林",
    "黑龙江",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "海南",
    "四川",
    "贵州",
    "云南",
    "陕西",
    "甘肃",
    "青海",
    "台湾",
    "内蒙古",
    "广西",
    "西藏",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
)
# Words that mark a sentence of the notice rather than an area.
_PROSE_MARKERS = ("根据", "经研究", "决定", "以上", "上述", "其余", "其他地区", "除", "调整为", "请", "通告", "公告")
_MAX_AREA_LENGTH = 120
_MAX_PLACE_LENGTH = 200


@dataclass(frozen=True)
class ParsedNoticeLine:
    """One area read from a notice (``reason`` empty), or a line that could not be used (``reason`` says why)."""

    line_no: int
    text: str  # the line as pasted
    level: str = ""
    place: str = ""
    effective_from: datetime.date | None = None
    reason: str = ""

    @property
    def usable(self) -> bool:
        return not self.reason and bool(self.place) and bool(self.level)


def _strip_numbering(text: str) -> str:
    previous = None
    while previous != text:  # "一、（1）" carries two numberings
        previous = text
        text = _NUMBERING.sub("", text, count=1)
    return text.strip()


def _clean(text: str) -> str:
    return _strip_numbering(text).strip().rstrip(_TRAILING).strip()


def _level_heading(text: str) -> tuple[str, str | None] | None:
    """(level, text after the colon or None) when the line heads a level block."""
    for pattern in (_ZH_HEADING, _EN_HEADING):
        match = pattern.match(text)
        if match:
            level = _LEVEL_WORDS[match.group("level").lower()].value
            rest = match.group("rest") if match.group("colon") else None
            return level, (rest.strip() if rest else None)
    return None


def _split_outside_brackets(text: str) -> list[str]:
    """Split on 、 ， ； but not inside brackets: ``A小区（含1、2号楼）、B村`` → two parts."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    # In English text a comma belongs to the place ("Huaxiang, Fengtai District"); only Chinese lists split on it.
    separators = _SEPARATORS if _CJK.search(text) else "、；，"
    for char in text:
        if char in _OPEN_BRACKETS:
            depth += 1
        elif char in _CLOSE_BRACKETS:
            depth = max(depth - 1, 0)
        if char in separators and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in (_clean(p) for p in parts) if part]


def _colon_outside_brackets(text: str) -> int:
    depth = 0
    for index, char in enumerate(text):
        if char in _OPEN_BRACKETS:
            depth += 1
        elif char in _CLOSE_BRACKETS:
            depth = max(depth - 1, 0)
        elif char in ":：" and depth == 0:
            return index
    return -1


def _starts_with_province(text: str) -> bool:
    return text.startswith(_PROVINCES)


def _join(prefix: str, text: str) -> str:
    """The division prefix and an area below it, without repeating the prefix the area already names."""
    if not prefix or text.startswith(prefix) or _starts_with_province(text):
        return text
    return prefix + text


def _sentence_heading(text: str) -> tuple[str, str | None] | None:
    match = _SENTENCE_HEADING.search(text)
    return (_LEVEL_WORDS[match.group("level")].value, None) if match else None


def _effective_day(text: str, default_year: int) -> datetime.date | None:
    match = _EFFECTIVE.search(text)
    if not match:
        return None
    try:
        return datetime.date(
            int(match.group("year") or default_year), int(match.group("month")), int(match.group("day"))
        )
    except ValueError:
        return None


def _looks_like_prose(text: str) -> bool:
    if len(text) > _MAX_AREA_LENGTH:
        return True
    if any(marker in text for marker in _PROSE_MARKERS) and ("，" in text or "," in text or "。" in text):
        return True
    return text.endswith("。") and ("，" in text or "," in text)


def notice_parse(text: str, *, default_effective_from: datetime.date) -> list[ParsedNoticeLine]:
    """Read the areas of a pasted notice; lines that are not areas come back with a reason (blank lines do not)."""
    result: list[ParsedNoticeLine] = []
    level = ""
    group = ""  # division named on a line of its own ("北京市丰台区："), prefixed to the areas below it
    effective = default_effective_from

    def add(line_no: int, raw: str, body: str, prefix: str) -> None:
        # "丰台区：花乡地区、卢沟桥街道" → one area per sub-area, each with the division before the colon.
        colon = _colon_outside_brackets(body)
        if colon >= 0:
            head = _clean(body[:colon])
            prefix = _join(prefix, head) if head else prefix
            body = body[colon + 1 :]
        parts = _split_outside_brackets(body)
        if colon < 0 and len(parts) > 1:
            # "朝阳区A小区、B小区": the later parts share the division the first one names.
            first = _join(prefix, parts[0])
            parts = [first] + [_join(_division_prefix(first), part) for part in parts[1:]]
        for part in parts:
            place = _join(prefix, part)
            if _not_an_area(part):
                result.append(ParsedNoticeLine(line_no, raw, level, place, effective, _("This is not a single area.")))
            elif len(place) > _MAX_PLACE_LENGTH:
                result.append(ParsedNoticeLine(line_no, raw, level, place, effective, _("The place is too long.")))
            else:
                result.append(ParsedNoticeLine(line_no, raw, level, place, effective))

    for line_no, raw_line in enumerate(text.splitlines(), start=1):
        raw = raw_line.strip()
        if not raw:
            continue
        body = _strip_numbering(raw).rstrip(_TRAILING_NO_COLON).strip()
        heading = _level_heading(body) or _sentence_heading(body)
        day = _effective_day(body, effective.year)
        if day is not None:
            effective = day
        if heading is not None:
            level, rest = heading
            group = ""
            if rest:
                add(line_no, raw, rest, "")
            continue
        if day is not None:
            continue  # "自2022年5月1日起：" states the day the areas below take effect
        if _looks_like_prose(body):
            result.append(ParsedNoticeLine(line_no, raw, reason=_("This looks like a sentence, not an area.")))
            continue
        if not level:
            result.append(
                ParsedNoticeLine(line_no, raw, reason=_("No level heading (high/medium/low) above this line."))
            )
            continue
        if _colon_outside_brackets(body) == len(body) - 1:
            # A division on a line of its own: the areas below belong to it (nested under a province line).
            name = _GROUP_COUNT.sub("", body[:-1]).strip()
            nested = group and _is_province_group(group) and not _starts_with_province(name)
            group = group + name if nested else name
            continue
        add(line_no, raw, body, group)
    return result


def _not_an_area(text: str) -> bool:
    """“除上述地区外的其他地区”, “其余地区”: statements about the rest of the country, not areas."""
    return (
        ("除" in text and "外" in text)
        or text.startswith(("其他", "其余", "以上", "上述", "全部"))
        or "其他地区" in text
        or text.lower() in ("无", "暂无", "none", "nil", "-")
    )


def _division_prefix(place: str) -> str:
    """The division part of a place (``北京市朝阳区`` of ``北京市朝阳区A小区``), or "" if it is not known.

    For a place that is a whole division, the division above it: the siblings listed after it
    (``北京市朝阳区、海淀区``) are its neighbours, not parts of it.
    """
    from firstline.riskareas.places import COUNTY, PREFECTURE, parse_place

    parsed = parse_place(place)
    if not parsed.recognised:
        return ""
    if parsed.remainder:
        if not parsed.normalized.endswith(parsed.remainder):
            return ""
        return parsed.normalized[: len(parsed.normalized) - len(parsed.remainder)]
    if parsed.level == COUNTY:
        return parsed.province + parsed.prefecture
    return parsed.province if parsed.level == PREFECTURE else ""


def _is_province_group(group: str) -> bool:
    return _starts_with_province(group) and not re.search(r"[区县旗]$", group)


__all__ = ["ParsedNoticeLine", "notice_parse"]
