"""Out-of-scope answers for the write endpoints and the visibility rules that live in querysets."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import valid_id
from firstline.accounts.models import Membership
from firstline.core import audit
from firstline.core.models import AuditEvent
from firstline.dispatch.models import Task
from firstline.people.models import Person
from firstline.people.services import person_create
from firstline.regions.models import Division

pytestmark = pytest.mark.django_db


def test_household_assign_404_out_of_scope(client, login, city):
    login("grid_b")
    url = reverse("regions:household_assign", args=[city.household_a.pk])
    assert client.post(url, {"responsible": "", "version": 1}).status_code == 404
    city.household_a.refresh_from_db()
    assert city.household_a.version == 1


def test_duplicate_resolve_404_when_either_person_is_out_of_scope(client, login, city):
    login("other_township")
    response = client.post(
        reverse("people:duplicate_resolve"),
        {"first": city.person_c.pk, "second": city.person_a.pk, "action": "keep_first"},
    )
    assert response.status_code == 404
    assert Person.objects.get(pk=city.person_a.pk).merged_into_id is None


def test_membership_revoke_404_out_of_scope(client, login, city):
    login("admin")  # data administrator of 结古街道
    other = Membership.objects.get(user=city["other_township"])
    assert client.post(reverse("accounts:membership_revoke", args=[other.pk])).status_code == 404
    other.refresh_from_db()
    assert other.active


def test_user_pages_forbidden_without_user_management(client, login, city):
    login("township")
    assert client.get(reverse("accounts:users")).status_code == 403


def test_task_about_an_out_of_scope_person_is_404(client, login, city):
    login("grid_a")
    assert client.get(reverse("dispatch:create"), {"person": city.person_b.pk}).status_code == 404


def test_api_task_for_a_grid_out_of_scope_is_refused(api, city):
    response = api("grid_a").post("/api/v1/tasks/", {"title": "越权", "assignee_grid": city.grid_c.code}, format="json")
    assert response.status_code == 400 and "assignee_grid" in response.json()
    assert not Task.objects.exists()


def test_api_person_create_in_a_household_out_of_scope_is_refused(api, city):
    response = api("grid_a").post(
        "/api/v1/persons/",
        {"name": "越权", "id_number": valid_id("63270119800101005"), "household": city.household_b.code},
        format="json",
    )
    assert response.status_code == 400 and "household" in response.json()


def test_grid_worker_sees_their_own_village_but_not_the_neighbour(client, login, city):
    login("grid_a")
    assert client.get(reverse("regions:division", args=[city.community_a.code])).status_code == 200
    assert client.get(reverse("regions:division", args=[city.community_b.code])).status_code == 404
    codes = set(Division.objects.visible_to(city["grid_a"]).values_list("code", flat=True))
    assert codes == {city.community_a.code}


def test_placeless_audit_events_only_for_city_wide_auditors(city):
    from firstline.accounts.services import membership_grant, user_create

    township_auditor = user_create(actor=None, username="t_auditor", password="correct-horse-battery-9")
    membership_grant(actor=None, user=township_auditor, role="auditor", division=Division.objects.get(code="632701001"))
    event = audit.record(actor=None, action="other", note="account change without a place")
    assert AuditEvent.objects.visible_to(city["auditor"]).filter(pk=event.pk).exists()
    assert not AuditEvent.objects.visible_to(township_auditor).filter(pk=event.pk).exists()
    person = person_create(
        actor=city["grid_a"],
        name="拉毛",
        id_type="resident",
        id_number=valid_id("63270119880808004"),
        household=city.household_a,
    )
    created = AuditEvent.objects.get(object_id=str(person.pk), action="create", content_type__model="person")
    assert AuditEvent.objects.visible_to(township_auditor).filter(pk=created.pk).exists()
    assert not AuditEvent.objects.visible_to(city["other_township"]).filter(pk=created.pk).exists()
