"""A synthetic Yushu City for demos and benchmarks, deterministic for a given seed.

The 12 township-level units are real (``regions/data/yushu_divisions.csv``); everything below them — communities,
villages, grids, households, people, accounts — is invented and says so (``synthetic=True``, “（虚构）” in names).

Two layers:

* ``plan_city`` and ``iter_person_rows`` are pure: the same ``(persons, seed)`` always gives the same plan and the
  same people, whatever the database. Tests compare the database against them.
* ``seed_demo`` writes the plan, stage by stage, each stage in one transaction. Bulk rows (households, persons) go
  through PostgreSQL ``COPY`` when the database is PostgreSQL and a prepared ``executemany`` otherwise; accounts
  named in the demo guide go through the account services (so they are audited like any other), the thousands of
  generated per-grid accounts are bulk-inserted with one shared password hash (hashing each would take hours).
"""

from __future__ import annotations

import datetime
import hashlib
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from firstline.accounts.models import Department, DepartmentKind, Membership, User
from firstline.accounts.roles import Role
from firstline.accounts.services import membership_grant, user_create
from firstline.core import audit, identity
from firstline.core.bulk import bulk_insert, is_postgresql
from firstline.core.models import AuditAction
from firstline.demo import names
from firstline.demo.community import seed_community
from firstline.demo.quarantine import seed_quarantine
from firstline.demo.screening import seed_screening
from firstline.demo.tracing import seed_tracing
from firstline.dispatch.services import task_create
from firstline.people.models import IdType, Person
from firstline.regions.models import Building, Division, DivisionLevel, Grid, GridKind, Household
from firstline.regions.services import divisions_load

DIVISIONS_FILE = Path(__file__).resolve().parent.parent / "regions" / "data" / "yushu_divisions.csv"
CITY_CODE = "632701"
# The demo is set in October 2021 (the Yushu letter): ages and pasture dates count from this day, never from today.
REFERENCE_DATE = datetime.date(2021, 10, 1)

DEFAULT_PERSONS = 20_000
DEFAULT_SEED = 2021
DEFAULT_PASSWORD = "firstline-demo-2021"  # noqa: S105 - the published demo password

# Share of the city's households per township-level unit; street offices are urban (Jiegu is most of the town).
TOWNSHIP_SHARES: dict[str, float] = {
    "632701001": 0.30,  # 结古街道
    "632701002": 0.12,  # 扎西科街道
    "632701003": 0.12,  # 西杭街道
    "632701004": 0.08,  # 新寨街道
    "632701101": 0.05,  # 隆宝镇
    "632701102": 0.07,  # 下拉秀镇
    "632701200": 0.05,  # 仲达乡
    "632701201": 0.06,  # 巴塘乡
    "632701202": 0.04,  # 小苏莽乡
    "632701203": 0.04,  # 上拉秀乡
    "632701205": 0.04,  # 安冲乡
    "632701400": 0.03,  # 哈秀乡
}
FALLBACK_SHARE = 0.04
URBAN_GRID_HOUSEHOLDS = 400  # target; urban grids hold 300–500 households
RURAL_GRID_HOUSEHOLDS = 300  # a natural village
URBAN_GRIDS_PER_COMMUNITY = 4
RURAL_GRIDS_PER_VILLAGE = 2
HOUSEHOLDS_PER_BUILDING = 40
MAIN_TOWNSHIP = "632701001"  # 结古街道: must have ≥ 2 communities with ≥ 2 grids each (the named demo users)
FIRST_SECRETARY_TOWNSHIP = "632701101"  # 隆宝镇
MIN_MAIN_COMMUNITIES = 2
MIN_MAIN_GRIDS = 4

# Household sizes 1–8, mean ≈ 3.5 (7th census: 3.4 in Qinghai, larger in pastoral areas).
HOUSEHOLD_SIZES = (1, 2, 3, 4, 5, 6, 7, 8)
HOUSEHOLD_SIZE_WEIGHTS = (0.14, 0.19, 0.21, 0.19, 0.12, 0.08, 0.04, 0.03)
# Age pyramid (young, like Yushu's): (lowest age, highest age, share).
AGE_BANDS = ((0, 14, 0.25), (15, 29, 0.25), (30, 44, 0.23), (45, 59, 0.16), (60, 74, 0.09), (75, 95, 0.02))
# Household head: an adult.
HEAD_AGE_BANDS = ((20, 29, 0.20), (30, 44, 0.38), (45, 59, 0.28), (60, 74, 0.11), (75, 90, 0.03))

