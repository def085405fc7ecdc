"""Parse free-text places anywhere in China into division-code prefixes, for matching travel history to risk areas.

``parse_place("西安市雁塔区电子城街道科技路")`` gives code ``"610113"`` (county), remainder ``"电子城街道科技路"``.
Matching is then by code prefix first (a risk area ``"6101"`` covers every place whose code starts with it), and
below the county by normalised name containment (``scope_contains`` / ``scope_is_broader``).

The parser is cpca (Aho-Corasick over a GB/T 2260 table, ~50k strings/s; see docs/decisions/0006-place-parsing.md).
It is imported on first use, not at module import, so Django processes that never parse places pay nothing.
On top of cpca this module: drops the table's placeholder rows (``县``, ``市辖区``) that otherwise match any text
containing 县; reads county abbreviations after a recognised province/prefecture (``成都双流``); knows the ``XX州``
short form of autonomous prefectures (``玉树州``); refuses a bare county name shared by several counties
(``朝阳区``); and ignores city names used as road names (``中山路``, ``南京路``).

Known limit: cpca's table is from about 2016, so counties renamed since (成都市郫都区, 济南市莱芜区) are recognised
only at prefecture level, with the county name left in ``remainder``.
"""

from __future__ import annotations

import importlib
import importlib.resources
import logging
import re
import sys
import threading
import types
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import IO, Any, Final, Protocol

from firstline.core.identity import normalize_address

__all__ = [
    "COUNTY",
    "PREFECTURE",
    "PROVINCE",
    "ParsedPlace",
    "normalize_scope",
    "parse_place",
    "parse_places",
    "scope_contains",
    "scope_is_broader",
]

logger = logging.getLogger(__name__)

PROVINCE: Final = "province"
PREFECTURE: Final = "prefecture"
COUNTY: Final = "county"
_LEVELS: Final = (PROVINCE, PREFECTURE, COUNTY)  # indexed by cpca's rank 0/1/2
_PREFIX_LEN: Final = (2, 4, 6)

# Rows of the division table that are not places: "县" (Chongqing's counties, 500200) would otherwise match
# any text containing 县, e.g. an unknown "火星县" became 5002.
_PLACEHOLDER_NAMES: Final = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
# A city or province name followed by one of these is a road (中山路, 南京路, 北京大街), not the place.
_ROAD_CHARS: Final = frozenset("路街道巷弄")
# Suffixes dropped to get a county's short name (双流区 → 双流, 峨边彝族自治县 → 峨边). Longest first.
_COUNTY_SUFFIXES: Final = ("自治县", "自治旗", "林区", "特区", "新区", "区", "县", "市", "旗")
_SWALLOWED_SUFFIXES: Final = ("区", "县", "旗")
# Short names of one character (城区 → 城, 矿区 → 矿) would match far too much.
_MIN_SHORT_NAME: Final = 2
_RE_WHITESPACE: Final = re.compile(r"\s+")
_RE_EDGE_NON_WORD: Final = re.compile(r"^[\W_]+|[\W_]+$")


@dataclass(frozen=True)
class ParsedPlace:
    """A free-text place resolved to the most specific division recognised, plus the text below it."""

    text: str  # as given, stripped
    normalized: str  # NFKC, traditional → simplified, whitespace removed
    code: str  # division code as a prefix: "61" province, "6101" prefecture, "610113" county; "" if unknown
    level: str  # PROVINCE | PREFECTURE | COUNTY | ""
    province: str  # official names found ("" if none)
    prefecture: str
    county: str
    remainder: str  # normalised text below the most specific division recognised; "" if none

    @property
    def recognised(self) -> bool:
        return bool(self.code)


# --- cpca, loaded lazily --------------------------------------------------------------------------------------


class _Division(Protocol):
    """cpca's ``AddrInfo``: one row of its division table."""

    name: str
    adcode: str  # 6 digits
    rank: int  # 0 province, 1 prefecture, 2 county

    def belong_to(self, other: _Division) -> bool: ...


