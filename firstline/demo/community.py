"""The demo city's community work: frontline care, party members on duty with their pledges, notices and reports.

Runs last, after the quarantine demo data (whose home-quarantine care needs join the care queue). Everything goes
through the services a user would use — frontline registry and care requests, member registry, pledges, posts,
shifts with check-in and check-out, service entries, notices with read receipts, public reports and their triage —
so the demo shows real routing, tasks, timelines and audit rows. Only history is written directly: the services
stamp everything "now", so the care requests' times are moved back afterwards (filed hours or days ago, one past
its due time) and the members' past shifts are checked in and out at their past times.

In 结古街道 (invented residents, texts marked “演示”):

* frontline workers: the accounts ``site`` and ``nurse`` (quarantine-site staff), ``grid`` and ``grid2`` (grid
  workers), ``police`` (on duty at the checkpoint) and four without accounts (checkpoint and medical staff);
* care requests in every state: urgent and open (``site`` for ``nurse``: her elderly parent alone at home),
  assigned to the community secretary, handled and awaiting confirmation, closed with the requester's
  confirmation, one past its due time — plus the home-quarantine supplies from the quarantine demo;
* fifteen party members and volunteers (``volunteer`` and ``gridlead`` among them, the others with generated
  ``pm-`` accounts to check in from a phone), most having signed all eight commitments; four posts — a checkpoint
  round the clock for two, a quarantine-site door, a supply-delivery team, door-to-door visits — rostered from a
  few days back to the end of this week with one gap on the checkpoint, past shifts done (one missed), and
  ``volunteer`` on the checkpoint now, not yet checked in; a few service entries;
* notices: the city's pinned rules, 结古街道's nucleic-acid testing times, a draft, read receipts; public reports:
  a rumour found false and answered by a published notice (shown on ``/n/632701001/``), a gathering referred to
  the police, and a new tip about an unregistered arrival.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db.models import Q
from django.utils import timezone

from firstline.accounts.models import Department, Membership, User
from firstline.accounts.roles import Role
from firstline.community.care.services import (
    care_request_assign,
    care_request_confirm,
    care_request_file,
    care_request_handle,
    due_at_for,
    frontline_worker_create,
    sync_care_needs,
)
from firstline.community.models import (
    CareCategory,
    CareEvent,
    CareRequest,
    CareSource,
    CareUrgency,
    Commitment,
    FrontlinePost,
    FrontlineWorker,
    Notice,
    PledgeSignature,
    Post,
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
from firstline.community.notices.services import (
    notice_create,
    notice_mark_read,
    notice_publish,
    report_answer_with_notice,
    report_submit,
    report_triage,
)
from firstline.community.roster import coverage
from firstline.community.roster.services import (
    checkin_early,
    mark_missed,
    pledge_sign,
    post_create,
    service_entry_add,
    shift_check_in,
    shift_check_out,
    shift_create,
    volunteer_create,
)
from firstline.core import audit
from firstline.core.models import AuditAction
from firstline.dispatch.models import Task
from firstline.people.models import Person
from firstline.policy.models import Measure
from firstline.quarantine.models import Placement
from firstline.regions.models import Division, Grid
from firstline.tracing.models import Case

DEMO = "（演示）"
MEMBERS = 15  # party members and volunteers in the main township
PARTIAL_PLEDGES = (4, 9, 13)  # members (by position) who signed only some of the eight commitments
REST = datetime.timedelta(hours=8)  # nobody is rostered again within eight hours of a shift
CHECKPOINT = "checkpoint"
DOOR_TO_DOOR = "door"

# (key, name, kind, area ("" = the township, "community" = its first community), place, opens, closes, people,
#  daily shifts as (start hour, hours))
POSTS: list[tuple[str, str, str, str, str, int, int, int, list[tuple[int, int]]]] = [
    (
        CHECKPOINT,
        "214国道结古入城检查站" + DEMO,
        PostKind.CHECKPOINT,
        "",
        "结古街道214国道入城口（虚构）",
        0,
        0,
        2,
        [(0, 8), (8, 8), (16, 8)],
    ),
    (
        "site_door",
        "格萨尔酒店集中隔离点门岗" + DEMO,
        PostKind.QUARANTINE_SITE,
        "",
        "结古街道胜利路（虚构）",
        8,
        20,
        1,
        [(8, 6), (14, 6)],
    ),
    ("supply", "居家隔离户生活物资配送队" + DEMO, PostKind.SUPPLY, "", "结古街道各居家隔离户", 9, 17, 2, [(9, 8)]),
    (DOOR_TO_DOOR, "入户走访宣传组" + DEMO, PostKind.DOOR_TO_DOOR, "community", "", 9, 17, 1, [(9, 8)]),
]

SKILLS = [
    ["security", "driving"],
    ["medical", "sampling"],
    ["tibetan", "publicity"],
    ["logistics", "driving"],
    ["data_entry"],
    ["elder_care", "tibetan"],
    ["counselling"],
    ["security"],
]
AVAILABILITY = ("全天可排班", "工作日晚上和周末", "白天（8:00–18:00）", "夜班可排", "周末")

SERVICE_ENTRIES = [
    # (member position, days ago, hours, commitment code, what was done)
    (1, 1, "3.0", "explain_care", "为居家隔离户代购蔬菜和药品并送到门口" + DEMO),
    (0, 2, "2.5", "explain_care", "电话回访辖区独居老人，解答核酸检测安排" + DEMO),
    (2, 1, "4.0", "no_rumours", "在小区微信群转发官方通告，劝阻转发未经证实的消息" + DEMO),
    (5, 3, "1.5", "trace_isolate", "协助社区核对返玉人员登记信息" + DEMO),
]


def _at(day: datetime.date, hour: int) -> datetime.datetime:
    return coverage.local_midnight(day) + datetime.timedelta(hours=hour)


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _age(born: datetime.date | None, today: datetime.date) -> int | None:
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def seed_community(*, township_code: str, city_code: str, seed: int, password: str) -> dict[str, int]:
    """Load the demo's community data; returns counts for the seed report."""
    rng = random.Random(f"{seed}:community")
    now = timezone.now()
    today = timezone.localdate(now)
    township = Division.objects.filter(code=township_code).first()
    city = Division.objects.filter(code=city_code).first()
    wanted = ("city", "township", "village", "gridlead", "grid", "grid2", "volunteer", "police", "site")
    # ``nurse`` comes with the quarantine demo's first site.
    accounts = {u.username: u for u in User.objects.filter(username__in=(*wanted, "nurse"))}
    if township is None or city is None or any(name not in accounts for name in wanted):
        return {}
    people = _People(township_code, today)
    workers = _frontline(accounts, people, today=today)
    care = _care_requests(accounts, workers, people, now=now, today=today)
    members = _members(accounts, people, township_code=township_code, today=today, password=password, rng=rng)
    shifts = _roster(accounts, members, township_code=township_code, now=now, rng=rng) if members else []
    _service_entries(accounts, members, today=today)
    _notices(accounts, township=township, city=city, today=today)
    reports = _reports(accounts, township=township, now=now, today=today)
    return {
        "frontline_workers": len(workers),
        "care_requests": care + CareRequest.objects.filter(source=CareSource.QUARANTINE).count(),
        "members": len(members),
        "pledges": PledgeSignature.objects.filter(volunteer__in=members).count(),
        "posts": Post.objects.filter(path__startswith=township_code).count(),
        "shifts": len(shifts),
        "shifts_done": Shift.objects.filter(pk__in=[s.pk for s in shifts], status=ShiftStatus.DONE).count(),
        "service_entries": ServiceEntry.objects.filter(path__startswith=township_code).count(),
        "notices": Notice.objects.filter(path__in=[city.code, township.code]).count(),
        "reports": reports,
    }


