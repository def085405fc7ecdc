from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from firstline.core.concurrency import StaleVersionError
from firstline.core.models import AuditEvent
from firstline.dispatch import services
from firstline.dispatch.models import Task, TaskStatus
from firstline.dispatch.services import escalation_chain

pytestmark = pytest.mark.django_db


def _overdue_task(city, **kwargs):
    return services.task_create(
        actor=None,
        title="入户核查",
        related=city.person_a,
        due_at=timezone.now() - datetime.timedelta(hours=1),
        **kwargs,
    )


def test_escalation_chain_goes_grid_village_township_county():
    assert escalation_chain("632701001001-G003") == [
        ("grid", "632701001001-G003"),
        ("village", "632701001001"),
        ("township", "632701001"),
        ("county", "632701"),
    ]
    assert escalation_chain("632701001") == [("county", "632701")]


def test_overdue_grid_task_escalates_to_the_grid_leader_then_the_village_secretary(city):
    task = _overdue_task(city, assignee_grid=city.grid_a)
    report = services.escalate_overdue()
    task.refresh_from_db()
    assert report.escalated == [task.pk]
    assert task.assignee_user == city["grid_lead_a"] and task.assignee_grid is None
    assert task.escalation_level == 1 and task.due_at > timezone.now()
    # Still overdue after the grace period: the village secretary gets it.
    services.escalate_overdue(now=task.due_at + datetime.timedelta(minutes=1))
    task.refresh_from_db()
    assert task.assignee_user == city["village_a"]
    assert task.path == city.community_a.code
    assert task.escalation_level == 2
    assert AuditEvent.objects.filter(object_id=str(task.pk), note__startswith="Overdue").count() == 2


def test_task_without_any_supervisor_is_reported(city):
    # Grid C's village and township have nobody above but the other_township officer: remove them.
    city["other_township"].memberships.update(active=False)
    city["city"].memberships.update(active=False)
    task = _overdue_task(city, assignee_grid=city.grid_c, path=city.grid_c.path)
    report = services.escalate_overdue()
    assert report.no_supervisor == [task.pk]


def test_done_tasks_do_not_escalate(city):
    task = _overdue_task(city, assignee_grid=city.grid_a)
    services.task_update(actor=city["grid_a"], task=task, expected_version=task.version, data={"status": "done"})
    assert services.escalate_overdue().escalated == []


def test_escalate_overdue_command(city, capsys):
    _overdue_task(city, assignee_grid=city.grid_a)
    call_command("escalate_overdue")
    assert "escalated: 1" in capsys.readouterr().out


def test_celery_task_runs_inline_without_a_broker(city):
    from firstline.dispatch.tasks import escalate_overdue

    task = _overdue_task(city, assignee_grid=city.grid_a)
    result = escalate_overdue.delay()
    assert result.get()["escalated"] == [task.pk]


def test_stale_task_update_is_refused(city):
    task = services.task_create(actor=None, title="t", assignee_grid=city.grid_a)
    services.task_update(actor=city["grid_a"], task=task, expected_version=1, data={"notes": "first"})
    with pytest.raises(StaleVersionError):
        services.task_update(actor=city["grid_lead_a"], task=task, expected_version=1, data={"notes": "second"})


def test_inbox_shows_grid_and_department_tasks(client, login, city):
    services.task_create(actor=None, title="网格任务", assignee_grid=city.grid_a)
    services.task_create(actor=None, title="公安任务", assignee_department=city.police, related=city.person_b)
    login("grid_a")
    content = client.get(reverse("dispatch:inbox")).content.decode()
    assert "网格任务" in content and "公安任务" not in content
    client.logout()
    login("police")
    content = client.get(reverse("dispatch:inbox")).content.decode()
    assert "公安任务" in content and "网格任务" not in content


def test_task_page_404_out_of_scope(client, login, city):
    task = services.task_create(actor=None, title="网格任务", assignee_grid=city.grid_a)
    login("grid_a")
    assert client.get(reverse("dispatch:detail", args=[task.pk])).status_code == 200
    client.logout()
    login("grid_b")
    assert client.get(reverse("dispatch:detail", args=[task.pk])).status_code == 404


def test_task_status_change_from_the_page(client, login, city):
    task = services.task_create(actor=None, title="网格任务", assignee_grid=city.grid_a)
    login("grid_a")
    response = client.post(
        reverse("dispatch:detail", args=[task.pk]), {"status": "done", "notes": "已核查", "version": 1}
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.closed_at is not None


def test_inbox_query_count_does_not_grow_with_tasks(client, login, city, django_assert_max_num_queries):
    for n in range(30):
        services.task_create(actor=None, title=f"任务{n}", assignee_grid=city.grid_a, related=city.person_a)
    login("grid_a")
    with django_assert_max_num_queries(12):
        assert client.get(reverse("dispatch:inbox")).status_code == 200


def test_api_tasks_scoped_and_versioned(api, city):
    task = services.task_create(actor=None, title="网格任务", assignee_grid=city.grid_a)
    assert api("grid_b").get(f"/api/v1/tasks/{task.pk}/").status_code == 404
    ok = api("grid_a").patch(f"/api/v1/tasks/{task.pk}/", {"status": "in_progress", "version": 1}, format="json")
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = api("grid_a").patch(f"/api/v1/tasks/{task.pk}/", {"status": "done", "version": 1}, format="json")
    assert stale.status_code == 409


def test_api_create_task(api, city):
    response = api("township").post(
        "/api/v1/tasks/",
        {"title": "核查来返人员", "assignee_grid": city.grid_a.code, "person": city.person_a.pk, "priority": 3},
        format="json",
    )
    assert response.status_code == 201, response.content
    task = Task.objects.get(pk=response.json()["id"])
    assert task.related == city.person_a and task.path == city.grid_a.path


def test_task_page_shows_its_history(client, login, city):
    task = services.task_create(actor=None, title="网格任务", assignee_grid=city.grid_a)
    services.task_update(actor=city["grid_a"], task=task, expected_version=1, data={"notes": "已电话联系"})
    login("grid_a")
    response = client.get(reverse("dispatch:detail", args=[task.pk]))
    assert "已电话联系" in response.content.decode()
    assert len(response.context["events"]) == 2