class _Match(Protocol):
    """cpca's ``MatchInfo``: one name found in the text (inclusive indexes)."""

    attr_infos: list[_Division]
    start_index: int
    end_index: int
    origin_value: str

    def get_match_addr(self, parent_addr: _Division | None, first_adcode: str | None = None) -> _Division | None: ...


def _import_cpca() -> Any:
    """Import cpca without pkg_resources.

    cpca 0.5.5 reads its table with ``pkg_resources.resource_stream``: importing pkg_resources costs ~190 ms
    (it scans every installed distribution), warns on setuptools ≥ 67 and is gone from setuptools ≥ 81. A
    stand-in module serves the one function from importlib.resources while cpca is imported, then is removed.
    """
    if "pkg_resources" in sys.modules:
        return importlib.import_module("cpca")

    def resource_stream(package: str, resource: str) -> IO[bytes]:
        return importlib.resources.files(package).joinpath(resource).open("rb")

    stand_in = types.ModuleType("pkg_resources")
    stand_in.__dict__["resource_stream"] = resource_stream
    sys.modules["pkg_resources"] = stand_in
    try:
        return importlib.import_module("cpca")
    finally:
        if sys.modules.get("pkg_resources") is stand_in:
            del sys.modules["pkg_resources"]


def _county_short_name(name: str, nations: tuple[str, ...]) -> str:
    for suffix in _COUNTY_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return _strip_nations(name[: -len(suffix)], nations) if suffix.startswith("自治") else name[: -len(suffix)]
    return name


def _strip_nations(name: str, nations: tuple[str, ...]) -> str:
    """Drop trailing ethnic-group names: 海西蒙古族藏族 → 海西, 克孜勒苏柯尔克孜 → 克孜勒苏."""
    stripped = True
    while stripped:
        stripped = False
        for nation in nations:
            for form in (nation, nation.removesuffix("族")):
                if len(form) > 1 and name.endswith(form) and len(name) - len(form) >= _MIN_SHORT_NAME:
                    name = name[: -len(form)]
                    stripped = True
                    break
            if stripped:
                break
    return name


