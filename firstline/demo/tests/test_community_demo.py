"""The demo's community data: frontline care in every state, members on a roster with one gap, notices, reports."""

from __future__ import annotations

import datetime
import itertools
from collections import Counter
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from firstline.accounts.models import User
from firstline.community.care import selectors as care_selectors
from firstline.community.models import (
    CareCategory,
    CareRequest,
    CareSource,
    CareStatus,
    CareUrgency,
    Commitment,
    FrontlinePost,
    FrontlineWorker,
    Notice,
    NoticeRead,
    NoticeStatus,
    PostKind,
    PublicReport,
    ReportKind,
    ReportStatus,
    ServiceEntry,
    Shift,
    ShiftStatus,
    Volunteer,
    VolunteerKind,
)
from firstline.community.roster import selectors as roster_selectors
from firstline.demo import community, seed
from firstline.quarantine.models import CareNeed

PERSONS = 600
TOWNSHIP = seed.MAIN_TOWNSHIP


@pytest.fixture
def seeded(settings: Any) -> seed.SeedReport:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return seed.seed_demo(persons=PERSONS, seed=7)


def _user(username: str) -> User:
    return User.objects.get(username=username)


@pytest.mark.django_db
def test_demo_care_requests_in_every_state_site_sees_its_own_and_township_the_queue(
    seeded: seed.SeedReport,
) -> None:
    now = timezone.now()
    site, township, nurse = _user("site"), _user("township"), _user("nurse")
    workers = FrontlineWorker.objects.filter(path__startswith=TOWNSHIP)
    linked = dict(workers.filter(user__isnull=False).values_list("user__username", "post_kind"))
    assert linked == {
        "site": FrontlinePost.QUARANTINE_SITE,
        "nurse": FrontlinePost.QUARANTINE_SITE,
        "grid": FrontlinePost.GRID,
        "grid2": FrontlinePost.GRID,
        "police": FrontlinePost.POLICE,
    }
    assert {FrontlinePost.CHECKPOINT, FrontlinePost.MEDICAL} <= set(
        workers.filter(user__isnull=True).values_list("post_kind", flat=True)
    )

    frontline = CareRequest.objects.filter(source=CareSource.FRONTLINE)
    urgent = frontline.get(status=CareStatus.OPEN, urgency=CareUrgency.URGENT)
    # ``site`` filed for its colleague ``nurse``: her elderly parent alone at home.
    assert (urgent.category, urgent.filed_by, urgent.on_behalf) == (CareCategory.FAMILY_CARE, site, True)
    assert urgent.worker is not None and urgent.worker.user == nurse
    assert urgent.household_id == urgent.person.household_id
    assert not care_selectors.is_overdue(urgent, now)
    statuses = Counter(frontline.values_list("status", flat=True))
    assert statuses == {CareStatus.OPEN: 2, CareStatus.ASSIGNED: 1, CareStatus.HANDLED: 1, CareStatus.CLOSED: 1}
    assert frontline.get(status=CareStatus.ASSIGNED).handler == _user("village")
    handled = frontline.get(status=CareStatus.HANDLED)
    assert handled.handler == _user("volunteer") and handled.action_taken and handled.closed_at is None
    closed = frontline.get(status=CareStatus.CLOSED)
    assert closed.events.filter(kind="confirmed", actor=site).exists()
    assert closed.created_at < closed.handled_at < closed.closed_at < now  # type: ignore[operator]
    overdue = [c for c in frontline if care_selectors.is_overdue(c, now)]
    assert len(overdue) == 1 and overdue[0].worker.user == _user("grid2")  # type: ignore[union-attr]
    assert overdue[0].task is not None and overdue[0].task.due_at < now
    # Home-quarantine supplies are in the same queue, one request per need.
    needs = CareNeed.objects.count()
    assert needs > 0
    assert CareRequest.objects.filter(source=CareSource.QUARANTINE, care_need__isnull=False).count() == needs
    assert seeded.counts["community_care_requests"] == CareRequest.objects.count() == 5 + needs
    assert all(community.DEMO in c.description for c in CareRequest.objects.all())

    # When ``site`` and ``township`` look.
    mine = set(care_selectors.care_mine(site))
    queue = set(care_selectors.care_queue(user=township, filters=care_selectors.QueueFilters()))
    late = list(care_selectors.care_queue(user=township, filters=care_selectors.QueueFilters(status="overdue")))

    # Then ``site`` sees the request it filed for ``nurse`` and its own, and the township the whole active queue.
    assert mine == {urgent, closed}
    assert queue == set(
        CareRequest.objects.filter(status__in=(CareStatus.OPEN, CareStatus.ASSIGNED, CareStatus.HANDLED))
    )
    assert late == overdue
    client = Client()
    client.force_login(site)
    assert client.get("/community/care/").status_code == 200
    client.force_login(township)
    page = client.get("/community/care/queue/")
    assert page.status_code == 200
    assert urgent.description[:20] in page.content.decode()