# --- people -------------------------------------------------------------------------------------------------------


class _People:
    """Working-age residents of the township under no measure, handed out a grid at a time, one per household
    where the grid allows (the demo's frontline workers and members are different people)."""

    def __init__(self, township_code: str, today: datetime.date) -> None:
        self.today = today
        self.township_code = township_code
        adults = (
            Person.objects.filter(
                path__startswith=township_code,
                household__isnull=False,
                merged_into__isnull=True,
                birth_date__lte=_years_before(today, 22),
                birth_date__gt=_years_before(today, 58),
            )
            .exclude(self.busy())
            .order_by("path", "id")
        )
        self.by_grid: dict[str, list[Person]] = defaultdict(list)
        for person in adults:
            self.by_grid[person.path].append(person)
        self.taken: dict[str, int] = defaultdict(int)
        self.households: set[int] = set()

    @staticmethod
    def busy() -> Q:
        """Nobody under a measure, a case, or placed in quarantine works the front line in the demo."""
        return (
            Q(pk__in=Measure.objects.values("person_id"))
            | Q(pk__in=Case.objects.values("person_id"))
            | Q(pk__in=Placement.objects.values("person_id"))
        )

    def take(self, grid: str | None = None, *, person: Person | None = None) -> Person | None:
        """A person of ``grid`` (or of the grid least drawn from so far); ``person`` itself when given and free."""
        if person is not None:
            pool = self.by_grid.get(person.path, [])
            if person in pool:
                return self._remove(person)
            return None
        if grid is not None:
            grids = [grid]
        else:
            grids = sorted((g for g, pool in self.by_grid.items() if pool), key=lambda g: (self.taken[g], g))
        for code in grids:
            pool = self.by_grid.get(code, [])
            if not pool:
                continue
            fresh = next((p for p in pool if p.household_id not in self.households), pool[0])
            return self._remove(fresh)
        return None

    def _remove(self, person: Person) -> Person:
        self.by_grid[person.path].remove(person)
        self.taken[person.path] += 1
        if person.household_id is not None:
            self.households.add(person.household_id)
        return person

    def with_elderly_parent(self) -> tuple[Person | None, Person | None]:
        """(a free adult, a member of their household aged 72 to 90), the youngest such parent first."""
        elderly = (
            Person.objects.filter(
                path__startswith=self.township_code,
                household__isnull=False,
                merged_into__isnull=True,
                birth_date__lte=_years_before(self.today, 72),
                birth_date__gt=_years_before(self.today, 90),
            )
            .exclude(self.busy())
            .order_by("-birth_date", "id")
        )
        by_household: dict[int, list[Person]] = defaultdict(list)
        for pool in self.by_grid.values():
            for candidate in pool:
                if candidate.household_id is not None:
                    by_household[candidate.household_id].append(candidate)
        for parent in elderly[:200]:
            children = by_household.get(parent.household_id or 0)
            if children:
                return self.take(person=children[0]), parent
        return self.take(), None


