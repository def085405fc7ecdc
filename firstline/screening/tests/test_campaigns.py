"""Door-to-door campaigns: the services (campaigns, visits, follow-up tasks) and the coverage selectors."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from firstline.core import audit
from firstline.core.concurrency import StaleVersionError
from firstline.core.models import AuditAction
from firstline.dispatch.models import Task, TaskPriority
from firstline.regions.models import Division, Household
from firstline.screening.campaigns import selectors, services
from firstline.screening.models import HouseholdVisit

pytestmark = pytest.mark.django_db

TOWNSHIP = "632701001"


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in their English source form."""
    with translation.override("en"):
        yield


def add_households(grid, numbers):
    return [
        Household.objects.create(code=f"{grid.code}-H{n:04d}", path=grid.path, grid=grid, address=f"{grid.name} {n}号")
        for n in numbers
    ]


def running_campaign(city, *, actor="township", code=TOWNSHIP, name="春节后全覆盖排查"):
    today = timezone.localdate()
    return services.campaign_create(
        actor=city[actor],
        name=name,
        division=Division.objects.get(code=code),
        date_from=today - datetime.timedelta(days=1),
        date_to=today + datetime.timedelta(days=5),
    )


def visit(city, campaign, household, outcome="visited", *, actor="grid_a", **extra):
    return services.visit_record(actor=city[actor], campaign=campaign, household=household, outcome=outcome, **extra)


# --- campaigns ---------------------------------------------------------------------------------------------


def test_township_officer_starts_a_campaign_over_their_township_and_it_is_audited(city):
    campaign = running_campaign(city)
    assert (campaign.path, campaign.division_id, campaign.created_by, campaign.version) == (
        TOWNSHIP,
        TOWNSHIP,
        city["township"],
        1,
    )
    event = audit.history_for(campaign).get()
    assert event.action == AuditAction.CREATE and event.changes["name"] == [None, "春节后全覆盖排查"]


def test_campaign_over_a_division_outside_the_scope_is_refused(city):
    with pytest.raises(ValidationError) as error:
        running_campaign(city, actor="other_township")
    assert error.value.message_dict == {"division": ["This division is outside your jurisdiction."]}


def test_campaign_dates_out_of_order_are_refused_naming_the_field(city):
    today = timezone.localdate()
    with pytest.raises(ValidationError) as error:
        services.campaign_create(
            actor=city["township"],
            name="x",
            division=city.community_a,
            date_from=today,
            date_to=today - datetime.timedelta(days=1),
        )
    assert error.value.message_dict == {"date_to": ["The last day cannot be before the first day."]}


@pytest.mark.parametrize("username", ["grid_a", "volunteer", "cdc", "police"])
def test_roles_without_campaign_management_cannot_start_one(city, username):
    with pytest.raises(PermissionDenied):
        running_campaign(city, actor=username, code=city.community_a.code)


def test_village_secretary_starts_a_campaign_over_their_community(city):
    campaign = running_campaign(city, actor="village_a", code=city.community_a.code)
    assert campaign.path == city.community_a.code


def test_campaign_update_bumps_the_version_and_refuses_a_stale_one(city):
    campaign = running_campaign(city)
    campaign = services.campaign_update(
        actor=city["township"], campaign=campaign, expected_version=1, data={"name": "第二轮排查"}
    )
    assert (campaign.name, campaign.version) == ("第二轮排查", 2)
    with pytest.raises(StaleVersionError):
        services.campaign_update(actor=city["township"], campaign=campaign, expected_version=1, data={"note": "x"})


def test_village_secretary_sees_but_cannot_edit_the_township_campaign(city):
    campaign = running_campaign(city)
    assert selectors.campaign_get_for_user(city["village_a"], campaign.pk) == campaign
    with pytest.raises(PermissionDenied):
        services.campaign_update(actor=city["village_a"], campaign=campaign, expected_version=1, data={"name": "x"})


def test_division_of_a_campaign_with_visits_cannot_change(city):
    campaign = running_campaign(city)
    visit(city, campaign, city.household_a)
    with pytest.raises(ValidationError) as error:
        services.campaign_update(
            actor=city["township"], campaign=campaign, expected_version=1, data={"division": city.community_a}
        )
    assert error.value.message_dict == {"division": ["The division cannot change once visits are recorded."]}


# --- visits ------------------------------------------------------------------------------------------------


