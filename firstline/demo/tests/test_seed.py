from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from firstline.accounts.models import Membership, User
from firstline.accounts.roles import Role
from firstline.core import identity
from firstline.demo import seed
from firstline.people.models import Person
from firstline.regions.models import Division, Grid, GridKind, Household

PERSONS = 600


@pytest.fixture
def fast_hashing(settings: Any) -> None:
    # PBKDF2 would spend seconds on the named accounts; the tests are not about hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seeded(fast_hashing: None) -> seed.SeedReport:
    return seed.seed_demo(persons=PERSONS, seed=7)


def _plan(persons: int, seed_value: int) -> seed.CityPlan:
    townships = list(
        Division.objects.filter(level__in=["street", "town", "township"]).values_list("code", "name", "level")
    )
    return seed.plan_city(persons=persons, seed=seed_value, townships=townships)


def _generated(persons: int, seed_value: int) -> list[tuple[str, str]]:
    return [(row.id_number, row.name) for row in seed.iter_person_rows(_plan(persons, seed_value))]


@pytest.mark.django_db
def test_same_seed_gives_the_same_people_in_memory_and_in_the_database(seeded: seed.SeedReport) -> None:
    first, second = _generated(PERSONS, 7), _generated(PERSONS, 7)

    assert first == second
    assert _generated(PERSONS, 8) != first
    # The residents; the demo's imported arrivals add returnees who were not in the registry.
    residents = Person.objects.filter(arrivals__isnull=True)
    stored = list(residents.order_by("id").values_list("id_number", "name"))
    assert stored == first
    assert seeded.counts["persons"] == PERSONS == residents.count()
    assert Person.objects.count() == PERSONS + seeded.counts["screening_arrivals"]


@pytest.mark.django_db
def test_every_id_number_is_valid_and_carries_the_persons_birth_date_and_sex(seeded: seed.SeedReport) -> None:
    people = list(
        Person.objects.filter(arrivals__isnull=True).values_list(
            "id_number", "birth_date", "sex", "path", "household__path"
        )
    )

    for id_number, birth_date, sex, path, household_path in people:
        assert identity.normalize_id_number(id_number, identity.RESIDENT_ID) == (identity.RESIDENT_ID, id_number)
        info = identity.parse_resident_id(id_number)
        assert (info.birth_date, info.sex) == (birth_date, sex)
        assert path == household_path
    assert len({row[0] for row in people}) == len(people)


@pytest.mark.django_db
def test_names_are_mostly_tibetan_with_pinyin_for_search(seeded: seed.SeedReport) -> None:
    people = list(Person.objects.values_list("name", "name_pinyin", "name_initials", "ethnicity"))
    tibetan = sum(1 for row in people if row[3] == "藏族")

    assert tibetan / len(people) > 0.85
    for name, pinyin, initials, _ethnicity in people:
        assert (pinyin, initials) == (identity.name_pinyin(name), identity.name_initials(name))


@pytest.mark.django_db
def test_named_demo_users_hold_their_roles(seeded: seed.SeedReport) -> None:
    expected = {
        "city": (Role.CITY_COMMAND, "632701"),
        "township": (Role.TOWNSHIP_OFFICER, "632701001"),
        "village": (Role.VILLAGE_SECRETARY, "632701001001"),
        "gridlead": (Role.GRID_LEADER, "632701001001-G001"),
        "grid": (Role.GRID_WORKER, "632701001001-G001"),
        "grid2": (Role.GRID_WORKER, "632701001002-G001"),
        "volunteer": (Role.VOLUNTEER, "632701001001-G001"),
        "cdc": (Role.CDC, "632701"),
        "site": (Role.SITE_STAFF, "632701001"),
        "admin": (Role.DATA_ADMIN, "632701"),
        "auditor": (Role.AUDITOR, "632701"),
    }
    roles = {(m.user.username, m.role, m.path) for m in Membership.objects.select_related("user")}

    for username, (role, path) in expected.items():
        assert (username, role, path) in roles
    firstsec = Membership.objects.get(user__username="firstsec")
    assert firstsec.role == Role.FIRST_SECRETARY and (firstsec.path or "").startswith("632701101")
    police = Membership.objects.select_related("department").get(user__username="police")
    assert police.department is not None
    assert (police.role, police.department.kind) == (Role.DEPARTMENT_OFFICER, "police")
    assert Grid.objects.get(code="632701001001-G001").leader == User.objects.get(username="gridlead")
    assert not Grid.objects.filter(leader__isnull=True).exists()