# --- frontline care -----------------------------------------------------------------------------------------------


def _grid_of(user: User, role: str) -> str | None:
    return (
        Membership.objects.filter(user=user, role=role, grid__isnull=False, active=True)
        .values_list("grid__code", flat=True)
        .first()
    )


@dataclass
class _Workers:
    by_account: dict[str, FrontlineWorker]
    others: list[FrontlineWorker]
    parent: Person | None

    def __len__(self) -> int:
        return len(self.by_account) + len(self.others)


def _frontline(accounts: dict[str, User], people: _People, *, today: datetime.date) -> _Workers:
    """The township registers its frontline workers (the five demo accounts and four colleagues without one)."""
    officer = accounts["township"]
    nurse_person, parent = people.with_elderly_parent()
    specs: list[tuple[str | None, Person | None, str, str, str]] = [
        ("nurse", nurse_person, FrontlinePost.QUARANTINE_SITE, "格萨尔酒店集中隔离点 护士", "玉树州人民医院（派驻）"),
        ("site", people.take(), FrontlinePost.QUARANTINE_SITE, "格萨尔酒店集中隔离点 负责人", "结古街道办事处"),
        ("grid", people.take(_grid_of(accounts["grid"], Role.GRID_WORKER)), FrontlinePost.GRID, "", "结古街道"),
        ("grid2", people.take(_grid_of(accounts["grid2"], Role.GRID_WORKER)), FrontlinePost.GRID, "", "结古街道"),
        ("police", people.take(), FrontlinePost.POLICE, "214国道结古入城检查站 执勤", "玉树市公安局"),
        (None, people.take(), FrontlinePost.CHECKPOINT, "214国道结古入城检查站 登记测温", "结古街道"),
        (None, people.take(), FrontlinePost.CHECKPOINT, "玉树机场旅客检测点", "结古街道"),
        (None, people.take(), FrontlinePost.MEDICAL, "发热门诊 医生", "玉树州人民医院"),
        (None, people.take(), FrontlinePost.MEDICAL, "核酸采样队 护士", "玉树市人民医院"),
    ]
    workers = _Workers(by_account={}, others=[], parent=parent)
    grid_names = dict(Grid.objects.filter(path__startswith=people.township_code).values_list("code", "name"))
    for index, (username, person, post_kind, post, organisation) in enumerate(specs):
        if person is None or (username and username not in accounts):
            continue
        if post_kind == FrontlinePost.GRID:
            post = f"{grid_names.get(person.path, person.path)} 网格员"
        worker = frontline_worker_create(
            actor=officer,
            person=person,
            post_kind=post_kind,
            post=f"{post}{DEMO}",
            organisation=organisation,
            since=today - datetime.timedelta(days=10 + 3 * index),
            user=accounts[username] if username else None,
        )
        if username:
            workers.by_account[username] = worker
        else:
            workers.others.append(worker)
    return workers