def test_first_visit_creates_the_row_with_the_household_path(city):
    campaign = running_campaign(city)
    saved = visit(city, campaign, city.household_a, members_present=3, unvaccinated=1, note="老人在家")
    assert (saved.path, saved.outcome, saved.visited_by, saved.version) == (
        city.household_a.path,
        "visited",
        city["grid_a"],
        1,
    )
    assert (saved.members_present, saved.unvaccinated, saved.note) == (3, 1, "老人在家")


def test_revisit_updates_the_one_row_and_history_keeps_both_visits(city):
    campaign = running_campaign(city)
    first = visit(city, campaign, city.household_a, "nobody_home")
    second = visit(city, campaign, city.household_a, "visited", actor="grid_lead_a", members_present=4)
    assert HouseholdVisit.objects.filter(campaign=campaign, household=city.household_a).count() == 1
    assert second.pk == first.pk and second.version == 2
    events = list(audit.history_for(second).order_by("at", "id"))
    assert [e.action for e in events] == [AuditAction.CREATE, AuditAction.UPDATE]
    assert events[0].changes["outcome"] == [None, "nobody_home"]
    assert events[1].changes["outcome"] == ["nobody_home", "visited"]
    assert events[1].actor_username == "grid_lead_a"


def test_revisit_with_an_outdated_version_is_refused(city):
    campaign = running_campaign(city)
    visit(city, campaign, city.household_a, "nobody_home")
    visit(city, campaign, city.household_a, "visited", actor="volunteer")
    with pytest.raises(StaleVersionError):
        visit(city, campaign, city.household_a, "refused", expected_version=1)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (2, 6, "The campaign starts on {from}; visits can be recorded from then."),
        (-6, -1, "The campaign ended on {to}; visits can no longer be recorded."),
    ],
)
def test_visit_outside_the_campaign_dates_is_refused_with_the_reason(city, start, end, message):
    today = timezone.localdate()
    date_from, date_to = today + datetime.timedelta(days=start), today + datetime.timedelta(days=end)
    campaign = services.campaign_create(
        actor=city["township"], name="x", division=city.community_a, date_from=date_from, date_to=date_to
    )
    with pytest.raises(ValidationError) as error:
        visit(city, campaign, city.household_a)
    expected = message.format(**{"from": date_from.isoformat(), "to": date_to.isoformat()})
    assert error.value.message_dict == {"campaign": [expected]}
    assert not HouseholdVisit.objects.exists()


def test_visit_time_before_the_campaign_or_in_the_future_is_refused(city):
    campaign = running_campaign(city)
    before = timezone.now() - datetime.timedelta(days=3)
    with pytest.raises(ValidationError) as error:
        visit(city, campaign, city.household_a, visited_at=before)
    assert list(error.value.message_dict) == ["visited_at"]
    with pytest.raises(ValidationError) as error:
        visit(city, campaign, city.household_a, visited_at=timezone.now() + datetime.timedelta(hours=2))
    assert error.value.message_dict == {"visited_at": ["The visit time cannot be in the future."]}


def test_household_outside_the_campaign_division_is_refused(city):
    campaign = running_campaign(city, code=city.community_a.code)
    with pytest.raises(ValidationError) as error:
        visit(city, campaign, city.household_b, actor="township")
    assert error.value.message_dict == {"household": ["This household is outside the campaign's division."]}


def test_grid_b_cannot_record_a_visit_of_a_grid_a_household(city):
    campaign = running_campaign(city)
    with pytest.raises(ValidationError) as error:
        visit(city, campaign, city.household_a, actor="grid_b")
    assert error.value.message_dict == {"household": ["This household is outside your jurisdiction."]}


@pytest.mark.parametrize("username", ["city", "cdc", "police", "outsider"])
def test_roles_without_visit_recording_cannot_record(city, username):
    campaign = running_campaign(city)
    with pytest.raises(PermissionDenied):
        visit(city, campaign, city.household_a, actor=username)


def test_bad_outcome_and_counts_are_refused_naming_each_field(city):
    campaign = running_campaign(city)
    with pytest.raises(ValidationError) as error:
        visit(city, campaign, city.household_a, "maybe", members_present=-1, returnees_found=500)
    assert set(error.value.message_dict) == {"outcome", "members_present", "returnees_found"}