class _Gazetteer:
    """cpca's matcher and table, corrected and extended (see the module docstring)."""

    def __init__(self) -> None:
        cpca = _import_cpca()
        self._matcher = cpca.matcher
        automaton = self._matcher.ac
        divisions: list[_Division] = list(cpca.ad_2_addr_dict.values())
        self.names: dict[str, str] = {d.adcode: d.name for d in divisions if d.name not in _PLACEHOLDER_NAMES}
        # Longest first, so 柯尔克孜族 is tried before a shorter name it ends with.
        nations = tuple(sorted(self._read_nations(), key=len, reverse=True))

        for word in _PLACEHOLDER_NAMES:
            if automaton.exists(word):
                automaton.remove_word(word)
        for division in divisions:
            if division.rank == 1 and division.name.endswith("自治州"):
                short = _strip_nations(division.name.removesuffix("自治州"), nations)
                for alias in (short + "州", short):
                    if not automaton.exists(alias):  # never shadow an existing name (玉树 is 玉树市)
                        automaton.add_word(alias, (alias, [division]))
        automaton.make_automaton()

        # County short names under each province and prefecture prefix: "5101" → {"双流": {"510116"}}.
        self._short_counties: dict[str, dict[str, set[str]]] = {}
        for division in divisions:
            if division.rank != 2 or division.name in _PLACEHOLDER_NAMES:
                continue
            short = _county_short_name(division.name, nations)
            if len(short) < _MIN_SHORT_NAME:
                continue
            for prefix in (division.adcode[:2], division.adcode[:4]):
                self._short_counties.setdefault(prefix, {}).setdefault(short, set()).add(division.adcode)
        self._max_short = max((len(s) for d in self._short_counties.values() for s in d), default=0)

    @staticmethod
    def _read_nations() -> list[str]:
        text = importlib.resources.files("cpca.resources").joinpath("56_nations.csv").read_text("utf-8")
        return [line.strip() for line in text.splitlines() if line.strip()]

    def locate(self, text: str) -> tuple[str, int]:
        """Return (6-digit code or "", index where the remainder starts) for normalised text."""
        found: _Division | None = None
        start = end = -1
        matches: Iterator[_Match] = self._matcher.iter(text)
        for match in matches:
            # cpca also yields names overlapping the one accepted (青海西宁 holds 海西); a longer name at the
            # same start (延边 → 延边朝鲜族自治州) refines it.
            if (start < match.start_index <= end) or self._is_road(text, match):
                continue
            if found is None:
                counties = {d.adcode for d in match.attr_infos if d.rank == 2}
                if len(counties) > 1:
                    # A bare county name shared by several counties (朝阳区: Beijing and Changchun): keep what
                    # they have in common rather than cpca's arbitrary first pick.
                    return _common_prefix_code(counties), match.start_index
            division = match.get_match_addr(found, None)
            if division is None or division.name in _PLACEHOLDER_NAMES:
                continue
            found, start, end = division, match.start_index, match.end_index
            if division.rank == 2:
                # A county-level city's short name with another suffix: 福州市长乐区 (长乐市 became 长乐区 in
                # 2017) keeps the table's code, and "区" is not left over as the remainder.
                if match.origin_value != division.name and text.startswith(_SWALLOWED_SUFFIXES, end + 1):
                    end += 1
                return division.adcode, end + 1
        if found is None:
            return "", 0
        county, end = self._short_county_after(text, found, end)
        return county or found.adcode, end + 1

    def _is_road(self, text: str, match: _Match) -> bool:
        # Only short forms: "北京市" followed by 道 is still the city.
        after = match.end_index + 1
        return match.origin_value not in {d.name for d in match.attr_infos} and text[after : after + 1] in _ROAD_CHARS

    def _short_county_after(self, text: str, parent: _Division, end: int) -> tuple[str, int]:
        """Find a county's short name right after its province or prefecture (成都双流, 深圳南山)."""
        shorts = self._short_counties.get(parent.adcode[: _PREFIX_LEN[parent.rank]], {})
        rest = text[end + 1 :]
        for length in range(min(self._max_short, len(rest)), _MIN_SHORT_NAME - 1, -1):
            codes = shorts.get(rest[:length])
            if codes and len(codes) == 1 and rest[length : length + 1] not in _ROAD_CHARS:
                # An old or informal suffix after the short name belongs to it (成都双流县 → 双流区); not 市,
                # which starts too many words (双流市场).
                suffix = next((s for s in _SWALLOWED_SUFFIXES if rest.startswith(s, length)), "")
                return next(iter(codes)), end + length + len(suffix)
        return "", end


def _common_prefix_code(codes: set[str]) -> str:
    """The most specific province or prefecture code shared by all codes, as a 6-digit code ("" if none)."""
    for length in (4, 2):
        if len({code[:length] for code in codes}) == 1:
            return next(iter(codes))[:length].ljust(6, "0")
    return ""


_gazetteer: _Gazetteer | None = None
_gazetteer_lock = threading.Lock()


def _get_gazetteer() -> _Gazetteer:
    # Built once per process on first use (40–85 ms, ~5 MiB); double-checked locking for threaded servers.
    global _gazetteer
    if _gazetteer is None:
        with _gazetteer_lock:
            if _gazetteer is None:
                _gazetteer = _Gazetteer()
    return _gazetteer


# --- public API ----------------------------------------------------------------------------------------------


def _code_prefix(code6: str) -> tuple[str, int]:
    """6-digit adcode → (prefix, rank): 610000 → ("61", 0), 610100 → ("6101", 1), 610113 → ("610113", 2)."""
    if code6.endswith("0000"):
        return code6[:2], 0
    if code6.endswith("00"):
        return code6[:4], 1
    return code6, 2