def _backdate(care: CareRequest, times: Sequence[datetime.datetime]) -> None:
    """Move a request's history into the past: its timeline entries at ``times`` (in order), filed at the first,
    due by its urgency from then; handled and closed when those entries say; its task follows."""
    events = list(CareEvent.objects.filter(request=care).order_by("at", "id"))
    stamps: dict[str, datetime.datetime] = {}
    for event, at in zip(events, times, strict=False):
        CareEvent.objects.filter(pk=event.pk).update(at=at)
        stamps[event.kind] = at
    filed = times[0]
    due = due_at_for(care.urgency, start=filed)
    values: dict[str, Any] = {"created_at": filed, "due_at": due}
    if "handled" in stamps:
        values["handled_at"] = stamps["handled"]
    if "confirmed" in stamps:
        values["closed_at"] = stamps["confirmed"]
    CareRequest.objects.filter(pk=care.pk).update(**values)
    if care.task_id is not None:
        task_values: dict[str, Any] = {"created_at": filed, "due_at": due}
        if "handled" in stamps:
            task_values["closed_at"] = stamps["handled"]
        Task.objects.filter(pk=care.task_id).update(**task_values)


def _care_requests(
    accounts: dict[str, User], workers: _Workers, people: _People, *, now: datetime.datetime, today: datetime.date
) -> int:
    """Frontline requests in every state, and the home-quarantine supplies (already in the queue through the
    quarantine services; ``sync_care_needs`` is the beat's safety net, run once here)."""
    sync_care_needs()
    mine = workers.by_account
    officer = accounts["township"]
    hours = datetime.timedelta(hours=1)
    filed = 0
    if "nurse" in mine:
        nurse = mine["nurse"]
        parent = workers.parent
        who = "父亲" if parent is not None and parent.sex == "M" else "母亲"
        age = _age(parent.birth_date if parent else None, today)
        about = f"{who}（{age}岁）" if age else f"年迈的{who}"
        care = care_request_file(
            actor=accounts["site"],
            worker_key="nurse",
            category=CareCategory.FAMILY_CARE,
            urgency=CareUrgency.URGENT,
            description=(
                f"{nurse.person.name}在隔离点连续值守，不能回家。{about}独自在家，腿脚不便，需要每天有人上门送饭、照看，"
                f"晚上最好有人陪护。{DEMO}"
            ),
        )
        _backdate(care, [now - 1.5 * hours])
        filed += 1
    if "grid" in mine:
        care = care_request_file(
            actor=accounts["grid"],
            category=CareCategory.CHILD_CARE,
            urgency=CareUrgency.HIGH,
            description="两个孩子在家上网课，我白天入户排查，爱人在外地，孩子午饭没人管。" + DEMO,
        )
        care = care_request_assign(
            actor=officer,
            care=care,
            handler=accounts["village"],
            expected_version=care.version,
            note="请社区安排志愿者中午送饭并照看。" + DEMO,
        )
        _backdate(care, [now - 6 * hours, now - 5 * hours])
        filed += 1
    if "police" in mine:
        care = care_request_file(
            actor=accounts["police"],
            category=CareCategory.TRANSPORT,
            urgency=CareUrgency.NORMAL,
            description="检查站夜班零点下班，已无公交，家离检查站十多公里，请帮忙解决接送。" + DEMO,
        )
        care = care_request_assign(
            actor=officer, care=care, handler=accounts["volunteer"], expected_version=care.version
        )
        care = care_request_handle(
            actor=accounts["volunteer"],
            care=care,
            expected_version=care.version,
            action_taken="已安排党员志愿者车队每晚零点在检查站接送，本周起执行。" + DEMO,
        )
        _backdate(care, [now - 30 * hours, now - 26 * hours, now - 3 * hours])
        filed += 1
    if "site" in mine:
        care = care_request_file(
            actor=accounts["site"],
            category=CareCategory.MEALS,
            urgency=CareUrgency.NORMAL,
            description="隔离点封闭管理，家里只有上初中的孩子，蔬菜和糌粑快吃完了，请帮忙代购送到家。" + DEMO,
        )
        care = care_request_assign(
            actor=officer, care=care, handler=accounts["gridlead"], expected_version=care.version
        )
        care = care_request_handle(
            actor=accounts["gridlead"],
            care=care,
            expected_version=care.version,
            action_taken="已代购蔬菜、糌粑和酥油送到家中，并留了网格长电话。" + DEMO,
        )
        care = care_request_confirm(
            actor=accounts["site"], care=care, expected_version=care.version, note="收到了，谢谢！" + DEMO
        )
        _backdate(care, [now - 76 * hours, now - 74 * hours, now - 56 * hours, now - 50 * hours])
        filed += 1
    if "grid2" in mine:
        care = care_request_file(
            actor=accounts["grid2"],
            category=CareCategory.HOUSING,
            urgency=CareUrgency.NORMAL,
            description="家里暖气管道冻裂漏水，老人和孩子在家，我在网格值守走不开，请帮忙找人维修。" + DEMO,
        )
        # Filed a day before its due time passed: the queue shows it overdue (and the beat escalates it).
        _backdate(care, [now - (settings.CARE_DUE_HOURS[0] + 24) * hours])
        filed += 1
    return filed