@pytest.mark.django_db
def test_demo_members_pledge_and_serve_on_a_roster_with_one_checkpoint_gap(seeded: seed.SeedReport) -> None:
    now = timezone.now()
    members = list(Volunteer.objects.filter(path__startswith=TOWNSHIP).select_related("user"))
    assert len(members) == community.MEMBERS == seeded.counts["community_members"]
    assert all(m.user is not None for m in members)  # everyone checks in from a phone
    by_account = {m.user.username: m for m in members if m.user is not None}
    assert by_account["gridlead"].kind == VolunteerKind.PARTY_MEMBER and by_account["gridlead"].party_branch
    assert "volunteer" in by_account
    assert {m.kind for m in members} == {VolunteerKind.PARTY_MEMBER, VolunteerKind.VOLUNTEER}
    eight = Commitment.objects.filter(active=True).count()
    signed = Counter({m.pk: m.pledges.count() for m in members})
    assert eight == 8
    partial = [n for n in signed.values() if n != eight]
    assert len(partial) == len(community.PARTIAL_PLEDGES) and all(0 < n < eight for n in partial)

    posts = {p.kind: p for p in roster_selectors.post_list(_user("township"))}
    assert set(posts) == {PostKind.CHECKPOINT, PostKind.QUARANTINE_SITE, PostKind.SUPPLY, PostKind.DOOR_TO_DOOR}
    checkpoint = posts[PostKind.CHECKPOINT]
    assert (checkpoint.opens_at, checkpoint.closes_at, checkpoint.min_staff) == (datetime.time(0), datetime.time(0), 2)
    week = roster_selectors.roster_week(checkpoint, timezone.localdate())
    assert [(gap.hours, gap.staffed, gap.missing) for gap in week.gaps] == [(8.0, 1, 1)]

    shifts = Shift.objects.filter(path__startswith=TOWNSHIP)
    statuses = Counter(shifts.values_list("status", flat=True))
    assert statuses[ShiftStatus.DONE] > 0 and statuses[ShiftStatus.MISSED] == 1
    assert not shifts.filter(status=ShiftStatus.PLANNED, end__lte=now).exists()
    missed = shifts.get(status=ShiftStatus.MISSED)
    assert missed.post.kind == PostKind.DOOR_TO_DOOR and missed.checked_in_at is None
    for shift in shifts.filter(status=ShiftStatus.DONE):
        assert shift.checked_in_at is not None and shift.checked_out_at is not None
        assert shift.checked_in_at < shift.checked_out_at <= now
    # ``volunteer`` is on the checkpoint now and has not checked in yet: the demo user does.
    own = [s for s in roster_selectors.my_shifts(_user("volunteer"), now=now) if s.start <= now < s.end]
    assert [(s.post, s.status) for s in own] == [(checkpoint, ShiftStatus.PLANNED)]
    # Nobody is in two places at once.
    spans = sorted(shifts.exclude(status=ShiftStatus.CANCELLED).values_list("volunteer_id", "start", "end"))
    for (first, _s, end), (second, start, _e) in itertools.pairwise(spans):
        assert first != second or end <= start

    records = roster_selectors.service_records(members)
    assert sum(r.shifts_done for r in records) == statuses[ShiftStatus.DONE]
    assert all(r.total_hours > 0 for r in records if r.shifts_done)
    assert ServiceEntry.objects.filter(path__startswith=TOWNSHIP).count() == len(community.SERVICE_ENTRIES)
    assert all(community.DEMO in p.name for p in posts.values())


@pytest.mark.django_db
def test_demo_notices_and_reports_refute_the_rumour_on_the_public_page(seeded: seed.SeedReport) -> None:
    published = Notice.objects.filter(status=NoticeStatus.PUBLISHED)
    rules = published.get(path=seed.CITY_CODE)
    assert rules.pinned and rules.published_by == _user("city")
    assert published.filter(path=TOWNSHIP).count() == 2  # testing times and the refutation
    assert Notice.objects.filter(path=TOWNSHIP, status=NoticeStatus.DRAFT).count() == 1
    assert NoticeRead.objects.filter(notice=rules).count() >= 3
    assert all(community.DEMO in n.title for n in Notice.objects.all())

    reports = {r.kind: r for r in PublicReport.objects.filter(path=TOWNSHIP)}
    rumour = reports[ReportKind.RUMOUR]
    assert rumour.status == ReportStatus.FALSE and rumour.answer is not None
    assert rumour.answer.status == NoticeStatus.PUBLISHED
    violation = reports[ReportKind.VIOLATION]
    assert violation.status == ReportStatus.REFERRED and violation.referred_to is not None
    assert violation.referred_to.code == "police"
    assert PublicReport.objects.visible_to(_user("police")).filter(pk=violation.pk).exists()
    assert reports[ReportKind.UNREGISTERED_ARRIVAL].status == ReportStatus.NEW

    page = Client().get(f"/n/{TOWNSHIP}/")

    assert page.status_code == 200
    text = page.content.decode()
    assert rumour.answer.title in text and rules.title in text
    assert "关于招募社区防疫志愿者" not in text  # the draft stays off the public page
