"""Release: on the due date with every test negative (early only when the edition allows it, with a reason), a
certificate, the room to disinfection, the follow-on measure at home; and ``manage.py release_due``."""

from __future__ import annotations

import datetime
import io
import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from firstline.core.models import AuditEvent
from firstline.quarantine.models import Placement, Room, RoomState, Sampling, SamplingStatus
from firstline.quarantine.sites import certificate, services
from firstline.quarantine.tests.factories import days, edition, measure, today
from firstline.quarantine.tests.test_sites_placements import homeless, place

# These tests assert the wording of messages (in English).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def placed(
    city: Any, person: Any, room: Any, *, ago: int = 6, duration: int = 7, actor: str = "city", **measure_args: Any
) -> Placement:
    """``person`` placed ``ago`` days ago under a measure that started then (tests days 1, 3, 5, 7 by default)."""
    measure(person, start=days(-ago), duration=duration, **measure_args)
    return place(city, person, room, actor=actor, start_at=timezone.now() - datetime.timedelta(days=ago))


def all_negative(placement: Placement, *, up_to: datetime.date | None = None) -> None:
    Sampling.objects.filter(placement=placement, due_date__lte=up_to or today()).update(
        status=SamplingStatus.SAMPLED, result="negative", sampled_at=timezone.now(), lab="玉树市疾控"
    )


def test_release_before_the_due_date_is_refused_naming_the_date(city, sites):
    placement = placed(city, city.person_a, sites.rooms["101"], ago=2)
    all_negative(placement)
    blockers = services.release_blockers(placement, today=today())
    assert len(blockers) == 1 and days(4).isoformat() in blockers[0]
    with pytest.raises(ValidationError) as excinfo:
        services.placement_release(actor=city["township"], placement=placement)
    assert excinfo.value.message_dict["blockers"] == blockers
    placement.refresh_from_db()
    assert placement.status == "active" and placement.certificate_number == ""


def test_every_test_day_up_to_today_must_be_negative_each_named_with_its_day(city, sites):
    placement = placed(city, city.person_a, sites.rooms["101"], ago=6)  # due today; tests on -6, -4, -2, 0
    samplings = {s.due_date: s for s in Sampling.objects.filter(placement=placement) if s.due_date}
    assert sorted(samplings) == [days(-6), days(-4), days(-2), days(0)]
    now = timezone.now()
    Sampling.objects.filter(pk=samplings[days(-6)].pk).update(status="sampled", result="negative", sampled_at=now)
    Sampling.objects.filter(pk=samplings[days(-4)].pk).update(status="missed")
    Sampling.objects.filter(pk=samplings[days(-2)].pk).update(status="sampled", result="", sampled_at=now)
    Sampling.objects.filter(pk=samplings[days(0)].pk).update(status="sampled", result="positive", sampled_at=now)
    blockers = services.release_blockers(placement, today=today())
    assert len(blockers) == 3
    assert all(day.isoformat() in reason for day, reason in zip((days(-4), days(-2), days(0)), blockers, strict=True))
    assert ["not sampled" in blockers[0], "awaiting" in blockers[1], "positive" in blockers[2]] == [True] * 3
    assert days(-6).isoformat() not in " ".join(blockers)
    Sampling.objects.filter(pk=samplings[days(0)].pk).update(result="invalid")
    assert any("invalid" in reason for reason in services.release_blockers(placement, today=today()))
    all_negative(placement)
    assert services.release_blockers(placement, today=today()) == []


def test_a_missed_test_before_a_transfer_still_holds_the_release(city, sites):
    old = placed(city, city.person_a, sites.rooms["101"], ago=6)
    new = services.placement_transfer(actor=city["township"], placement=old, room=sites.rooms["102"], reason="换房")
    Sampling.objects.filter(placement=new).update(status="sampled", result="negative", sampled_at=timezone.now())
    blockers = services.release_blockers(new, today=today())
    assert blockers and days(-6).isoformat() in blockers[0]


def test_early_release_only_when_the_edition_allows_it_and_with_a_reason(city, sites):
    placement = placed(city, city.person_a, sites.rooms["101"], ago=2)  # due in 4 days; tests on -2, 0, 2, 4
    all_negative(placement)
    assert services.release_blockers(placement, today=today())
    policy = edition()
    policy.early_release_allowed = True
    policy.save()
    placement.refresh_from_db()
    assert services.release_blockers(placement, today=today()) == []
    with pytest.raises(ValidationError) as excinfo:
        services.placement_release(actor=city["township"], placement=placement)
    assert "early_reason" in excinfo.value.message_dict
    released = services.placement_release(
        actor=city["township"], placement=placement, early_reason="两次双阴，专家组同意"
    )
    assert released.status == "released" and "专家组同意" in released.end_reason
    later = Sampling.objects.filter(placement=placement, due_date__gt=today())
    assert {s.status for s in later} == {SamplingStatus.CANCELLED}