# --- party members and volunteers -----------------------------------------------------------------------------


def _member_accounts(members: Sequence[tuple[Person, str]], *, password: str) -> dict[int, User]:
    """Accounts for members who have none, so they check in from a phone: generated ``pm-<grid>-NN`` volunteer
    accounts as the seed makes per grid (one shared password hash), named after the member, audited."""
    if not members:
        return {}
    taken: set[str] = set()
    for grid in sorted({grid for _person, grid in members}):
        taken.update(User.objects.filter(username__startswith=f"pm-{grid}-").values_list("username", flat=True))
    encoded = make_password(password)  # hashed once, as for the seed's other generated accounts
    grids = {g.code: g for g in Grid.objects.filter(code__in={grid for _person, grid in members})}
    planned: list[tuple[Person, str, str]] = []
    for person, grid in members:
        number = 1
        while f"pm-{grid}-{number:02d}" in taken:
            number += 1
        username = f"pm-{grid}-{number:02d}"
        taken.add(username)
        planned.append((person, grid, username))
    User.objects.bulk_create(
        [User(username=username, password=encoded, display_name=person.name) for person, _grid, username in planned]
    )
    users = {u.username: u for u in User.objects.filter(username__in=[u for _p, _g, u in planned])}
    Membership.objects.bulk_create(
        [
            Membership(user=users[username], role=Role.VOLUNTEER, grid=grids[grid], path=grid, active=True)
            for _person, grid, username in planned
        ]
    )
    audit.record_many(
        actor=None,
        action=AuditAction.CREATE,
        instances=list(users.values()),
        note="demo: party member / volunteer account",
    )
    return {person.pk: users[username] for person, _grid, username in planned}