def test_symptoms_raise_one_urgent_task_for_the_grid(city, django_capture_on_commit_callbacks):
    campaign = running_campaign(city)
    with django_capture_on_commit_callbacks(execute=True):
        visit(city, campaign, city.household_a, symptoms=True, actor="volunteer")
    task = Task.objects.get(kind=services.TASK_KIND_SYMPTOMS)
    assert (task.assignee_grid, task.priority, task.path, task.object_id) == (
        city.grid_a,
        TaskPriority.URGENT,
        city.household_a.path,
        str(city.household_a.pk),
    )
    assert task.due_at <= timezone.now() + datetime.timedelta(hours=settings.TASK_URGENT_DUE_HOURS)
    # A revisit that still finds symptoms does not raise the task again.
    with django_capture_on_commit_callbacks(execute=True):
        visit(city, campaign, city.household_a, symptoms=True)
    assert Task.objects.filter(kind=services.TASK_KIND_SYMPTOMS).count() == 1


def test_no_task_is_raised_when_the_visit_is_refused(city, django_capture_on_commit_callbacks):
    campaign = running_campaign(city)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        visit(city, campaign, city.household_a, "maybe", symptoms=True, returnees_found=2)
    assert not Task.objects.exists()


def test_returnees_raise_a_registration_task_linking_the_arrival_form(city, django_capture_on_commit_callbacks):
    campaign = running_campaign(city)
    with django_capture_on_commit_callbacks(execute=True):
        visit(city, campaign, city.household_a, returnees_found=2)
    task = Task.objects.get(kind=services.TASK_KIND_RETURNEES)
    assert task.assignee_grid == city.grid_a and task.priority == TaskPriority.HIGH
    assert services.arrival_form_url(city.household_a) in task.notes
    assert not Task.objects.filter(kind=services.TASK_KIND_SYMPTOMS).exists()
    # The same count again is not news; one more returnee is.
    with django_capture_on_commit_callbacks(execute=True):
        visit(city, campaign, city.household_a, returnees_found=2)
    with django_capture_on_commit_callbacks(execute=True):
        visit(city, campaign, city.household_a, returnees_found=3)
    assert Task.objects.filter(kind=services.TASK_KIND_RETURNEES).count() == 2


def test_arrival_form_link_falls_back_to_the_household_page(city):
    url = services.arrival_form_url(city.household_a)
    if services.arrival_form_base() is None:
        assert url == reverse("regions:household", args=[city.household_a.pk])
    else:
        assert url == f"{reverse('screening:arrival_create')}?household={city.household_a.code}"


# --- coverage ----------------------------------------------------------------------------------------------


@pytest.fixture
def surveyed(city):
    """Grid A: 5 households (2 visited, 1 nobody home, 1 refused, 1 not visited); grid B: 2 (1 visited)."""
    a3, a4, a5 = add_households(city.grid_a, [3, 4, 5])
    (b2,) = add_households(city.grid_b, [2])
    campaign = running_campaign(city)
    visit(city, campaign, city.household_a, "visited")
    visit(city, campaign, city.household_a2, "nobody_home")
    visit(city, campaign, a3, "refused")
    visit(city, campaign, a4, "visited")
    visit(city, campaign, city.household_b, "visited", actor="grid_b")
    return campaign, {"a3": a3, "a4": a4, "a5": a5, "b2": b2}


def figures(row):
    return (row.households, row.visited, row.nobody_home, row.refused, row.not_visited, row.percent)


def test_coverage_per_grid_village_and_whole_campaign_is_exact(city, surveyed):
    campaign, _extra = surveyed
    rows = selectors.campaign_coverage(campaign, city["township"])
    assert [(r.level, r.code) for r in rows] == [
        ("campaign", TOWNSHIP),
        ("village", city.community_a.code),
        ("grid", city.grid_a.code),
        ("village", city.community_b.code),
        ("grid", city.grid_b.code),
    ]
    by_code = {r.code: r for r in rows}
    assert figures(by_code[city.grid_a.code]) == (5, 2, 1, 1, 1, 40.0)
    assert figures(by_code[city.grid_b.code]) == (2, 1, 0, 0, 1, 50.0)
    assert figures(by_code[city.community_a.code]) == (5, 2, 1, 1, 1, 40.0)
    assert figures(by_code[TOWNSHIP]) == (7, 3, 1, 1, 2, 42.9)
    assert by_code[TOWNSHIP].name == "结古街道" and by_code[city.grid_a.code].name == "网格A"


