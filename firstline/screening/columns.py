"""Column names and cell values of arrival lists and 协查 lists: header synonyms, value tables, small parsers.

Pure module (no models, no database): the import reads headers with ``firstline.core.spreadsheets.detect_header``
and ``ARRIVAL_SYNONYMS``, then turns cell text into our stored values with ``map_value`` and the tables below.
The values equal the choices of ``screening.models.Transport`` / ``HealthCode`` and ``people.models.IdType``
(a test checks this), without importing the models.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Final

from firstline.core import identity

__all__ = [
    "ARRIVAL_SYNONYMS",
    "HEALTH_CODE_VALUES",
    "ID_TYPE_VALUES",
    "TRANSPORT_VALUES",
    "map_value",
    "parse_vaccine_doses",
    "value_key",
]

# Canonical field → header texts seen in real lists. Compared with spreadsheets.header_key (NFKC, notes in
# brackets such as "（必填）", spaces, "*", ":", "_", "-", "." removed, case-folded), and each field's own name is
# accepted too. A header text may belong to one field only (detect_header raises otherwise).
ARRIVAL_SYNONYMS: Final[dict[str, tuple[str, ...]]] = {
    "name": ("姓名", "名字", "name", "full name"),
    "id_type": ("证件类型", "证件种类", "id_type", "id type"),
    "id_number": ("身份证号", "身份证号码", "身份证", "证件号码", "证件号", "id_number", "id number", "id no"),
    "phone": ("手机号", "手机号码", "联系电话", "电话", "电话号码", "联系方式", "phone", "mobile"),
    "origin": ("来源地", "出发地", "来自", "来自何地", "origin", "from"),
    "via": ("途经地", "途经", "途经地区", "via", "route"),
    "arrival_date": ("抵达日期", "到达日期", "返回日期", "抵达时间", "返乡日期", "arrival_date", "arrival date"),
    "arrival_time": ("抵达时刻", "到达时间", "arrival_time", "arrival time"),
    "transport": ("交通方式", "交通工具", "transport"),
    "transport_no": (
        "车次航班",
        "车次/航班号",
        "车次/航班",
        "车次",
        "航班号",
        "车牌号",
        "transport_no",
        "transport no",
    ),
    "address": ("现住址", "居住地址", "住址", "目的地址", "现居住地址", "address"),
    "health_code": ("健康码", "健康码颜色", "health_code", "health code"),
    "vaccine_doses": ("疫苗接种", "疫苗接种剂次", "接种剂次", "疫苗接种情况", "vaccine_doses", "vaccine doses"),
    "last_negative_test": ("最近核酸时间", "末次核酸阴性时间", "最近一次核酸时间", "last_negative_test"),
    # 协查 lists
    "reason": ("协查原因", "推送原因", "reason"),
    "date_from": ("途经开始日期", "开始日期", "date_from", "date from"),
    # The day the person left the risk place: the anchor of the "fill up to the full term" rule.
    "date_to": ("途经结束日期", "离开日期", "离开风险地日期", "结束日期", "date_to", "date to"),
}

# Value tables: key (as produced by value_key) → stored value.
TRANSPORT_VALUES: Final[dict[str, str]] = {
    "火车": "train",
    "高铁": "train",
    "动车": "train",
    "铁路": "train",
    "train": "train",
    "飞机": "flight",
    "航班": "flight",
    "flight": "flight",
    "自驾": "car",
    "私家车": "car",
    "car": "car",
    "大巴": "bus",
    "客车": "bus",
    "bus": "bus",
    "其他": "other",
    "其它": "other",
    "other": "other",
}

HEALTH_CODE_VALUES: Final[dict[str, str]] = {
    "绿": "green",
    "绿码": "green",
    "绿色": "green",
    "green": "green",
    "黄": "yellow",
    "黄码": "yellow",
    "黄色": "yellow",
    "yellow": "yellow",
    "红": "red",
    "红码": "red",
    "红色": "red",
    "red": "red",
}

ID_TYPE_VALUES: Final[dict[str, str]] = {
    "居民身份证": identity.RESIDENT_ID,
    "身份证": identity.RESIDENT_ID,
    "resident_id": identity.RESIDENT_ID,
    identity.RESIDENT_ID: identity.RESIDENT_ID,
    "15位身份证": identity.OLD_RESIDENT_ID,
    identity.OLD_RESIDENT_ID: identity.OLD_RESIDENT_ID,
    "港澳居民居住证": identity.HMT_PERMIT,
    "台湾居民居住证": identity.HMT_PERMIT,
    "港澳台居民居住证": identity.HMT_PERMIT,
    "港澳台": identity.HMT_PERMIT,
    identity.HMT_PERMIT: identity.HMT_PERMIT,
    "护照": identity.PASSPORT,
    identity.PASSPORT: identity.PASSPORT,
    # Travel permits (回乡证, 台胞证) are not residence permits: their numbers are not 18 characters starting
    # 810000/820000/830000, so they are kept as "other" documents rather than failing the permit check.
    "港澳居民来往内地通行证": identity.OTHER,
    "回乡证": identity.OTHER,
    "台湾居民来往大陆通行证": identity.OTHER,
    "台胞证": identity.OTHER,
    "其他": identity.OTHER,
    "其它": identity.OTHER,
    identity.OTHER: identity.OTHER,
}

_RE_SPACES: Final = re.compile(r"\s+")


def value_key(raw: str) -> str:
    """The lookup form of a cell value: NFKC, spaces removed, case-folded (``" Ｇｒｅｅｎ "`` → ``"green"``)."""
    return _RE_SPACES.sub("", unicodedata.normalize("NFKC", raw)).casefold()


def _allowed(table: Mapping[str, str]) -> str:
    groups: dict[str, list[str]] = {}
    for key, value in table.items():
        groups.setdefault(value, []).append(key)
    return "; ".join(f"{value} ({'/'.join(keys)})" for value, keys in groups.items())


def map_value(table: Mapping[str, str], raw: str, *, field: str) -> str:
    """Look ``raw`` up in a value table (keys in ``value_key`` form); raise ``ValueError`` naming the allowed values.

    An empty cell raises too: whether the field may be empty is the caller's rule, checked before mapping.
    """
    key = value_key(raw)
    if key in table:
        return table[key]
    shown = raw.strip()
    what = f"unknown value {shown!r}" if shown else "empty"
    raise ValueError(f"{field}: {what}; allowed: {_allowed(table)}")


_MAX_DOSES: Final = 5
_NO_DOSE: Final = frozenset({"未接种", "未打", "没打", "没有接种", "无", "否", "none", "no"})
_CHINESE_COUNTS: Final = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_RE_COUNT: Final = re.compile(r"[0-9]+|[零一二两三四五六七八九]", re.ASCII)
_RE_COUNT_WITH_UNIT: Final = re.compile(r"([0-9]+|[零一二两三四五六七八九])(?:针|剂|次|doses?)", re.ASCII)


def parse_vaccine_doses(text: str) -> int | None:
    """The number of vaccine doses from free text: ``"3针"`` → 3, ``"已接种2剂"`` → 2, ``"两针"`` → 2, ``"2"`` → 2,
    ``"未接种"`` → 0, empty → ``None``. Raises ``ValueError`` for more than 5 doses, for text without a count
    (``"已接种"``) and for text with several different counts."""
    key = value_key(text)
    if not key:
        return None
    if key in _NO_DOSE:
        return 0
    # "2021年接种2针": a number with a unit (针/剂/次) wins over other numbers in the text.
    numbers = _RE_COUNT_WITH_UNIT.findall(key) or _RE_COUNT.findall(key)
    counts = {int(number) if number.isdigit() else _CHINESE_COUNTS[number] for number in numbers}
    if len(counts) != 1:
        raise ValueError(f"vaccine_doses: no single number of doses in {text.strip()!r}")
    doses = counts.pop()
    if doses > _MAX_DOSES:
        raise ValueError(f"vaccine_doses: {doses} doses is more than {_MAX_DOSES}")
    return doses