def _members(
    accounts: dict[str, User],
    people: _People,
    *,
    township_code: str,
    today: datetime.date,
    password: str,
    rng: random.Random,
) -> list[Volunteer]:
    """Fifteen members registered by the township, ``volunteer`` and ``gridlead`` first, with their pledges."""
    officer = accounts["township"]
    lead_grid = _grid_of(accounts["gridlead"], Role.GRID_LEADER)
    volunteer_grid = _grid_of(accounts["volunteer"], Role.VOLUNTEER)
    chosen: list[tuple[Person, str, User | None]] = []
    for username, grid in (("gridlead", lead_grid), ("volunteer", volunteer_grid)):
        person = people.take(grid) if grid else None
        if person is not None:
            chosen.append((person, person.path, accounts[username]))
    while len(chosen) < MEMBERS:
        person = people.take()
        if person is None:
            break
        chosen.append((person, person.path, None))
    new_accounts = _member_accounts(
        [(person, grid) for person, grid, account in chosen if account is None], password=password
    )
    branches = dict(Division.objects.filter(code__startswith=township_code).values_list("code", "name"))
    commitments = list(Commitment.objects.filter(active=True).order_by("number"))
    members: list[Volunteer] = []
    for index, (person, grid, account) in enumerate(chosen):
        is_party = index % 3 != 2  # two in three are party members; ``gridlead`` and ``volunteer`` are
        community = branches.get(grid.split("-")[0], "结古街道")
        member = volunteer_create(
            actor=officer,
            person=person,
            kind=VolunteerKind.PARTY_MEMBER if is_party else VolunteerKind.VOLUNTEER,
            area=grid,
            party_branch=f"{community.removesuffix('（虚构）')}党支部（虚构）" if is_party else "",
            skills=SKILLS[index % len(SKILLS)],
            availability=AVAILABILITY[index % len(AVAILABILITY)] + DEMO,
            account=account or new_accounts.get(person.pk),
            joined_on=today - datetime.timedelta(days=20 + 7 * index),
        )
        if commitments:
            signed = commitments if index not in PARTIAL_PLEDGES else commitments[: rng.randint(3, 6)]
            pledge_sign(
                actor=officer,
                volunteer=member,
                commitments=signed,
                signed_on=today - datetime.timedelta(days=14 + index % 5),
            )
        members.append(member)
    return members


@dataclass
class _Slot:
    post: Post
    start: datetime.datetime
    end: datetime.datetime
    seat: int


def _roster(
    accounts: dict[str, User],
    members: Sequence[Volunteer],
    *,
    township_code: str,
    now: datetime.datetime,
    rng: random.Random,
) -> list[Shift]:
    """The township's posts and their roster from a few days back to the end of this week.

    Each shift goes to the least-rostered member free then (eight hours' rest between shifts); one checkpoint
    shift a day or more ahead is left without its second person (the roster's gap), and ``volunteer`` holds the
    checkpoint now. Past shifts are checked in and out by their members at the time (one on the door-to-door
    post never was: the missed-shift sweep marks it missed); shifts under way are checked in, but for
    ``volunteer``'s, which the demo user checks in.
    """
    officer = accounts["township"]
    today = timezone.localdate(now)
    community = Division.objects.filter(parent_id=township_code).order_by("code").values_list("code", flat=True).first()
    posts: dict[str, Post] = {}
    slots: list[_Slot] = []
    monday = coverage.week_start(today)
    first_day = min(monday, today - datetime.timedelta(days=3))
    days = [first_day + datetime.timedelta(days=n) for n in range((monday - first_day).days + 7)]
    for key, name, kind, area, place, opens, closes, staff, daily in POSTS:
        post = post_create(
            actor=officer,
            name=name,
            kind=kind,
            area=(community or township_code) if area == "community" else township_code,
            place=place,
            opens_at=datetime.time(opens),
            closes_at=datetime.time(closes),
            min_staff=staff,
        )
        posts[key] = post
        for day in days:
            for hour, length in daily:
                start = _at(day, hour)
                for seat in range(staff):
                    slots.append(_Slot(post, start, start + datetime.timedelta(hours=length), seat))
    checkpoint = posts[CHECKPOINT]
    ahead = [s for s in slots if s.post == checkpoint and s.seat == 1 and s.start.hour == 0 and s.start > now]
    ahead = [s for s in ahead if s.start - now > datetime.timedelta(hours=12)] or ahead
    gap = ahead[0] if ahead else [s for s in slots if s.post == checkpoint][-1]
    slots.remove(gap)
    current = next(
        (s for s in slots if s.post == checkpoint and s.seat == 0 and s.start <= now < s.end),
        None,
    )
    own = next((m for m in members if m.user_id == accounts["volunteer"].pk), None)
    rostered: dict[int, list[tuple[datetime.datetime, datetime.datetime]]] = defaultdict(list)
    chosen: list[tuple[_Slot, Volunteer]] = []
    if current is not None and own is not None:
        chosen.append((current, own))
        rostered[own.pk].append((current.start, current.end))
    order = {m.pk: n for n, m in enumerate(members)}
    for slot in sorted(slots, key=lambda s: (s.start, s.post.pk, s.seat)):
        if current is not None and slot is current and own is not None:
            continue
        free = [
            m
            for m in members
            if all(end + REST <= slot.start or slot.end + REST <= start for start, end in rostered[m.pk])
        ]
        if not free:
            continue
        member = min(free, key=lambda m: (_hours(rostered[m.pk]), order[m.pk]))
        rostered[member.pk].append((slot.start, slot.end))
        chosen.append((slot, member))
    chosen.sort(key=lambda pair: (pair[0].start, pair[0].post.pk, pair[0].seat))
    shifts = [
        shift_create(actor=officer, post=slot.post, volunteer=member, start=slot.start, end=slot.end)
        for slot, member in chosen
    ]
    _on_duty(shifts, posts=posts, own=current, chosen=chosen, now=now, rng=rng)
    return shifts