def test_city_wide_coverage_groups_by_township_and_village(city, surveyed):
    _campaign, _extra = surveyed
    campaign = running_campaign(city, actor="city", code="632701", name="全市排查")
    rows = selectors.campaign_coverage(campaign, city["city"])
    assert [(r.level, r.code, r.households) for r in rows] == [
        ("campaign", "632701", 8),
        ("township", TOWNSHIP, 7),
        ("village", city.community_a.code, 5),
        ("grid", city.grid_a.code, 5),
        ("village", city.community_b.code, 2),
        ("grid", city.grid_b.code, 2),
        ("township", "632701101", 1),
        ("village", city.village_c.code, 1),
        ("grid", city.grid_c.code, 1),
    ]
    # Visits belong to the other campaign: nothing is covered here.
    assert all(r.visited == 0 and r.not_visited == r.households for r in rows)


def test_a_grid_worker_sees_the_coverage_of_their_part_only(city, surveyed):
    campaign, _extra = surveyed
    rows = selectors.campaign_coverage(campaign, city["grid_a"])
    assert [(r.level, figures(r)) for r in rows] == [
        ("campaign", (5, 2, 1, 1, 1, 40.0)),
        ("village", (5, 2, 1, 1, 1, 40.0)),
        ("grid", (5, 2, 1, 1, 1, 40.0)),
    ]


def test_coverage_query_count_does_not_grow_with_households(city, surveyed, django_assert_num_queries):
    campaign, _extra = surveyed
    with django_assert_num_queries(4):
        selectors.campaign_coverage(campaign, city["township"])
    add_households(city.grid_b, range(10, 60))
    with django_assert_num_queries(4):
        rows = selectors.campaign_coverage(campaign, city["township"])
    assert rows[0].households == 57


def test_unvisited_lists_households_never_visited_and_those_nobody_was_home_saying_which(city, surveyed):
    campaign, extra = surveyed
    households: Any = selectors.unvisited_households(campaign, city["township"])  # annotated with visit_outcome
    assert [(h.code, h.visit_outcome) for h in households] == [
        (city.household_a2.code, "nobody_home"),
        (extra["a5"].code, None),
        (city.household_b.code.replace("H0001", "H0002"), None),
    ]
    only_grid_a = selectors.unvisited_households(campaign, city["township"], city.grid_a, reason="not_visited")
    assert [h.code for h in only_grid_a] == [extra["a5"].code]
    nobody = selectors.unvisited_households(campaign, city["township"], reason="nobody_home")
    assert [h.code for h in nobody] == [city.household_a2.code]
    assert [h.code for h in selectors.unvisited_households(campaign, city["grid_b"])] == [extra["b2"].code]


def test_round_lists_households_not_yet_visited_first(city, surveyed):
    campaign, extra = surveyed
    households = selectors.round_households(campaign, city["grid_a"], city.grid_a)
    assert [h.code for h in households] == [
        extra["a5"].code,
        city.household_a2.code,
        extra["a3"].code,
        city.household_a.code,
        extra["a4"].code,
    ]


def test_next_unvisited_is_the_following_household_without_a_visit(city):
    a3, a4 = add_households(city.grid_a, [3, 4])
    campaign = running_campaign(city)
    visit(city, campaign, a3)
    grid = city.grid_a
    assert selectors.next_unvisited(campaign, city["grid_a"], grid, after_code=city.household_a.code) == (
        city.household_a2
    )
    assert selectors.next_unvisited(campaign, city["grid_a"], grid, after_code=city.household_a2.code) == a4
    # Past the last one it wraps round to the first household still without a visit.
    assert selectors.next_unvisited(campaign, city["grid_a"], grid, after_code=a4.code) == city.household_a


def test_campaign_list_filters_by_date_and_division(city):
    today = timezone.localdate()
    running = running_campaign(city)
    later = services.campaign_create(
        actor=city["township"],
        name="later",
        division=city.community_b,
        date_from=today + datetime.timedelta(days=10),
        date_to=today + datetime.timedelta(days=12),
    )
    user = city["township"]
    assert list(selectors.campaign_list(user, active_on=today)) == [running]
    assert list(selectors.campaign_list(user, division_code=city.community_b.code)) == [later]
    assert list(selectors.campaign_list(city["grid_a"])) == [running]  # the township's, seen from grid A
    assert list(selectors.campaign_list(city["other_township"])) == []
