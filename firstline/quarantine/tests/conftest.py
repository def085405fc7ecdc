"""Quarantine fixtures: two sites with floors and rooms, and site-staff users assigned to them.

``sites.main`` (QA01, in 结古街道) has floors 1F/2F with rooms 101–103 (1 bed) and 201–202 (2 beds); its staff are
``site`` (site manager) and ``nurse``. ``sites.other`` (QB01, in 隆宝镇) has room 101 (1 bed); its staff is
``site_other``. Site-staff memberships are in the site's township, which opens no jurisdiction by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from conftest import PASSWORD, City


@dataclass
class Sites:
    main: Any
    other: Any
    rooms: dict[str, Any]
    other_room: Any


@pytest.fixture
def sites(city: City) -> Sites:
    from firstline.accounts.services import membership_grant, user_create
    from firstline.quarantine.models import Facility, FacilityStaff, Floor, Room
    from firstline.regions.models import Division

    jiegu = Division.objects.get(code="632701001")
    longbao = Division.objects.get(code="632701101")
    main = Facility.objects.create(code="QA01", name="格萨尔酒店隔离点", division=jiegu, path=jiegu.code)
    other = Facility.objects.create(code="QB01", name="隆宝隔离点", division=longbao, path=longbao.code)
    rooms: dict[str, Any] = {}
    for label, position, numbers, beds in (("1F", 1, ("101", "102", "103"), 1), ("2F", 2, ("201", "202"), 2)):
        floor = Floor.objects.create(facility=main, label=label, position=position)
        for number in numbers:
            rooms[number] = Room.objects.create(facility=main, floor=floor, number=number, capacity=beds)
    floor_b = Floor.objects.create(facility=other, label="1F", position=1)
    other_room = Room.objects.create(facility=other, floor=floor_b, number="101", capacity=1)
    for username, facility, site_role, division in (
        ("site", main, "manager", jiegu),
        ("nurse", main, "nurse", jiegu),
        ("site_other", other, "manager", longbao),
    ):
        account = user_create(actor=None, username=username, password=PASSWORD, display_name=username)
        membership_grant(actor=None, user=account, role="site_staff", division=division)
        FacilityStaff.objects.create(facility=facility, user=account, site_role=site_role)
        city.users[username] = account
    return Sites(main=main, other=other, rooms=rooms, other_room=other_room)