def _hours(spans: Sequence[tuple[datetime.datetime, datetime.datetime]]) -> float:
    return sum((end - start).total_seconds() for start, end in spans) / 3600


def _on_duty(
    shifts: Sequence[Shift],
    *,
    posts: dict[str, Post],
    own: _Slot | None,
    chosen: Sequence[tuple[_Slot, Volunteer]],
    now: datetime.datetime,
    rng: random.Random,
) -> None:
    """Members check in (a few minutes early or late) and out (a little after the end) of past shifts; shifts under
    way are checked in. One past door-to-door shift is left: the missed-shift sweep marks it missed."""
    early = min(checkin_early(), datetime.timedelta(minutes=15))
    door = posts[DOOR_TO_DOOR]
    past_door = [s for s in shifts if s.post_id == door.pk and s.end + datetime.timedelta(hours=12) <= now]
    missed = past_door[0] if past_door else None
    own_shift = next((shift for (slot, _m), shift in zip(chosen, shifts, strict=True) if slot is own), None)
    member_accounts = {m.pk: m.user for _slot, m in chosen}
    for shift in shifts:
        if shift.start > now or shift is missed or shift is own_shift:
            continue
        member = member_accounts.get(shift.volunteer_id)
        if member is None:
            continue
        offset = datetime.timedelta(minutes=rng.randint(0, 20))
        arrived = min(max(shift.start - early, shift.start - offset + datetime.timedelta(minutes=5)), now)
        shift = shift_check_in(actor=member, shift=shift, now=arrived)
        if shift.end <= now:
            left = min(shift.end + datetime.timedelta(minutes=rng.randint(0, 25)), now)
            shift_check_out(actor=member, shift=shift, now=left)
    mark_missed(now=now)


def _service_entries(accounts: dict[str, User], members: Sequence[Volunteer], *, today: datetime.date) -> None:
    commitments = {c.code: c for c in Commitment.objects.filter(active=True)}
    for position, days_ago, hours, code, description in SERVICE_ENTRIES:
        if position >= len(members):
            continue
        service_entry_add(
            actor=accounts["township"],
            volunteer=members[position],
            day=today - datetime.timedelta(days=days_ago),
            hours=hours,
            description=description,
            commitment=commitments.get(code),
        )


# --- notices and public reports -----------------------------------------------------------------------------------

CITY_RULES = """一、进出玉树市的人员须通过“青松办”或检查站完成登记，主动出示健康码和行程卡，配合体温检测。
二、来自中高风险地区的人员，须提前向所在社区（村）报备，抵达后按规定落实隔离和核酸检测。
三、减少聚集，暂停大型聚会、宴席和集体活动；进入公共场所须佩戴口罩、扫码登记、保持一米距离。
四、出现发热、干咳、乏力等症状的，请立即到发热门诊就诊，途中做好防护，不得自行服药隐瞒。
五、不信谣、不造谣、不传谣，以官方发布的信息为准；发现违反防控规定的行为，可通过本页“我要报告”反映。

本通告为演示数据，内容为虚构。"""

TESTING_TIMES = """结古街道本轮全员核酸检测安排如下：
一、时间：每日 8:00–12:00、14:30–19:00。
二、地点：各社区（村）采样点，详见社区微信群；行动不便的老人和残疾人请联系网格员上门采样。
三、请携带身份证或户口簿，提前打开健康码，排队时保持一米距离、全程佩戴口罩。

本通知为演示数据，内容为虚构。"""