# Ethnic group of a household, and how often its members were born (registered) outside Yushu.
GROUPS = (("tibetan", 0.93), ("han", 0.05), ("hui", 0.015), ("other", 0.005))
OUTSIDER_SHARE = {"tibetan": 0.02, "han": 0.6, "hui": 0.5, "other": 0.5}
OUTSIDE_PREFIXES = {
    "tibetan": ("540102", "632722", "632723", "632724", "513328"),
    "han": ("630102", "630104", "630105", "510107", "110105", "620102", "410102", "500103"),
    "hui": ("630102", "632127", "640104", "622901"),
    "other": ("630102", "632126", "152501"),
}
# Share of each kind of deliberate duplicate registration (the duplicates page needs something to show).
DUPLICATE_PHONE_SHARE = 0.0005
DUPLICATE_NAME_BIRTH_SHARE = 0.0005
COVERED_SHARE = 0.8  # 分片包干: about 80 % of a grid's households have a responsible cadre / party member
HOUSEHOLDS_PER_CADRE = 10  # “1包10户”
PASTORAL_SHARE = 0.3  # rural households currently at a seasonal pasture

# Generated accounts (one per grid and role) start with these prefixes; the named demo accounts have none.
GENERATED_PREFIXES = ("gl-", "gw-", "pm-", "vs-", "to-")
OTP_USERNAMES = ("city", "admin", "auditor")

DEPARTMENTS = (
    ("police", "玉树市公安局", DepartmentKind.POLICE),
    ("health", "玉树市卫生健康局", DepartmentKind.HEALTH),
    ("transport", "玉树市交通运输局", DepartmentKind.TRANSPORT),
    ("urban_management", "玉树市城市管理综合执法局", DepartmentKind.URBAN_MANAGEMENT),
    ("market_regulation", "玉树市市场监督管理局", DepartmentKind.MARKET_REGULATION),
    ("emergency_management", "玉树市应急管理局", DepartmentKind.EMERGENCY_MANAGEMENT),
)

PERSON_BATCH = 5000
PROGRESS_EVERY = 100_000

Log = Callable[[str], None]


class SeedError(Exception):
    """The demo cannot be seeded (missing source file, database not empty …)."""


# --- the plan (pure) -----------------------------------------------------------------------------------------


@dataclass
class GridPlan:
    code: str
    number: int
    name: str
    division_code: str
    urban: bool
    address_prefix: str
    households: int = 0
    kind: str = GridKind.COMPREHENSIVE
    institution: str = ""


@dataclass
class VillagePlan:
    code: str
    name: str
    level: str
    township_code: str
    grids: list[GridPlan] = field(default_factory=list)


@dataclass
class CityPlan:
    persons: int
    seed: int
    villages: list[VillagePlan]
    household_sizes: list[int]

    @property
    def grids(self) -> list[GridPlan]:
        return [grid for village in self.villages for grid in village.grids]

    def household_grids(self) -> Iterator[tuple[GridPlan, int]]:
        """(grid, household number in the grid) for every household, in global household order."""
        for grid in self.grids:
            for number in range(1, grid.households + 1):
                yield grid, number


