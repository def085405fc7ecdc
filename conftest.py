"""Shared fixtures: a small city with named users per role and jurisdiction (the STYLE.md cast).

Township 结古街道 (632701001) has two synthetic communities, each with one grid (A and B). Township 隆宝镇
(632701101) has a village with grid C. Users: ``grid_a`` / ``grid_b`` grid workers, ``township`` officer of
结古街道, ``other_township`` officer of 隆宝镇, ``city`` command, ``police`` officer, ``cdc``, ``admin``,
``auditor``, ``volunteer`` (grid A) and ``outsider`` (no role at all).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# Property tests assert behaviour, not speed: on a loaded 2-core CI machine a draw can take a second.
hypothesis_settings.register_profile(
    "firstline", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
hypothesis_settings.load_profile("firstline")

DIVISIONS_CSV = Path(__file__).parent / "firstline" / "regions" / "data" / "yushu_divisions.csv"
PASSWORD = "correct-horse-battery-9"  # noqa: S105 - test accounts only


@dataclass
class City:
    community_a: Any
    community_b: Any
    village_c: Any
    grid_a: Any
    grid_b: Any
    grid_c: Any
    household_a: Any
    household_a2: Any
    household_b: Any
    household_c: Any
    person_a: Any
    person_b: Any
    person_c: Any
    police: Any
    users: dict[str, Any]

    def __getitem__(self, username: str) -> Any:
        return self.users[username]


def make_person(*, household: Any, name: str, id_number: str, phone: str = "") -> Any:
    from firstline.people.models import Person
    from firstline.people.services import clean_person_fields

    values = clean_person_fields(name=name, id_type="resident", id_number=id_number, phone=phone)
    return Person.objects.create(household=household, path=household.path, **values)


def valid_id(body17: str) -> str:
    from firstline.core.identity import resident_id_check_char

    return body17 + resident_id_check_char(body17)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Production hashes passwords slowly on purpose; tests create many accounts and need not."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache (rate-limit counters, the pending clusters-recomputation flag …)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def english(settings: Any) -> Any:
    """Messages in English for tests that assert their wording: services called directly and every request
    (the installation's default language is what a request without the language cookie gets)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def city(db: Any) -> City:
    from firstline.accounts.models import Department
    from firstline.accounts.services import membership_grant, user_create
    from firstline.regions.models import Division, Grid, Household
    from firstline.regions.services import divisions_load

    report = divisions_load(actor=None, source=DIVISIONS_CSV)
    assert not report.errors, report.errors
    community_a = Division.objects.create(
        code="632701001001", name="测试甲社区", level="community", parent_id="632701001", synthetic=True
    )
    community_b = Division.objects.create(
        code="632701001002", name="测试乙社区", level="community", parent_id="632701001", synthetic=True
    )
    village_c = Division.objects.create(
        code="632701101001", name="测试丙村", level="village", parent_id="632701101", synthetic=True
    )
    grids = {}
    for key, division in (("a", community_a), ("b", community_b), ("c", village_c)):
        code = f"{division.code}-G001"
        grids[key] = Grid.objects.create(code=code, path=code, name=f"网格{key.upper()}", division=division)
    households = {}
    for key, grid, number in (("a", grids["a"], 1), ("a2", grids["a"], 2), ("b", grids["b"], 1), ("c", grids["c"], 1)):
        households[key] = Household.objects.create(
            code=f"{grid.code}-H{number:04d}", path=grid.path, grid=grid, address=f"{grid.name} {number}号"
        )
    police = Department.objects.create(code="police", name="玉树市公安局", kind="police", division_id="632701")
    users: dict[str, Any] = {}

    def user(username: str, role: str | None = None, **anchor: Any) -> Any:
        account = user_create(actor=None, username=username, password=PASSWORD, display_name=username)
        if role:
            membership_grant(actor=None, user=account, role=role, **anchor)
        users[username] = account
        return account

    user("grid_a", "grid_worker", grid=grids["a"])
    user("grid_b", "grid_worker", grid=grids["b"])
    user("grid_lead_a", "grid_leader", grid=grids["a"])
    user("volunteer", "volunteer", grid=grids["a"])
    user("village_a", "village_secretary", division=community_a)
    user("township", "township_officer", division=Division.objects.get(code="632701001"))
    user("other_township", "township_officer", division=Division.objects.get(code="632701101"))
    user("city", "city_command", division=Division.objects.get(code="632701"))
    user("cdc", "cdc", division=Division.objects.get(code="632701"))
    user("police", "department_officer", department=police)
    user("admin", "data_admin", division=Division.objects.get(code="632701001"))
    user("auditor", "auditor", division=Division.objects.get(code="632701"))
    user("outsider")
    person_a = make_person(
        household=households["a"], name="扎西多杰", id_number=valid_id("63270119850312001"), phone="13800001111"
    )
    person_b = make_person(
        household=households["b"], name="才仁卓玛", id_number=valid_id("63270119900101002"), phone="13900002222"
    )
    person_c = make_person(
        household=households["c"], name="尼玛", id_number=valid_id("63270119700505003"), phone="13700003333"
    )
    return City(
        community_a=community_a,
        community_b=community_b,
        village_c=village_c,
        grid_a=grids["a"],
        grid_b=grids["b"],
        grid_c=grids["c"],
        household_a=households["a"],
        household_a2=households["a2"],
        household_b=households["b"],
        household_c=households["c"],
        person_a=person_a,
        person_b=person_b,
        person_c=person_c,
        police=police,
        users=users,
    )


@pytest.fixture
def login(client: Any, city: City) -> Any:
    """``login("grid_a")`` logs the test client in as that user (with a verified second factor if required)."""

    def _login(username: str) -> Any:
        account = city[username]
        client.force_login(account)
        if account.requires_otp():
            from django_otp import DEVICE_ID_SESSION_KEY
            from django_otp.plugins.otp_totp.models import TOTPDevice

            device = TOTPDevice.objects.create(user=account, name="test", confirmed=True)
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        return account

    return _login


@pytest.fixture
def api(city: City) -> Any:
    """``api("grid_a")`` returns a DRF APIClient authenticated by token as that user."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    def _api(username: str) -> APIClient:
        token, _created = Token.objects.get_or_create(user=city[username])
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return _api