@lru_cache(maxsize=100_000)
def parse_place(text: str) -> ParsedPlace:
    """Resolve a free-text place to the most specific division code prefix recognised and the text below it.

    Never raises for odd input: anything not recognised (or a parser failure, which is logged) gives code "".
    Cached per distinct string; results are immutable and may be shared.
    """
    stripped = text.strip()
    normalized = _RE_WHITESPACE.sub("", normalize_address(stripped))
    unknown = ParsedPlace(stripped, normalized, "", "", "", "", "", "")
    if not normalized:
        return unknown
    gazetteer = _get_gazetteer()  # a missing cpca is a deployment error: let it raise
    try:
        code6, rest_start = gazetteer.locate(normalized)
    except Exception:  # a parser bug on odd input must not break an import or a page
        logger.warning("place parser failed on %r", normalized, exc_info=True)
        return unknown
    if not code6:
        return unknown
    code, rank = _code_prefix(code6)
    names = gazetteer.names
    return ParsedPlace(
        text=stripped,
        normalized=normalized,
        code=code,
        level=_LEVELS[rank],
        province=names.get(code6[:2] + "0000", ""),
        prefecture=names.get(code6[:4] + "00", "") if rank >= 1 else "",
        county=names.get(code6, "") if rank == 2 else "",
        remainder=_RE_EDGE_NON_WORD.sub("", normalized[rest_start:]),
    )


def parse_places(texts: Iterable[str]) -> dict[str, ParsedPlace]:
    """Parse many places, each distinct string once; keys are the strings as given."""
    return {text: parse_place(text) for text in dict.fromkeys(texts)}


# --- name containment below the county ------------------------------------------------------------------------

# Unit words people add or leave out (张江 / 张江镇). Longest first so 街道办事处 goes before 街道.
_RE_UNIT_WORDS: Final = re.compile("街道办事处|街道办|居委会|村委会|街道|社区|小区|镇|乡|村")


@lru_cache(maxsize=100_000)
def normalize_scope(text: str) -> str:
    """Normalise a name below the county for containment: NFKC, simplified, case-folded, no spaces or punctuation."""
    text = normalize_address(text).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PSZC")


def _core(scope: str) -> str:
    return _RE_UNIT_WORDS.sub("", scope)


def scope_contains(travel_remainder: str, area_scope: str) -> bool:
    """Whether a travel place lies inside a risk area's free-text scope, both below the same division.

    An empty area scope is the whole division. Otherwise the area's scope must appear in the travel text
    (area 电子城街道 contains travel 电子城街道科技路8号), with unit words such as 街道/镇/乡/社区/村/小区
    allowed to be missing on either side (张江 ~ 张江镇). A travel place that stops above the area's scope
    (travel 张江镇, area 张江镇XX小区) is not contained: see ``scope_is_broader``.
    """
    area = normalize_scope(area_scope)
    if not area:
        return True
    travel = normalize_scope(travel_remainder)
    if not travel:
        return False
    if area in travel:
        return True
    area_core = _core(area)
    return len(area_core) >= _MIN_SHORT_NAME and area_core in _core(travel)


def scope_is_broader(travel_remainder: str, area_scope: str) -> bool:
    """Whether the travel place stops above the area's scope, so it may or may not have been inside it.

    True for travel 张江镇 (or 张江) against area 张江镇XX小区, and for an empty travel remainder against an area
    with a scope. False when the travel place is inside the area (``scope_contains``) or elsewhere.
    """
    area = normalize_scope(area_scope)
    if not area or scope_contains(travel_remainder, area_scope):
        return False
    travel = normalize_scope(travel_remainder)
    if not travel or area.startswith(travel):
        return True
    travel_core = _core(travel)
    return len(travel_core) >= _MIN_SHORT_NAME and _core(area).startswith(travel_core)