def _short_name(township_name: str) -> str:
    for suffix in ("街道", "镇", "乡"):
        if township_name.endswith(suffix) and len(township_name) > len(suffix):
            return township_name[: -len(suffix)]
    return township_name


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder; sums exactly)."""
    weight_sum = sum(weights)
    raw = [total * w / weight_sum for w in weights]
    parts = [math.floor(r) for r in raw]
    order = sorted(range(len(weights)), key=lambda i: (raw[i] - parts[i], -i), reverse=True)
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _grid_count(households: int, target: int, low: int, high: int) -> int:
    """Grids for ``households``: as close to ``target`` households each as the 300–500 band allows."""
    if households <= 0:
        return 1
    lowest, highest = max(1, math.ceil(households / high)), max(1, households // low)
    best = max(1, round(households / target))
    return min(max(best, lowest), max(highest, lowest))


def plan_city(*, persons: int, seed: int, townships: Sequence[tuple[str, str, str]]) -> CityPlan:
    """The synthetic city: villages/communities, grids and household sizes for ``persons`` people.

    ``townships`` are (code, name, level) of the township-level units, as loaded from the divisions file.
    """
    if persons < 1:
        raise SeedError("persons must be at least 1")
    rng = random.Random(f"{seed}:plan")
    size_cum = list(_cumulative(HOUSEHOLD_SIZE_WEIGHTS))
    sizes: list[int] = []
    remaining = persons
    while remaining > 0:
        size = min(rng.choices(HOUSEHOLD_SIZES, cum_weights=size_cum)[0], remaining)
        sizes.append(size)
        remaining -= size
    units = sorted(townships)
    shares = [TOWNSHIP_SHARES.get(code, FALLBACK_SHARE) for code, _name, _level in units]
    per_unit = _split(len(sizes), shares)
    villages: list[VillagePlan] = []
    for (code, name, level), households in zip(units, per_unit, strict=True):
        urban = level == DivisionLevel.STREET
        short = _short_name(name)
        if urban:
            grid_total = _grid_count(households, URBAN_GRID_HOUSEHOLDS, 300, 500)
            per_village = URBAN_GRIDS_PER_COMMUNITY
        else:
            grid_total = _grid_count(households, RURAL_GRID_HOUSEHOLDS, 200, 450)
            per_village = RURAL_GRIDS_PER_VILLAGE
        village_total = max(1, round(grid_total / per_village))
        if code == MAIN_TOWNSHIP:
            grid_total = max(grid_total, MIN_MAIN_GRIDS)
            village_total = max(village_total, MIN_MAIN_COMMUNITIES)
        village_total = min(village_total, 199, grid_total)
        grids_per_village = _split(grid_total, [1.0] * village_total)
        jitter = [rng.uniform(0.95, 1.05) for _ in range(grid_total)]
        grid_households = iter(_split(households, jitter))
        for v_index, grid_count in enumerate(grids_per_village, start=1):
            if urban:
                v_code, v_name, v_level = f"{code}{v_index:03d}", f"{short}第{v_index}社区（虚构）", "community"
                prefix = f"{name}第{v_index}社区"
            else:
                # Village committees are numbered 201–399 in the statistical codes (communities 001–199).
                v_code, v_name, v_level = f"{code}{200 + v_index:03d}", f"{short}{v_index}村（虚构）", "village"
                prefix = f"{name}{short}{v_index}村"
            village = VillagePlan(code=v_code, name=v_name, level=v_level, township_code=code)
            for g_number in range(1, grid_count + 1):
                village.grids.append(
                    GridPlan(
                        code=f"{v_code}-G{g_number:03d}",
                        number=g_number,
                        name=f"第{g_number}网格",
                        division_code=v_code,
                        urban=urban,
                        address_prefix=f"{prefix}第{g_number}网格",
                        households=next(grid_households),
                    )
                )
            villages.append(village)
    # One dedicated grid: a school whose own party branch screens its staff and pupils (no households of its own).
    first_community = next(v for v in villages if v.township_code == MAIN_TOWNSHIP)
    number = len(first_community.grids) + 1
    first_community.grids.append(
        GridPlan(
            code=f"{first_community.code}-G{number:03d}",
            number=number,
            name=f"第{number}网格（专属）",
            division_code=first_community.code,
            urban=True,
            address_prefix="",
            kind=GridKind.DEDICATED,
            institution=names.DEDICATED_INSTITUTION,
        )
    )
    return CityPlan(persons=persons, seed=seed, villages=villages, household_sizes=sizes)


def _cumulative(weights: Iterable[float]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total


# --- people (pure) --------------------------------------------------------------------------------------------


class PersonRow(NamedTuple):
    household_index: int
    name: str
    name_pinyin: str
    name_initials: str
    id_number: str
    phone: str
    sex: str
    birth_date: datetime.date
    ethnicity: str


class _PeopleGenerator:
    """Draws people household by household from one ``random.Random``; identical output for identical seeds."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"{seed}:people")
        self.used_ids: set[str] = set()
        self.used_phones: set[str] = set()
        self.recent: list[PersonRow] = []  # a few earlier people: sources for deliberate duplicates
        self.reference = REFERENCE_DATE.toordinal()
        self.group_names = [g for g, _w in GROUPS]
        self.group_cum = list(_cumulative(w for _g, w in GROUPS))
        self.age_bands = [(low, high) for low, high, _w in AGE_BANDS]
        self.age_cum = list(_cumulative(w for _l, _h, w in AGE_BANDS))
        self.head_bands = [(low, high) for low, high, _w in HEAD_AGE_BANDS]
        self.head_cum = list(_cumulative(w for _l, _h, w in HEAD_AGE_BANDS))
        self.common_cum = names.zipf_cum_weights(len(names.TIBETAN_COMMON))
        self.male_cum = names.zipf_cum_weights(len(names.TIBETAN_MALE))
        self.female_cum = names.zipf_cum_weights(len(names.TIBETAN_FEMALE))
        self.surname_cum = names.zipf_cum_weights(len(names.HAN_SURNAMES), 0.7)
        self.hui_cum = names.zipf_cum_weights(len(names.HUI_SURNAMES), 1.5)
        self.han_male_cum = names.zipf_cum_weights(len(names.HAN_GIVEN_MALE), 0.6)
        self.han_female_cum = names.zipf_cum_weights(len(names.HAN_GIVEN_FEMALE), 0.6)

    # names
    def tibetan_name(self, male: bool) -> str:
        rng = self.rng
        pool, cum = (names.TIBETAN_MALE, self.male_cum) if male else (names.TIBETAN_FEMALE, self.female_cum)
        second = rng.choices(pool, cum_weights=cum)[0]
        if rng.random() < 0.35:
            return second
        first = rng.choices(names.TIBETAN_COMMON, cum_weights=self.common_cum)[0]
        return second if first == second else first + second

    def han_given(self, male: bool) -> str:
        if male:
            return self.rng.choices(names.HAN_GIVEN_MALE, cum_weights=self.han_male_cum)[0]
        return self.rng.choices(names.HAN_GIVEN_FEMALE, cum_weights=self.han_female_cum)[0]

    # identity numbers
    def birth_date(self, head: bool) -> datetime.date:
        rng = self.rng
        bands, cum = (self.head_bands, self.head_cum) if head else (self.age_bands, self.age_cum)
        low, high = rng.choices(bands, cum_weights=cum)[0]
        age_days = rng.randint(low * 365 + 1, high * 365 + 364)
        return datetime.date.fromordinal(self.reference - age_days)

    def id_number(self, prefix: str, born: datetime.date, male: bool) -> str:
        body = f"{prefix}{born:%Y%m%d}"
        while True:
            first17 = f"{body}{self.rng.randrange(500) * 2 + (1 if male else 0):03d}"
            if first17 not in self.used_ids:
                self.used_ids.add(first17)
                return first17 + identity.resident_id_check_char(first17)

    def phone(self, born: datetime.date) -> str:
        rng = self.rng
        child = self.reference - born.toordinal() < 12 * 365
        if rng.random() < (0.35 if child else 0.045):
            return ""
        while True:
            phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
            if phone not in self.used_phones:
                self.used_phones.add(phone)
                return phone

    # people
    def household(self, index: int, size: int) -> Iterator[PersonRow]:
        rng = self.rng
        group = rng.choices(self.group_names, cum_weights=self.group_cum)[0]
        surname = ""
        if group == "hui":
            surname = rng.choices(names.HUI_SURNAMES, cum_weights=self.hui_cum)[0]
        elif group != "tibetan":
            surname = rng.choices(names.HAN_SURNAMES, cum_weights=self.surname_cum)[0]
        other_ethnicity = rng.choice(names.OTHER_ETHNICITIES)
        for member in range(size):
            roll = rng.random()
            if self.recent and roll < DUPLICATE_PHONE_SHARE + DUPLICATE_NAME_BIRTH_SHARE:
                yield self.duplicate(index, phone_kind=roll < DUPLICATE_PHONE_SHARE)
                continue
            head = member == 0
            male = rng.random() < (0.7 if head else 0.42)  # heads are mostly men; overall about 50:50
            born = self.birth_date(head)
            if group == "tibetan":
                name, ethnicity = self.tibetan_name(male), "藏族"
            else:
                family = surname if rng.random() < 0.7 else ""
                if not family:
                    pool, cum = (
                        (names.HUI_SURNAMES, self.hui_cum) if group == "hui" else (names.HAN_SURNAMES, self.surname_cum)
                    )
                    family = rng.choices(pool, cum_weights=cum)[0]
                name = family + self.han_given(male)
                ethnicity = {"han": "汉族", "hui": "回族"}.get(group, other_ethnicity)
            outsider = rng.random() < OUTSIDER_SHARE[group]
            prefix = rng.choice(OUTSIDE_PREFIXES[group]) if outsider else CITY_CODE
            row = PersonRow(
                household_index=index,
                name=name,
                name_pinyin=identity.name_pinyin(name),
                name_initials=identity.name_initials(name),
                id_number=self.id_number(prefix, born, male),
                phone=self.phone(born),
                sex="M" if male else "F",
                birth_date=born,
                ethnicity=ethnicity,
            )
            if len(self.recent) < 64:
                self.recent.append(row)
            else:
                self.recent[rng.randrange(64)] = row
            yield row

    def duplicate(self, index: int, *, phone_kind: bool) -> PersonRow:
        """A second registration of someone already listed: same phone and a look-alike name, or the same
        name and birth date under another ID number (a typo in the sequence digits)."""
        rng = self.rng
        source = rng.choice(self.recent)
        male = source.sex == "M"
        if phone_kind and source.phone:
            name, phone = names.similar_name(source.name), source.phone
            born = self.birth_date(head=True)
        else:
            name, phone, born = source.name, "", source.birth_date
        return PersonRow(
            household_index=index,
            name=name,
            name_pinyin=identity.name_pinyin(name),
            name_initials=identity.name_initials(name),
            id_number=self.id_number(source.id_number[:6], born, male),
            phone=phone,
            sex=source.sex,
            birth_date=born,
            ethnicity=source.ethnicity,
        )


