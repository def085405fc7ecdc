"""Frontline care services: routing by home, due times, the task that follows the request, escalation, the
requester's confirmation, filing on behalf, home-quarantine needs, and the median time to resolve."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone, translation

from conftest import PASSWORD, make_person, valid_id
from firstline.community.care import selectors, services
from firstline.community.models import CareEvent, CareRequest, FrontlineWorker
from firstline.core.concurrency import StaleVersionError
from firstline.core.models import AuditEvent
from firstline.dispatch.models import Task
from firstline.dispatch.services import escalate_overdue
from firstline.quarantine.models import CareNeedKind


def site_manager(city: Any, username: str = "site_mgr") -> Any:
    """A quarantine-site manager: a site-staff role in 结古街道, which opens no jurisdiction by itself."""
    from firstline.accounts.services import membership_grant, user_create
    from firstline.regions.models import Division

    account = user_create(actor=None, username=username, password=PASSWORD, display_name=username)
    membership_grant(actor=None, user=account, role="site_staff", division=Division.objects.get(code="632701001"))
    city.users[username] = account
    return account


def worker_in_longbao(city: Any) -> FrontlineWorker:
    """A checkpoint volunteer whose home is in 隆宝镇 (household C)."""
    return FrontlineWorker.objects.create(
        person=city.person_c, post_kind="checkpoint", post="214国道卡点", path=city.person_c.path
    )


def file_for_medic(community: Any, **kwargs: Any) -> CareRequest:
    values: dict[str, Any] = {"category": "family_care", "urgency": 2, "description": "母亲78岁独居，需要有人送药"}
    values.update(kwargs)
    return services.care_request_file(actor=community.medic, **values)


def handled(care: CareRequest, city: Any, *, by: str = "township") -> CareRequest:
    return services.care_request_handle(
        actor=city[by], care=care, expected_version=care.version, action_taken="社区干部已送药上门"
    )


def task_of(care: CareRequest) -> Task:
    assert care.task_id is not None
    return Task.objects.get(pk=care.task_id)


def fresh(care: CareRequest) -> CareRequest:
    return CareRequest.objects.select_related("task").get(pk=care.pk)


# -- routing and due times -----------------------------------------------------------------------------------------


def test_request_of_a_site_worker_goes_to_the_township_of_their_home(city: Any, community: Any) -> None:
    # Given medic works at a quarantine site and lives in grid A of 结古街道
    care = file_for_medic(community)
    # Then the request is handled by 结古街道 and lies at the home's community (not the grid)
    assert care.division_id == "632701001"
    assert care.path == "632701001001"
    assert care.worker == community.worker_site and care.person == community.worker_site.person
    assert care.household == city.household_a
    assert care.status == "open" and care.filed_by == community.medic and care.on_behalf is False
    # And the township officer of 结古街道 has a task about it, due when the request is
    task = task_of(care)
    assert task.assignee_user == city["township"] and task.status == "open"
    assert task.due_at == care.due_at and task.priority == care.urgency
    assert task.kind == services.TASK_KIND and task.object_id == str(care.pk)
    assert list(CareEvent.objects.filter(request=care).values_list("kind", flat=True)) == ["filed"]
    assert AuditEvent.objects.filter(object_id=str(care.pk), action="create", path="632701001001").exists()


def test_request_of_a_worker_living_in_another_township_goes_there(city: Any, community: Any) -> None:
    worker = worker_in_longbao(city)
    care = services.care_request_file(
        actor=city["grid_a"], worker_key=worker.person.id_number, category="meals", urgency=3, description="断粮"
    )
    assert care.division_id == "632701101"
    assert task_of(care).assignee_user == city["other_township"]
    assert care.on_behalf is True


@pytest.mark.parametrize(("urgency", "hours"), [(2, 30), (3, 12), (4, 2)])
def test_due_time_follows_urgency_from_settings(
    city: Any, community: Any, settings: Any, urgency: int, hours: int
) -> None:
    settings.CARE_DUE_HOURS = [30, 12, 2]
    before = timezone.now()
    care = file_for_medic(community, urgency=urgency)
    assert before + datetime.timedelta(hours=hours) <= care.due_at <= timezone.now() + datetime.timedelta(hours=hours)


# -- filing ---------------------------------------------------------------------------------------------------------


def test_site_manager_files_for_a_worker_whose_home_they_cannot_see_by_id_number(city: Any, community: Any) -> None:
    manager = site_manager(city)
    # The site manager cannot pick medic from a list: their role opens no jurisdiction
    assert not selectors.filing_choices(manager).filter(pk=community.worker_site.pk).exists()
    care = services.care_request_file(
        actor=manager,
        worker_key=community.worker_site.person.id_number,
        category="child_care",
        urgency=3,
        description="孩子无人照看",
    )
    assert care.on_behalf is True and care.filed_by == manager and care.worker == community.worker_site
    assert care.division_id == "632701001"
    audit = AuditEvent.objects.get(object_id=str(care.pk), action="create", content_type__model="carerequest")
    assert audit.note == "filed on behalf of the worker"
    # The filer sees the request they filed, though not its household
    seen = selectors.care_get_for_user(manager, care.pk)
    access = selectors.care_access(manager, seen)
    assert access.is_requester and not access.sees_home and not access.handles


def test_worker_key_matches_the_account_name_exactly(city: Any, community: Any) -> None:
    care = services.care_request_file(
        actor=city["grid_a"], worker_key="medic", category="transport", urgency=2, description="上下班无车"
    )
    assert care.worker == community.worker_site
    with pytest.raises(ValidationError) as error:
        services.care_request_file(
            actor=city["grid_a"], worker_key="medi", category="transport", urgency=2, description="x"
        )
    assert "worker_key" in error.value.message_dict


def test_a_worker_one_cannot_see_cannot_be_picked_by_id(city: Any, community: Any) -> None:
    worker = worker_in_longbao(city)
    with pytest.raises(ValidationError) as error:
        services.care_request_file(actor=city["grid_a"], worker=worker, category="meals", urgency=2, description="x")
    assert "worker" in error.value.message_dict
    assert not CareRequest.objects.exists()


def test_someone_who_is_no_frontline_worker_must_say_for_whom(city: Any, community: Any) -> None:
    with pytest.raises(ValidationError) as error:
        services.care_request_file(actor=city["grid_a"], category="meals", urgency=2, description="x")
    assert "worker" in error.value.message_dict


def test_bad_input_is_refused_by_field(city: Any, community: Any) -> None:
    with pytest.raises(ValidationError) as error:
        services.care_request_file(actor=community.medic, category="party", urgency=9, description="   ")
    assert set(error.value.message_dict) == {"category", "urgency", "description"}


def test_filing_needs_the_permission(city: Any, community: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.care_request_file(
            actor=city["outsider"], worker_key="medic", category="meals", urgency=2, description="x"
        )


def test_household_defaults_to_the_worker_and_others_must_be_in_scope(city: Any, community: Any) -> None:
    care = services.care_request_file(
        actor=city["grid_a"],
        worker=community.worker_site,
        household=city.household_a2,
        category="family_care",
        urgency=2,
        description="父亲住在隔壁",
    )
    assert care.household == city.household_a2
    with pytest.raises(ValidationError) as error:
        services.care_request_file(
            actor=city["grid_a"],
            worker=community.worker_site,
            household=city.household_c,
            category="family_care",
            urgency=2,
            description="x",
        )
    assert "household" in error.value.message_dict


# -- handling ---------------------------------------------------------------------------------------------------


def test_assigning_moves_the_task_to_the_handler(city: Any, community: Any) -> None:
    care = file_for_medic(community)
    care = services.care_request_assign(
        actor=city["township"], care=care, handler=city["village_a"], expected_version=care.version
    )
    assert care.status == "assigned" and care.handler == city["village_a"]
    task = task_of(care)
    assert task.assignee_user == city["village_a"] and task.status == "in_progress"
    assert CareEvent.objects.filter(request=care, kind="assigned", note__contains="village_a").exists()
    # The handler sees the request and may record what was done
    care = handled(care, city, by="village_a")
    assert care.status == "handled" and care.handler == city["village_a"] and care.handled_at is not None
    assert task_of(care).status == "done"


def test_assigning_a_request_filed_without_an_officer_starts_its_task_with_an_audit_trail(
    city: Any, community: Any
) -> None:
    # Given a request without a task (filed when no officer answered for its township)
    care = file_for_medic(community)
    CareRequest.objects.filter(pk=care.pk).update(task=None)
    care = fresh(care)
    # When the township assigns it
    care = services.care_request_assign(
        actor=city["township"], care=care, handler=city["village_a"], expected_version=care.version
    )
    # Then the task is the handler's, in progress, and both the link and the task's start are audited
    task = task_of(fresh(care))
    assert task.assignee_user == city["village_a"] and task.status == "in_progress"
    link = AuditEvent.objects.filter(object_id=str(care.pk), note="care request assigned").get()
    assert link.changes["task_id"] == [None, task.pk]
    assert AuditEvent.objects.filter(object_id=str(task.pk), note__contains=f"care request {care.pk}").exists()


def test_handlers_are_people_of_the_township(city: Any, community: Any) -> None:
    care = file_for_medic(community)
    with pytest.raises(ValidationError) as error:
        services.care_request_assign(
            actor=city["township"], care=care, handler=city["other_township"], expected_version=care.version
        )
    assert "handler" in error.value.message_dict


def test_only_handlers_of_the_township_assign(city: Any, community: Any) -> None:
    care = file_for_medic(community)
    with pytest.raises(Http404):
        services.care_request_assign(
            actor=city["other_township"], care=care, handler=city["village_a"], expected_version=care.version
        )
    with pytest.raises(PermissionDenied):
        services.care_request_assign(
            actor=community.medic, care=care, handler=city["village_a"], expected_version=care.version
        )


def test_requester_confirms_and_the_request_closes(city: Any, community: Any) -> None:
    care = handled(file_for_medic(community), city)
    care = services.care_request_confirm(actor=community.medic, care=care, expected_version=care.version)
    assert care.status == "closed" and care.closed_at is not None
    assert task_of(care).status == "done"
    assert list(CareEvent.objects.filter(request=care).values_list("kind", flat=True)) == [
        "filed",
        "handled",
        "confirmed",
    ]


@pytest.mark.parametrize("username", ["township", "village_a", "grid_a", "city"])
def test_only_the_requester_confirms_or_reopens(city: Any, community: Any, username: str) -> None:
    care = handled(file_for_medic(community), city)
    with pytest.raises((PermissionDenied, Http404, ValidationError)):
        services.care_request_confirm(actor=city[username], care=care, expected_version=care.version)
    with pytest.raises((PermissionDenied, Http404)):
        services.care_request_reopen(actor=city[username], care=care, expected_version=care.version, reason="x")
    assert fresh(care).status == "handled"


@pytest.mark.parametrize("username", ["township", "village_a", "city"])
def test_the_township_closes_on_the_requesters_word_saying_how(city: Any, community: Any, username: str) -> None:
    care = handled(file_for_medic(community), city)
    with pytest.raises(ValidationError) as refused:
        services.care_request_confirm(actor=city[username], care=care, expected_version=care.version)
    assert "note" in refused.value.message_dict
    care = services.care_request_confirm(
        actor=city[username], care=care, expected_version=care.version, note="电话确认：母亲已有人照顾"
    )
    assert care.status == "closed"
    event = CareEvent.objects.filter(request=care, kind="confirmed").get()
    assert event.actor == city[username] and "电话" in event.note


def test_a_grid_worker_cannot_close_for_the_requester(city: Any, community: Any) -> None:
    care = handled(file_for_medic(community), city)
    with pytest.raises((PermissionDenied, Http404)):
        services.care_request_confirm(actor=city["grid_a"], care=care, expected_version=care.version, note="电话")


def test_the_filer_confirms_a_request_filed_for_a_colleague(city: Any, community: Any) -> None:
    manager = site_manager(city)
    care = services.care_request_file(
        actor=manager, worker_key="medic", category="meals", urgency=2, description="宿舍缺少生活用品"
    )
    care = handled(care, city)
    care = services.care_request_confirm(actor=manager, care=care, expected_version=care.version)
    assert care.status == "closed"


def test_reopening_sends_it_back_with_a_new_due_time_and_reopens_the_task(
    city: Any, community: Any, settings: Any
) -> None:
    settings.CARE_DUE_HOURS = [48, 24, 4]
    care = file_for_medic(community)
    care = services.care_request_assign(
        actor=city["township"], care=care, handler=city["village_a"], expected_version=care.version
    )
    care = handled(care, city, by="village_a")
    # Given the original due time has long passed
    CareRequest.objects.filter(pk=care.pk).update(due_at=timezone.now() - datetime.timedelta(days=3))
    care = fresh(care)
    before = timezone.now()
    care = services.care_request_reopen(
        actor=community.medic, care=care, expected_version=care.version, reason="药送错了"
    )
    assert care.status == "assigned" and care.reopened == 1 and care.handled_at is None
    assert care.handler == city["village_a"]
    assert care.due_at >= before + datetime.timedelta(hours=48)
    task = task_of(care)
    assert task.status == "in_progress" and task.assignee_user == city["village_a"] and task.due_at == care.due_at
    assert task.closed_at is None
    assert CareEvent.objects.filter(request=care, kind="reopened", note="药送错了").exists()
    # A reason is required
    care = handled(care, city, by="village_a")
    with pytest.raises(ValidationError) as error:
        services.care_request_reopen(actor=community.medic, care=care, expected_version=care.version, reason=" ")
    assert "reason" in error.value.message_dict


def test_confirming_twice_is_refused(city: Any, community: Any) -> None:
    care = handled(file_for_medic(community), city)
    care = services.care_request_confirm(actor=community.medic, care=care, expected_version=care.version)
    with pytest.raises(ValidationError) as error:
        services.care_request_confirm(actor=community.medic, care=care, expected_version=care.version)
    assert "status" in error.value.message_dict


def test_a_stale_version_is_refused(city: Any, community: Any) -> None:
    care = file_for_medic(community)
    services.care_request_assign(
        actor=city["township"], care=care, handler=city["village_a"], expected_version=care.version
    )
    with pytest.raises(StaleVersionError):
        services.care_request_handle(actor=city["township"], care=care, expected_version=1, action_taken="x")


def test_cancel_needs_a_reason_and_cancels_the_task(city: Any, community: Any) -> None:
    care = file_for_medic(community)
    with pytest.raises(ValidationError):
        services.care_request_cancel(actor=community.medic, care=care, expected_version=care.version, reason="")
    care = services.care_request_cancel(
        actor=community.medic, care=care, expected_version=care.version, reason="已自行解决"
    )
    assert care.status == "cancelled"
    assert task_of(care).status == "cancelled"


def test_a_grid_worker_neither_sees_nor_cancels_a_request_of_their_community(city: Any, community: Any) -> None:
    # The request lies at the home's community: the grid team of the worker's home does not see it
    care = file_for_medic(community)
    with pytest.raises(Http404):
        services.care_request_cancel(actor=city["grid_a"], care=care, expected_version=care.version, reason="x")
    assert fresh(care).status == "open"


# -- escalation ---------------------------------------------------------------------------------------------------


def test_an_overdue_request_escalates_like_a_task(city: Any, community: Any) -> None:
    care = file_for_medic(community, urgency=4)
    # Given the request's due time passed without anyone acting
    later = care.due_at + datetime.timedelta(minutes=5)
    # When the dispatch escalation runs
    report = escalate_overdue(now=later)
    # Then the township officer's task goes up to the city command centre
    assert care.task_id in report.escalated
    task = task_of(care)
    assert task.assignee_user == city["city"] and task.escalation_level == 1
    assert selectors.is_overdue(fresh(care), later)
    # And the request's timeline says so, once
    assert services.record_escalations() == 1
    assert services.record_escalations() == 0
    event = CareEvent.objects.get(request=care, kind="escalated")
    assert event.note == "level 1: city"
    # The city command centre sees the request and can assign it
    assert selectors.care_access(city["city"], fresh(care)).can_assign


def test_a_handled_request_does_not_escalate_while_waiting_for_confirmation(city: Any, community: Any) -> None:
    care = handled(file_for_medic(community), city)
    report = escalate_overdue(now=care.due_at + datetime.timedelta(hours=1))
    assert care.task_id not in report.escalated


# -- home-quarantine needs ----------------------------------------------------------------------------------------


def home_need(city: Any, *, kind: str = "medicine", description: str = "降压药", by: Any = None) -> Any:
    from firstline.quarantine.models import CareNeed, Placement

    person = city.person_b
    placement = Placement.objects.filter(person=person).first() or Placement.objects.create(
        person=person,
        kind="home",
        household=city.household_b,
        grid=city.grid_b,
        path=person.path,
        start_at=timezone.now(),
        due_date=timezone.localdate() + datetime.timedelta(days=7),
    )
    return CareNeed.objects.create(
        placement=placement, path=placement.path, kind=kind, description=description, created_by=by
    )


def test_home_quarantine_needs_land_in_the_queue_once(city: Any, community: Any) -> None:
    need = home_need(city, by=city["grid_b"])
    other = home_need(city, kind="food", description="")
    report = services.sync_care_needs()
    assert len(report.created) == 2
    care = CareRequest.objects.get(care_need=need)
    assert care.source == "quarantine" and care.person == city.person_b and care.household == city.household_b
    with translation.override(settings.LANGUAGE_CODE):
        label = str(CareNeedKind.MEDICINE.label)
    assert care.category == "health" and care.urgency == 3 and care.description == f"{label}: 降压药"
    assert care.division_id == "632701001" and care.path == "632701001002"
    assert care.filed_by == city["grid_b"] and care.worker is None
    assert task_of(care).assignee_user == city["township"]
    food = CareRequest.objects.get(care_need=other)
    assert food.category == "meals" and food.urgency == 2 and food.filed_by is None
    # Idempotent: a second run creates nothing, and care_from_need returns the same request
    assert services.sync_care_needs().created == []
    assert services.care_from_need(actor=None, need=need) == care
    assert CareRequest.objects.count() == 2 and Task.objects.filter(kind=services.TASK_KIND).count() == 2
    assert CareEvent.objects.filter(kind="filed").count() == 2


def test_care_from_need_creates_the_request_when_the_need_is_added(city: Any, community: Any) -> None:
    need = home_need(city, by=city["grid_b"])
    care = services.care_from_need(actor=city["grid_b"], need=need)
    assert care.care_need == need and care.task_id is not None
    assert AuditEvent.objects.filter(object_id=str(care.pk), content_type__model="carerequest").count() == 1


def test_closing_a_quarantine_request_settles_the_need(city: Any, community: Any) -> None:
    need = home_need(city, by=city["grid_b"])
    care = services.care_from_need(actor=None, need=need)
    care = handled(care, city)
    # The grid worker who recorded the need confirms the delivery
    services.care_request_confirm(actor=city["grid_b"], care=care, expected_version=care.version)
    need.refresh_from_db()
    assert need.status == "done"


def test_a_quarantine_request_nobody_filed_is_confirmed_by_its_handlers(city: Any, community: Any) -> None:
    need = home_need(city)
    care = handled(services.care_from_need(actor=None, need=need), city)
    care = services.care_request_confirm(actor=city["township"], care=care, expected_version=care.version)
    assert care.status == "closed"


def test_requests_follow_needs_settled_in_the_quarantine_pages(city: Any, community: Any) -> None:
    from firstline.quarantine.sites.services import care_need_close

    done, dropped = home_need(city), home_need(city, kind="food")
    services.sync_care_needs()
    care_need_close(actor=None, need=done, done=True)
    care_need_close(actor=None, need=dropped, done=False)
    report = services.sync_care_needs()
    assert report.closed == [CareRequest.objects.get(care_need=done).pk]
    assert report.cancelled == [CareRequest.objects.get(care_need=dropped).pk]
    closed = CareRequest.objects.select_related("task").get(care_need=done)
    assert closed.status == "closed" and closed.task is not None and closed.task.status == "done"
    assert services.sync_care_needs() == services.CareSyncReport()


# -- summary ------------------------------------------------------------------------------------------------------


def _resolved_after(care: CareRequest, city: Any, hours: float) -> None:
    care = handled(care, city)
    CareRequest.objects.filter(pk=care.pk).update(handled_at=care.created_at + datetime.timedelta(hours=hours))


def test_summary_counts_and_median_time_to_resolve_per_township(city: Any, community: Any) -> None:
    for hours in (1, 3, 10, 50):
        _resolved_after(file_for_medic(community), city, hours)
    file_for_medic(community)  # open
    overdue = file_for_medic(community)
    CareRequest.objects.filter(pk=overdue.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    worker = worker_in_longbao(city)
    for hours in (2, 4, 6):
        care = services.care_request_file(
            actor=city["city"], worker=worker, category="meals", urgency=2, description="x"
        )
        care = services.care_request_handle(
            actor=city["other_township"], care=care, expected_version=care.version, action_taken="送达"
        )
        CareRequest.objects.filter(pk=care.pk).update(handled_at=care.created_at + datetime.timedelta(hours=hours))
    rows = {row.division.code: row for row in selectors.care_summary(user=city["city"])}
    jiegu, longbao = rows["632701001"], rows["632701101"]
    assert (jiegu.total, jiegu.open, jiegu.overdue, jiegu.handled) == (6, 2, 1, 4)
    assert jiegu.median_to_resolve == datetime.timedelta(hours=6.5)  # (3 + 10) / 2
    assert longbao.median_to_resolve == datetime.timedelta(hours=4)
    # The township officer of 结古街道 sees only their township
    assert [row.division.code for row in selectors.care_summary(user=city["township"])] == ["632701001"]


# -- registry -----------------------------------------------------------------------------------------------------


def test_flagging_a_frontline_worker(city: Any, community: Any) -> None:
    worker = services.frontline_worker_create(
        actor=city["township"], person=city.person_a, post_kind="grid", post="网格A", user=city["grid_a"]
    )
    assert worker.path == city.person_a.path and worker.user == city["grid_a"]
    assert selectors.worker_of(city["grid_a"]) == worker
    with pytest.raises(ValidationError) as error:
        services.frontline_worker_create(actor=city["township"], person=city.person_a, post_kind="grid")
    assert "person" in error.value.message_dict
    person = make_person(household=city.household_b, name="次仁", id_number=valid_id("63270119950505005"))
    with pytest.raises(ValidationError) as error:
        services.frontline_worker_create(
            actor=city["township"], person=person, post_kind="medical", user=community.medic
        )
    assert "user" in error.value.message_dict


def test_flagging_needs_the_person_in_scope_and_the_permission(city: Any, community: Any) -> None:
    with pytest.raises(Http404):
        services.frontline_worker_create(actor=city["other_township"], person=city.person_a, post_kind="grid")
    with pytest.raises(PermissionDenied):
        services.frontline_worker_create(actor=city["grid_a"], person=city.person_a, post_kind="grid")


def test_updating_a_worker_follows_their_home(city: Any, community: Any) -> None:
    worker = community.worker_site
    person = worker.person
    person.household = city.household_b
    person.path = city.household_b.path
    person.save()
    worker = services.frontline_worker_update(
        actor=city["township"], worker=worker, expected_version=worker.version, data={"active": False}
    )
    assert worker.active is False and worker.path == city.household_b.path
    assert selectors.worker_of(community.medic) is None