def test_release_gives_a_certificate_frees_the_room_and_starts_the_follow_on_at_home(city, sites):
    placement = placed(
        city,
        city.person_a,
        sites.rooms["101"],
        ago=6,
        follow_on_type="home_health_monitoring",
        follow_on_days=3,
        follow_on_test_days=(3,),
    )
    all_negative(placement)
    result = services.placement_release_with_follow_on(actor=city["site"], placement=placement)
    released = result.placement
    assert released.status == "released" and released.ended_by == city["site"]
    assert re.fullmatch(rf"QA01-{today().year}-\d{{6}}", released.certificate_number)
    assert Room.objects.get(pk=sites.rooms["101"].pk).state == RoomState.DISINFECTING
    follow_on = result.follow_on
    assert follow_on is not None
    assert (follow_on.kind, follow_on.phase, follow_on.status, follow_on.grid) == (
        "home",
        "follow_on",
        "active",
        city.grid_a,
    )
    assert follow_on.due_date == days(3) and follow_on.measure == placement.measure
    assert list(Sampling.objects.filter(placement=follow_on).values_list("due_date", flat=True)) == [days(3)]
    assert AuditEvent.objects.filter(object_id=str(placement.pk), note__startswith="released").exists()


def test_the_follow_on_needs_the_persons_household(city, sites):
    loner = homeless(city)
    placement = placed(
        city, loner, sites.rooms["102"], ago=6, follow_on_type="home_health_monitoring", follow_on_days=3
    )
    all_negative(placement)
    assert any("household" in reason for reason in services.release_blockers(placement, today=today()))


def test_a_released_follow_on_starts_nothing_further(city, sites):
    placement = placed(
        city, city.person_a, sites.rooms["101"], ago=6, follow_on_type="home_health_monitoring", follow_on_days=3
    )
    all_negative(placement)
    follow_on = services.placement_release_with_follow_on(actor=city["township"], placement=placement).follow_on
    assert follow_on is not None
    result = services.placement_release_with_follow_on(actor=city["township"], placement=follow_on, today=days(3))
    assert result.follow_on is None and result.placement.certificate_number.startswith("H632701001-")


def test_the_certificate_is_an_a4_pdf(city, sites):
    placement = placed(city, city.person_a, sites.rooms["101"], ago=6)
    all_negative(placement)
    released = services.placement_release(actor=city["township"], placement=placement)
    content = certificate.certificate_pdf(
        released, full_pii=False, samplings=list(Sampling.objects.filter(placement=released))
    )
    assert content.startswith(b"%PDF") and b"/MediaBox [ 0 0 595.2756 841.8898 ]" in content


# -- release_due -------------------------------------------------------------------------------------------------


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("release_due", *args, stdout=out)
    return out.getvalue()


def test_release_due_dry_run_lists_and_releases_nobody_then_the_real_run_releases_the_ready(city, sites):
    ready = placed(city, city.person_a, sites.rooms["101"], ago=6)
    all_negative(ready)
    held = placed(city, city.person_b, sites.rooms["102"], ago=7)  # overdue, with its tests missing
    not_due = placed(city, city.person_c, sites.other_room, ago=1)
    all_negative(not_due)
    output = _run("--dry-run")
    assert f"READY     #{ready.pk}" in output and f"HELD      #{held.pk}" in output
    assert f"#{not_due.pk}" not in output
    assert "2 due, 1 ready, 1 held" in output
    assert Placement.objects.filter(status="active").count() == 3

    output = _run()
    ready.refresh_from_db()
    held.refresh_from_db()
    assert ready.status == "released" and ready.ended_by is None and ready.certificate_number in output
    assert held.status == "active"
    event = AuditEvent.objects.get(object_id=str(ready.pk), note__startswith="released")
    assert event.actor is None and event.actor_username == ""


def test_release_due_by_site_and_date(city, sites):
    at_main = placed(city, city.person_a, sites.rooms["101"], ago=6)
    at_other = placed(city, city.person_c, sites.other_room, ago=6)
    all_negative(at_main)
    all_negative(at_other)
    output = _run("--site", "qb01", "--date", today().isoformat())
    assert f"#{at_other.pk}" in output and f"#{at_main.pk}" not in output
    assert Placement.objects.get(pk=at_other.pk).status == "released"
    assert "0 due" in _run("--dry-run", "--date", days(-5).isoformat())
    with pytest.raises(CommandError):
        _run("--site", "NOPE")
    with pytest.raises(CommandError):
        _run("--date", "2026-13-40")
