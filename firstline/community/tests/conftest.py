"""Community fixtures: frontline workers and volunteers on top of the shared ``city``.

``community.worker_site``: the ``site``-like frontline worker ``medic`` (quarantine-site staff) whose home is
household A (grid A, 结古街道); ``community.member_a``: a party member (person_a, account grid_a) serving in grid A.
The eight commitments are in the database (migration community 0002); transactional tests must reship them with
``ship_commitments()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from conftest import PASSWORD, City, make_person, valid_id


def ship_commitments() -> None:
    from django.apps import apps as django_apps

    from firstline.community.migrations import __name__ as package

    module = __import__(f"{package}.0002_eight_commitments", fromlist=["ship"])
    module.ship(django_apps, None)


@dataclass
class Community:
    medic: Any  # account of a frontline worker (quarantine-site staff), home in grid A
    worker_site: Any  # their FrontlineWorker row
    member_a: Any  # Volunteer row: person_a, party member, account grid_a


@pytest.fixture
def community(city: City) -> Community:
    from firstline.accounts.services import membership_grant, user_create
    from firstline.community.models import FrontlineWorker, Volunteer
    from firstline.regions.models import Division

    medic = user_create(actor=None, username="medic", password=PASSWORD, display_name="medic")
    membership_grant(actor=None, user=medic, role="site_staff", division=Division.objects.get(code="632701001"))
    city.users["medic"] = medic
    person = make_person(
        household=city.household_a, name="卓玛措", id_number=valid_id("63270119880808004"), phone="13600004444"
    )
    worker = FrontlineWorker.objects.create(
        person=person, user=medic, post_kind="quarantine_site", post="格萨尔酒店隔离点", path=person.path
    )
    member = Volunteer.objects.create(
        person=city.person_a,
        user=city["grid_a"],
        kind="party_member",
        party_branch="测试甲社区党支部",
        phone=city.person_a.phone,
        path=city.grid_a.path,
    )
    return Community(medic=medic, worker_site=worker, member_a=member)