@pytest.mark.django_db
def test_invented_villages_and_grids_say_they_are_synthetic(seeded: seed.SeedReport) -> None:
    villages = Division.objects.filter(level__in=["community", "village"])

    assert villages.exists()
    assert all(v.synthetic and "虚构" in v.name and v.code.startswith(v.parent_id or "-") for v in villages)
    assert not Division.objects.filter(level="street", synthetic=True).exists()
    assert not Grid.objects.filter(synthetic=False).exists()
    assert Grid.objects.filter(kind=GridKind.DEDICATED, institution__contains="虚构").count() == 1
    assert Division.objects.filter(parent_id="632701001", level="community").count() >= 2


@pytest.mark.django_db
def test_grid_worker_sees_only_their_grid_and_the_other_grid_worker_none_of_it(seeded: seed.SeedReport) -> None:
    grid_user, other_user = User.objects.get(username="grid"), User.objects.get(username="grid2")
    own = Person.objects.filter(path="632701001001-G001")

    visible = set(Person.objects.visible_to(grid_user).values_list("id", flat=True))

    assert own.exists()
    assert visible == set(own.values_list("id", flat=True))
    assert not Person.objects.visible_to(other_user).filter(path="632701001001-G001").exists()
    assert Person.objects.visible_to(other_user).exists()


@pytest.mark.django_db
def test_most_households_are_covered_and_some_left_uncovered(seeded: seed.SeedReport) -> None:
    households = Household.objects.all()
    uncovered = households.filter(responsible__isnull=True).count()

    assert 0 < uncovered < households.count() / 2
    # Every responsible person works in the household's own grid (分片包干 inside the grid).
    pairs = households.filter(responsible__isnull=False).values_list("path", "responsible_id").distinct()
    memberships = set(Membership.objects.values_list("path", "user_id"))
    assert all(pair in memberships for pair in pairs)


@pytest.mark.django_db
def test_second_factor_devices_exist_for_roles_that_require_them(seeded: seed.SeedReport) -> None:
    devices = TOTPDevice.objects.filter(confirmed=True).select_related("user")

    assert sorted(d.user.username for d in devices) == ["admin", "auditor", "city"]
    assert all(len(d.key) == 40 for d in devices)


@pytest.mark.django_db
def test_seed_refuses_a_database_that_already_has_people_and_if_empty_skips(seeded: seed.SeedReport) -> None:
    out = io.StringIO()

    call_command("seed_demo", "--persons", "10", "--if-empty", stdout=out)

    assert "nothing to do" in out.getvalue()
    with pytest.raises(CommandError, match="flush"):
        call_command("seed_demo", "--persons", "10", stdout=io.StringIO())


@pytest.mark.django_db
def test_missing_divisions_file_is_a_clear_command_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seed, "DIVISIONS_FILE", Path("/nonexistent/divisions.csv"))

    with pytest.raises(CommandError, match="divisions file not found"):
        call_command("seed_demo", "--persons", "10", stdout=io.StringIO())


@pytest.mark.django_db
def test_demo_logins_lists_accounts_from_memberships_with_totp_codes(seeded: seed.SeedReport) -> None:
    out = io.StringIO()

    call_command("demo_logins", "--password", "firstline-demo-2021", stdout=out)

    text = out.getvalue()
    assert "http://127.0.0.1:8000" in text
    city_line = next(line for line in text.splitlines() if line.startswith("city "))
    assert "632701" in city_line and "TOTP secret" in city_line
    assert "632701001001-G001" in next(line for line in text.splitlines() if line.startswith("grid "))
    assert "gw-" not in text.split("…")[0]