def iter_person_rows(plan: CityPlan) -> Iterator[PersonRow]:
    """Every person of the plan, household by household (the order they are inserted in)."""
    generator = _PeopleGenerator(plan.seed)
    for index, size in enumerate(plan.household_sizes):
        yield from generator.household(index, size)


# --- writing -------------------------------------------------------------------------------------------------


@dataclass
class SeedReport:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)


# The person columns the seed writes (and the benchmark's COPY baseline copies), in order.
PERSON_COLUMNS = (
    "created_at",
    "updated_at",
    "version",
    "name",
    "name_pinyin",
    "name_initials",
    "id_type",
    "id_number",
    "phone",
    "sex",
    "birth_date",
    "ethnicity",
    "household_id",
    "path",
)


class _Seeder:
    def __init__(self, *, persons: int, seed: int, password: str, log: Log, insert_method: str) -> None:
        self.persons, self.seed, self.password, self.log = persons, seed, password, log
        self.insert_method = insert_method
        self.report = SeedReport()
        self.rng = random.Random(f"{seed}:accounts")
        self.now = timezone.now()  # one timestamp for every bulk row's created_at/updated_at (as auto_now would)
        self.names = _PeopleGenerator(seed + 1)  # display names for accounts, independent of the people

    def stage(self, name: str) -> _Stage:
        return _Stage(self, name)

    def display_name(self) -> str:
        return self.names.tibetan_name(self.rng.random() < 0.6)

    # stages
    def load_divisions(self) -> list[tuple[str, str, str]]:
        if not DIVISIONS_FILE.is_file():
            raise SeedError(f"divisions file not found: {DIVISIONS_FILE}")
        report = divisions_load(actor=None, source=DIVISIONS_FILE)
        if report.errors:
            raise SeedError(f"{DIVISIONS_FILE}: " + "; ".join(report.errors))
        townships = list(
            Division.objects.filter(
                code__startswith=CITY_CODE, level__in=[DivisionLevel.STREET, DivisionLevel.TOWN, DivisionLevel.TOWNSHIP]
            ).values_list("code", "name", "level")
        )
        if not townships:
            raise SeedError(f"{DIVISIONS_FILE} has no township-level units under {CITY_CODE}")
        self.report.counts["divisions_loaded"] = report.created + report.updated + report.unchanged
        return townships

    def create_areas(self, plan: CityPlan) -> None:
        Division.objects.bulk_create(
            [
                Division(code=v.code, name=v.name, level=v.level, parent_id=v.township_code, synthetic=True)
                for v in plan.villages
            ],
            batch_size=1000,
        )
        Grid.objects.bulk_create(
            [
                Grid(
                    code=g.code,
                    path=g.code,
                    name=g.name,
                    division_id=g.division_code,
                    kind=g.kind,
                    institution=g.institution,
                    synthetic=True,
                )
                for g in plan.grids
            ],
            batch_size=1000,
        )
        grid_ids = dict(Grid.objects.filter(path__startswith=CITY_CODE).values_list("code", "id"))
        buildings = [
            Building(code=f"{g.code}-B{b:03d}", path=g.code, grid_id=grid_ids[g.code], name=f"{b}号楼")
            for g in plan.grids
            if g.urban and g.kind == GridKind.COMPREHENSIVE
            for b in range(1, _building_count(g.households) + 1)
        ]
        Building.objects.bulk_create(buildings, batch_size=1000)
        for code, name, kind in DEPARTMENTS:
            Department.objects.get_or_create(code=code, defaults={"name": name, "kind": kind, "division_id": CITY_CODE})
        self.report.counts.update(
            villages=sum(v.level == "village" for v in plan.villages),
            communities=sum(v.level == "community" for v in plan.villages),
            grids=len(plan.grids),
            buildings=len(buildings),
            departments=len(DEPARTMENTS),
        )

    def create_named_users(self, plan: CityPlan) -> dict[str, User]:
        main = [v for v in plan.villages if v.township_code == MAIN_TOWNSHIP]
        first_community, second_community = main[0], main[1]
        lead_grid = Grid.objects.get(code=first_community.grids[0].code)
        other_grid = Grid.objects.get(code=second_community.grids[0].code)
        firstsec_village = next(
            (v for v in plan.villages if v.township_code == FIRST_SECRETARY_TOWNSHIP),
            next(v for v in plan.villages if v.level == "village"),
        )
        division = {d.code: d for d in Division.objects.filter(code__in=[CITY_CODE, MAIN_TOWNSHIP])}
        village_divisions = {
            d.code: d for d in Division.objects.filter(code__in=[first_community.code, firstsec_village.code])
        }
        department = {d.code: d for d in Department.objects.all()}
        specs: list[tuple[str, str, dict[str, Any]]] = [
            ("city", Role.CITY_COMMAND, {"division": division[CITY_CODE]}),
            ("township", Role.TOWNSHIP_OFFICER, {"division": division[MAIN_TOWNSHIP]}),
            ("village", Role.VILLAGE_SECRETARY, {"division": village_divisions[first_community.code]}),
            ("firstsec", Role.FIRST_SECRETARY, {"division": village_divisions[firstsec_village.code]}),
            ("gridlead", Role.GRID_LEADER, {"grid": lead_grid}),
            ("grid", Role.GRID_WORKER, {"grid": lead_grid}),
            ("grid2", Role.GRID_WORKER, {"grid": other_grid}),
            ("volunteer", Role.VOLUNTEER, {"grid": lead_grid}),
            ("police", Role.DEPARTMENT_OFFICER, {"department": department["police"]}),
            ("health", Role.DEPARTMENT_OFFICER, {"department": department["health"]}),
            ("cdc", Role.CDC, {"division": division[CITY_CODE]}),
            ("site", Role.SITE_STAFF, {"division": division[MAIN_TOWNSHIP]}),
            ("admin", Role.DATA_ADMIN, {"division": division[CITY_CODE]}),
            ("auditor", Role.AUDITOR, {"division": division[CITY_CODE]}),
        ]
        users: dict[str, User] = {}
        for username, role, anchor in specs:
            user = user_create(actor=None, username=username, password=self.password, display_name=self.display_name())
            membership_grant(actor=None, user=user, role=role, **anchor)
            users[username] = user
        lead_grid.leader = users["gridlead"]
        lead_grid.save(update_fields=["leader", "updated_at"])
        return users

    def create_generated_users(self, plan: CityPlan, named: dict[str, User]) -> dict[str, list[int]]:
        """Per grid: a leader, a worker and enough party-member volunteers for “1包10户”; a secretary per village
        and an officer per township without a named one. Returns the responsible pool (user ids) per grid."""
        encoded = make_password(self.password)  # hashed once: PBKDF2 per account would take hours at scale
        grids = {g.code: g for g in Grid.objects.filter(path__startswith=CITY_CODE)}
        named_grid_roles = {
            (grid_code, role): user_id
            for grid_code, role, user_id in Membership.objects.filter(grid__isnull=False).values_list(
                "grid__code", "role", "user_id"
            )
        }
        named_village_roles = set(
            Membership.objects.filter(role=Role.VILLAGE_SECRETARY).values_list("division_id", flat=True)
        )
        named_township_roles = set(
            Membership.objects.filter(role=Role.TOWNSHIP_OFFICER).values_list("division_id", flat=True)
        )
        # (username, role, grid code or None, division code or None)
        wanted: list[tuple[str, str, str | None, str | None]] = []
        volunteers: dict[str, int] = {}
        for township in sorted({v.township_code for v in plan.villages}):
            if township not in named_township_roles:
                wanted.append((f"to-{township}", Role.TOWNSHIP_OFFICER, None, township))
        for village in plan.villages:
            if village.code not in named_village_roles:
                wanted.append((f"vs-{village.code}", Role.VILLAGE_SECRETARY, None, village.code))
            for g in village.grids:
                if (g.code, Role.GRID_LEADER) not in named_grid_roles:
                    wanted.append((f"gl-{g.code}", Role.GRID_LEADER, g.code, None))
                if (g.code, Role.GRID_WORKER) not in named_grid_roles:
                    wanted.append((f"gw-{g.code}", Role.GRID_WORKER, g.code, None))
                covered = round(g.households * COVERED_SHARE)
                cadres = math.ceil(covered / HOUSEHOLDS_PER_CADRE) if covered else 0
                # The leader and worker take ten households each; a named volunteer counts as one of the rest.
                existing = 2 + ((g.code, Role.VOLUNTEER) in named_grid_roles)
                volunteers[g.code] = max(cadres - existing, 0)
                for n in range(1, volunteers[g.code] + 1):
                    wanted.append((f"pm-{g.code}-{n:02d}", Role.VOLUNTEER, g.code, None))
        User.objects.bulk_create(
            [
                User(username=username, password=encoded, display_name=self.display_name())
                for username, _role, _grid, _division in wanted
            ],
            batch_size=2000,
        )
        user_ids = dict(User.objects.values_list("username", "id"))
        Membership.objects.bulk_create(
            [
                Membership(
                    user_id=user_ids[username],
                    role=role,
                    grid_id=grids[grid_code].id if grid_code else None,
                    division_id=division_code,
                    path=grid_code or division_code or "",
                    active=True,
                )
                for username, role, grid_code, division_code in wanted
            ],
            batch_size=2000,
        )
        leaders = []
        for code, grid in grids.items():
            if grid.leader_id is None:
                grid.leader_id = user_ids[f"gl-{code}"]
                grid.updated_at = self.now
                leaders.append(grid)
        Grid.objects.bulk_update(leaders, ["leader", "updated_at"], batch_size=1000)
        self.report.counts["generated_users"] = len(wanted)
        pools: dict[str, list[int]] = {}
        for g in plan.grids:
            pool = [
                named_grid_roles.get((g.code, Role.GRID_LEADER)) or user_ids[f"gl-{g.code}"],
                named_grid_roles.get((g.code, Role.GRID_WORKER)) or user_ids[f"gw-{g.code}"],
            ]
            if (g.code, Role.VOLUNTEER) in named_grid_roles:
                pool.append(named_grid_roles[(g.code, Role.VOLUNTEER)])
            pool += [user_ids[f"pm-{g.code}-{n:02d}"] for n in range(1, volunteers[g.code] + 1)]
            pools[g.code] = pool
        self.report.counts["users"] = len(named) + len(wanted)
        return pools

    def household_rows(self, plan: CityPlan, pools: dict[str, list[int]]) -> Iterator[tuple[Any, ...]]:
        # Queried here, before the generator starts: no query may run on the connection while COPY consumes it.
        grid_ids = dict(Grid.objects.filter(path__startswith=CITY_CODE).values_list("code", "id"))
        building_ids = dict(Building.objects.filter(path__startswith=CITY_CODE).values_list("code", "id"))
        return self._household_rows(plan, pools, grid_ids, building_ids)

    def _household_rows(
        self, plan: CityPlan, pools: dict[str, list[int]], grid_ids: dict[str, int], building_ids: dict[str, int]
    ) -> Iterator[tuple[Any, ...]]:
        rng = random.Random(f"{self.seed}:households")
        reference = REFERENCE_DATE.toordinal()
        for g in plan.grids:
            if not g.households:
                continue
            uncovered = set(rng.sample(range(1, g.households + 1), g.households - round(g.households * COVERED_SHARE)))
            pool = pools[g.code]
            covered_seen = 0
            for number in range(1, g.households + 1):
                responsible = None
                if number not in uncovered and pool:
                    # Neighbouring households go to the same cadre, ten at a time.
                    responsible = pool[min(covered_seen // HOUSEHOLDS_PER_CADRE, len(pool) - 1)]
                    covered_seen += 1
                building_id, location, located_on = None, "", None
                if g.urban:
                    b = (number - 1) // HOUSEHOLDS_PER_BUILDING + 1
                    building_id = building_ids[f"{g.code}-B{b:03d}"]
                    address = f"{g.address_prefix} {b}号楼 {number}号"
                else:
                    address = f"{g.address_prefix} {number}号"
                    if rng.random() < PASTORAL_SHARE:
                        location = rng.choice(names.PASTURES)
                        located_on = datetime.date.fromordinal(reference - rng.randrange(120))
                yield (
                    self.now,
                    self.now,
                    1,
                    f"{g.code}-H{number:04d}",
                    g.code,
                    grid_ids[g.code],
                    building_id,
                    address,
                    location,
                    located_on,
                    responsible,
                )

    def create_households(self, plan: CityPlan, pools: dict[str, list[int]]) -> list[tuple[int, str]]:
        fields = (
            "created_at",
            "updated_at",
            "version",
            "code",
            "path",
            "grid_id",
            "building_id",
            "address",
            "current_location",
            "current_location_on",
            "responsible_id",
        )
        count = bulk_insert(Household, fields, self.household_rows(plan, pools), method=self.insert_method)
        ids = dict(Household.objects.filter(path__startswith=CITY_CODE).values_list("code", "id"))
        self.report.counts["households"] = count
        self.report.counts["households_uncovered"] = Household.objects.filter(
            path__startswith=CITY_CODE, responsible__isnull=True
        ).count()
        return [(ids[f"{g.code}-H{n:04d}"], g.code) for g, n in plan.household_grids()]

    def create_persons(self, plan: CityPlan, households: list[tuple[int, str]]) -> None:
        fields = PERSON_COLUMNS
        now, resident = self.now, str(IdType.RESIDENT)
        started = time.perf_counter()

        def rows() -> Iterator[tuple[Any, ...]]:
            for p in iter_person_rows(plan):
                household_id, path = households[p.household_index]
                yield (
                    now,
                    now,
                    1,
                    p.name,
                    p.name_pinyin,
                    p.name_initials,
                    resident,
                    p.id_number,
                    p.phone,
                    p.sex,
                    p.birth_date,
                    p.ethnicity,
                    household_id,
                    path,
                )

        def progress(count: int) -> None:
            elapsed = time.perf_counter() - started
            self.log(f"  persons: {count:,} ({count / elapsed:,.0f}/s)")

        count = bulk_insert(Person, fields, rows(), method=self.insert_method, progress=progress)
        self.report.counts["persons"] = count

    def create_tasks(self, plan: CityPlan, named: dict[str, User]) -> None:
        rng = random.Random(f"{self.seed}:tasks")
        grid = Grid.objects.get(code=plan.villages[0].grids[0].code)
        residents = list(Person.objects.filter(path=grid.path).order_by("id_number"))
        now = timezone.now()
        created = 0
        for index, person in enumerate(rng.sample(residents, min(20, len(residents)))):
            overdue = index < 6
            hours = rng.randint(1, 30)
            task_create(
                actor=None,
                title=f"入户核查：{person.name}",
                kind="home_visit",
                related=person,
                assignee_grid=grid,
                due_at=now - datetime.timedelta(hours=hours) if overdue else now + datetime.timedelta(hours=hours),
                priority=3 if overdue else 2,
                notes="演示数据：核实居住情况、近14天行程和健康码。",
            )
            created += 1
        police = Department.objects.get(code="police")
        township_people = list(Person.objects.filter(path__startswith=MAIN_TOWNSHIP).order_by("id_number")[:2000])
        for person in rng.sample(township_people, min(3, len(township_people))):
            task_create(
                actor=None,
                title=f"协查：核实{person.name}的行程轨迹",
                kind="investigation",
                related=person,
                assignee_department=police,
                due_at=now + datetime.timedelta(hours=rng.choice((2, 8, 24))),
                priority=3,
                notes="演示数据：上级推送的协查人员，请核实行程并反馈。",
            )
            created += 1
        self.report.counts["tasks"] = created

    def create_totp_devices(self, named: dict[str, User]) -> None:
        for username in OTP_USERNAMES:
            key = hashlib.sha1(f"firstline-demo-{self.seed}-{username}".encode(), usedforsecurity=False).hexdigest()
            TOTPDevice.objects.create(user=named[username], name="demo", confirmed=True, key=key)
        self.report.counts["totp_devices"] = len(OTP_USERNAMES)


def _building_count(households: int) -> int:
    return max(1, math.ceil(households / HOUSEHOLDS_PER_BUILDING))


class _Stage:
    """``with seeder.stage("persons"):`` — one transaction and one timed log line per stage."""

    def __init__(self, seeder: _Seeder, name: str) -> None:
        self.seeder, self.name = seeder, name
        self.atomic = transaction.atomic()

    def __enter__(self) -> None:
        self.started = time.perf_counter()
        self.seeder.log(f"{self.name} …")
        self.atomic.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self.atomic.__exit__(*exc)
        if exc[0] is None:
            seconds = time.perf_counter() - self.started
            self.seeder.report.stage_seconds[self.name] = seconds
            self.seeder.log(f"{self.name}: done in {seconds:.1f} s")


def database_has_demo() -> bool:
    return Person.objects.exists() or Grid.objects.filter(path__startswith=CITY_CODE).exists()


def seed_demo(
    *,
    persons: int = DEFAULT_PERSONS,
    seed: int = DEFAULT_SEED,
    password: str = DEFAULT_PASSWORD,
    log: Log | None = None,
    insert_method: str = "auto",
) -> SeedReport:
    """Build the synthetic city in an empty database; raises SeedError when it cannot."""
    say: Log = log or (lambda _line: None)
    if database_has_demo():
        raise SeedError("the database already has persons or grids; flush it first (or use --if-empty)")
    started = time.perf_counter()
    seeder = _Seeder(persons=persons, seed=seed, password=password, log=say, insert_method=insert_method)
    with seeder.stage("divisions"):
        townships = seeder.load_divisions()
    plan = plan_city(persons=persons, seed=seed, townships=townships)
    with seeder.stage("villages, grids, buildings, departments"):
        seeder.create_areas(plan)
    households_planned = len(plan.household_sizes)
    say(f"  {len(plan.villages)} villages/communities, {len(plan.grids)} grids, {households_planned:,} households")
    with seeder.stage("named accounts"):
        named = seeder.create_named_users(plan)
    with seeder.stage("grid accounts"):
        pools = seeder.create_generated_users(plan, named)
    say(f"  {seeder.report.counts['generated_users']:,} generated accounts")
    with seeder.stage("households"):
        households = seeder.create_households(plan, pools)
    counts = seeder.report.counts
    say(f"  {counts['households']:,} households, {counts['households_uncovered']:,} uncovered")
    with seeder.stage("persons"):
        seeder.create_persons(plan, households)
    with seeder.stage("tasks and second factors"):
        seeder.create_tasks(plan, named)
        seeder.create_totp_devices(named)
        counts = seeder.report.counts
        audit.record(
            actor=None,
            action=AuditAction.OTHER,
            note="seeded demo: "
            + ", ".join(f"{key}={value}" for key, value in sorted({"seed": seed, **counts}.items())),
        )
    with seeder.stage("screening: risk areas, registration points, campaign, imported arrivals"):
        counts = seed_screening(
            users=named, township_code=MAIN_TOWNSHIP, arrivals=min(300, max(30, persons // 100)), seed=seed
        )
        seeder.report.counts.update({f"screening_{key}": value for key, value in counts.items()})
    with seeder.stage("tracing: venues, check-ins, cases traced from them"):
        counts = seed_tracing(
            users=named, township_code=MAIN_TOWNSHIP, seed=seed, visitors=min(200, max(20, persons // 50))
        )
        seeder.report.counts.update({f"tracing_{key}": value for key, value in counts.items()})
    with seeder.stage("quarantine: sites, placements, samplings, health checks"):
        counts = seed_quarantine(users=named, township_code=MAIN_TOWNSHIP, seed=seed, password=password)
        seeder.report.counts.update({f"quarantine_{key}": value for key, value in counts.items()})
    with seeder.stage("community: frontline care, members on duty, notices, public reports"):
        counts = seed_community(township_code=MAIN_TOWNSHIP, city_code=CITY_CODE, seed=seed, password=password)
        seeder.report.counts.update({f"community_{key}": value for key, value in counts.items()})
    with seeder.stage("planner statistics (ANALYZE)"):
        analyze_tables([Person, Household, Building, Grid, Division, User, Membership])
    seeder.report.seconds = time.perf_counter() - started
    return seeder.report


def analyze_tables(model_list: Sequence[type[models.Model]]) -> None:
    """Refresh the query planner's statistics after a bulk load.

    Without them PostgreSQL plans the freshly loaded person table from default guesses (e.g. “merged_into IS NULL
    matches 0.1 % of rows”) until autovacuum gets round to it, and the first minutes of directory searches pay.
    """
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute("ANALYZE " + ", ".join(quote(m._meta.db_table) for m in model_list))
        elif connection.vendor == "sqlite":
            # Without sqlite_stat1 SQLite also prefers the merged_into index (every row NULL) to the path index.
            for model in model_list:
                cursor.execute(f"ANALYZE {quote(model._meta.db_table)}")