DRAFT = """为做好疫情防控期间的群众服务，结古街道现招募防疫志愿者，主要从事检查站登记、物资配送和入户宣传。
有意者请向所在社区党支部报名。（草稿，演示数据）"""

REFUTATION = """近日，有微信群转发“明天全城封闭，所有超市关门”的消息。经核实，该消息不实。
结古街道各超市、农贸市场正常营业，生活物资供应充足，请群众不要恐慌囤购，以官方发布的通告为准。
不信谣、不造谣、不传谣；发现谣言，可通过本页“我要报告”反映。

本通告为演示数据，内容为虚构。"""


def _notices(accounts: dict[str, User], *, township: Division, city: Division, today: datetime.date) -> None:
    """The city's pinned rules and 结古街道's testing times, published; a draft; read receipts of the staff."""
    rules = notice_create(
        actor=accounts["city"],
        division=city,
        title="玉树市关于进一步落实疫情防控措施的通告" + DEMO,
        body=CITY_RULES,
        effective_from=today - datetime.timedelta(days=5),
        pinned=True,
    )
    rules = notice_publish(actor=accounts["city"], notice=rules)
    testing = notice_create(
        actor=accounts["township"],
        division=township,
        title="结古街道全员核酸检测时间安排" + DEMO,
        body=TESTING_TIMES,
        effective_from=today - datetime.timedelta(days=1),
        expires_on=today + datetime.timedelta(days=6),
    )
    testing = notice_publish(actor=accounts["township"], notice=testing)
    notice_create(
        actor=accounts["township"],
        division=township,
        title="关于招募社区防疫志愿者的通知" + DEMO,
        body=DRAFT,
        effective_from=today + datetime.timedelta(days=1),
    )
    for username in ("township", "village", "gridlead", "grid", "volunteer"):
        notice_mark_read(user=accounts[username], notice=rules)
    for username in ("village", "grid"):
        notice_mark_read(user=accounts[username], notice=testing)


def _reports(accounts: dict[str, User], *, township: Division, now: datetime.datetime, today: datetime.date) -> int:
    """Three reports from 结古街道's public page: a rumour refuted with a published notice, a gathering referred to
    the police, and a tip about an unregistered arrival waiting for triage."""
    officer = accounts["township"]
    hours = datetime.timedelta(hours=1)
    rumour = report_submit(
        kind=ReportKind.RUMOUR,
        description="微信群里在传：听说明天全城封闭，所有超市关门，赶紧去囤菜囤粮！" + DEMO,
        place="结古街道（小区业主微信群）",
        occurred_at=now - 5 * hours,
        division=township,
    )
    rumour = report_triage(
        actor=officer,
        report=rumour,
        expected_version=rumour.version,
        outcome=ReportStatus.FALSE,
        note="经向市指挥部核实，无封城安排，超市正常营业。" + DEMO,
    )
    report_answer_with_notice(
        actor=officer,
        report=rumour,
        expected_version=rumour.version,
        division=township,
        title="辟谣：“明天全城封闭”系谣言" + DEMO,
        body=REFUTATION,
        effective_from=today,
    )
    gathering = report_submit(
        kind=ReportKind.VIOLATION,
        description="胜利路一小区院内有二十多人聚集打牌，都没戴口罩，已经好几天了。" + DEMO,
        place="结古街道胜利路（虚构）",
        occurred_at=now - 20 * hours,
        contact="13909760000",
        division=township,
    )
    police = Department.objects.filter(code="police").first()
    if police is not None:
        report_triage(
            actor=officer,
            report=gathering,
            expected_version=gathering.version,
            outcome=ReportStatus.REFERRED,
            department=police,
            note="聚集属实可能性大，请派出所到场劝散。" + DEMO,
        )
    report_submit(
        kind=ReportKind.UNREGISTERED_ARRIVAL,
        description="邻居家昨天晚上从外省回来一个人，没看到在社区登记。" + DEMO,
        place="结古街道第2社区（虚构）",
        occurred_at=now - 14 * hours,
        division=township,
    )
    return PublicReport.objects.filter(path=township.code).count()
