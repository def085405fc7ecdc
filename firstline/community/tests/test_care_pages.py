"""Frontline care pages: filing, my requests, the queue with ages, a request with its timeline and steps, the
summary per township, the frontline registry; scoping with the named users; escaping; query counts."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from firstline.community.care import services
from firstline.community.models import CareRequest, FrontlineWorker
from firstline.community.tests.test_care_services import file_for_medic, handled, site_manager, worker_in_longbao
from firstline.core import identity
from firstline.core.models import AuditEvent


@pytest.fixture(autouse=True)
def _english(client: Any) -> None:
    client.cookies["django_language"] = "en"


def test_a_frontline_worker_files_for_themself_from_the_phone_form(client: Any, login: Any, community: Any) -> None:
    client.force_login(community.medic)
    page = client.get(reverse("community:care_file"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "myself" in html and "<script>" not in html and 'name="worker_key"' in html
    response = client.post(
        reverse("community:care_file"),
        {"worker": "", "worker_key": "", "category": "child_care", "urgency": "3", "description": "孩子放学无人接"},
    )
    care = CareRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("community:care_detail", args=[care.pk])
    assert care.worker == community.worker_site and not care.on_behalf and care.urgency == 3


def test_filing_form_shows_errors_by_field(client: Any, login: Any, community: Any) -> None:
    login("grid_a")
    response = client.post(
        reverse("community:care_file"), {"category": "meals", "urgency": "2", "description": "x", "worker_key": "nope"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["worker_key"]
    assert not CareRequest.objects.exists()


def test_a_colleague_files_for_a_worker_by_exact_account_and_it_is_recorded(
    client: Any, login: Any, city: Any, community: Any
) -> None:
    manager = site_manager(city)
    client.force_login(manager)
    response = client.post(
        reverse("community:care_file"),
        {"worker_key": "medic", "category": "family_care", "urgency": "2", "description": "父母年迈需要照顾"},
    )
    care = CareRequest.objects.get()
    assert response.status_code == 302 and care.on_behalf and care.filed_by == manager
    detail = client.get(reverse("community:care_detail", args=[care.pk])).content.decode()
    assert 'data-testid="on-behalf"' in detail
    # The manager cannot see the worker's home: no household, no ID number on the page
    assert 'data-testid="household"' not in detail and city.household_a.address not in detail
    number = community.worker_site.person.id_number
    assert number not in detail and identity.mask_id_number(number) not in detail


def test_lookup_shows_only_the_name_and_post_of_an_exact_match(client: Any, city: Any, community: Any) -> None:
    manager = site_manager(city)
    client.force_login(manager)
    person = community.worker_site.person
    response = client.get(reverse("community:care_worker_lookup"), {"worker_key": person.id_number})
    html = response.content.decode()
    assert response.status_code == 200 and person.name in html and "Quarantine-site staff".lower() in html.lower()
    assert person.phone not in html and city.household_a.address not in html and "632701001001" not in html
    assert AuditEvent.objects.filter(action="other", note__contains="looked up").exists()
    # A partial ID is not a match
    partial = client.get(reverse("community:care_worker_lookup"), {"worker_key": person.id_number[:-2]})
    assert person.name not in partial.content.decode() and 'data-testid="lookup-none"' in partial.content.decode()


def test_lookups_are_rate_limited(client: Any, city: Any, community: Any, settings: Any) -> None:
    settings.PUBLIC_RATE_LIMIT = "2/h"
    client.force_login(site_manager(city))
    url = reverse("community:care_worker_lookup")
    assert client.get(url, {"worker_key": "a"}).status_code == 200
    assert client.get(url, {"worker_key": "b"}).status_code == 200
    limited = client.get(url, {"worker_key": "medic"})
    assert limited.status_code == 429 and "Too many" in limited.content.decode()


def test_my_requests_lists_what_i_filed_and_what_is_about_me(
    client: Any, login: Any, city: Any, community: Any
) -> None:
    mine = file_for_medic(community)
    for_me = services.care_request_file(
        actor=city["township"], worker=community.worker_site, category="meals", urgency=2, description="送饭"
    )
    other = services.care_request_file(
        actor=city["city"], worker=worker_in_longbao(city), category="meals", urgency=2, description="x"
    )
    client.force_login(community.medic)
    response = client.get(reverse("community:care_mine"))
    shown = [row["care"].pk for row in response.context["page_obj"]]
    assert sorted(shown) == sorted([mine.pk, for_me.pk]) and other.pk not in shown


def test_requester_sees_their_request_though_site_staff_have_no_division_scope(client: Any, community: Any) -> None:
    care = file_for_medic(community)
    client.force_login(community.medic)
    response = client.get(reverse("community:care_detail", args=[care.pk]))
    assert response.status_code == 200
    # The worker themself sees their household
    assert 'data-testid="household"' in response.content.decode()


def test_other_township_gets_404_on_a_request_of_jiegu(client: Any, login: Any, community: Any) -> None:
    care = file_for_medic(community)
    login("other_township")
    assert client.get(reverse("community:care_detail", args=[care.pk])).status_code == 404
    post = client.post(
        reverse("community:care_step", args=[care.pk, "handle"]), {"version": care.version, "action_taken": "x"}
    )
    assert post.status_code == 404


def test_pages_need_the_permission(client: Any, login: Any, community: Any) -> None:
    care = file_for_medic(community)
    login("outsider")
    assert client.get(reverse("community:care_detail", args=[care.pk])).status_code == 403
    assert client.get(reverse("community:care_mine")).status_code == 403
    login("grid_a")
    assert client.get(reverse("community:care_queue")).status_code == 403
    assert client.get(reverse("community:frontline_list")).status_code == 403


def test_html_in_text_is_shown_escaped(client: Any, login: Any, city: Any, community: Any) -> None:
    care = file_for_medic(community, description='<script>alert("x")</script><b>bold</b>')
    services.care_request_handle(
        actor=city["township"], care=care, expected_version=care.version, action_taken="<img src=x onerror=alert(1)>"
    )
    login("township")
    html = client.get(reverse("community:care_detail", args=[care.pk])).content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<img src=x" not in html and "&lt;img src=x" in html and "<b>bold</b>" not in html
    queue = client.get(reverse("community:care_queue"), {"status": "all"}).content.decode()
    assert "<script>alert" not in queue


def test_township_assigns_handles_and_the_requester_confirms_on_the_pages(
    client: Any, login: Any, city: Any, community: Any
) -> None:
    care = file_for_medic(community)
    login("township")
    page = client.get(reverse("community:care_detail", args=[care.pk]))
    assert set(page.context["forms"]) == {"assign", "handle", "cancel"}
    assert city["village_a"] in page.context["forms"]["assign"].fields["handler"].queryset
    assert city["other_township"] not in page.context["forms"]["assign"].fields["handler"].queryset
    response = client.post(
        reverse("community:care_step", args=[care.pk, "assign"]),
        {"version": care.version, "handler": city["village_a"].pk, "note": "请尽快"},
    )
    assert response.status_code == 302
    care.refresh_from_db()
    login("village_a")
    response = client.post(
        reverse("community:care_step", args=[care.pk, "handle"]),
        {"version": care.version, "action_taken": "已安排志愿者送药"},
    )
    assert response.status_code == 302
    care.refresh_from_db()
    # The township closes for the requester only saying how they confirmed.
    login("township")
    denied = client.post(reverse("community:care_step", args=[care.pk, "confirm"]), {"version": care.version})
    assert denied.status_code == 400
    client.force_login(community.medic)
    page = client.get(reverse("community:care_detail", args=[care.pk]))
    assert set(page.context["forms"]) == {"confirm", "reopen", "cancel"}
    response = client.post(reverse("community:care_step", args=[care.pk, "confirm"]), {"version": care.version})
    assert response.status_code == 302
    care.refresh_from_db()
    assert care.status == "closed"
    timeline = client.get(reverse("community:care_detail", args=[care.pk])).content.decode()
    for kind in ("filed", "assigned", "handled", "confirmed"):
        assert f'data-event="{kind}"' in timeline


def test_reopen_without_a_reason_shows_the_error_on_the_page(client: Any, city: Any, community: Any) -> None:
    care = handled(file_for_medic(community), city)
    client.force_login(community.medic)
    response = client.post(
        reverse("community:care_step", args=[care.pk, "reopen"]), {"reopen-version": care.version, "reopen-reason": ""}
    )
    assert response.status_code == 400 and response.context["forms"]["reopen"].errors["reason"]
    response = client.post(
        reverse("community:care_step", args=[care.pk, "reopen"]),
        {"reopen-version": care.version, "reopen-reason": "没有收到"},
    )
    assert response.status_code == 302
    care.refresh_from_db()
    assert care.status == "assigned" and care.reopened == 1


def test_a_stale_step_says_so(client: Any, login: Any, city: Any, community: Any) -> None:
    care = file_for_medic(community)
    login("township")
    response = client.post(
        reverse("community:care_step", args=[care.pk, "handle"]), {"version": care.version + 5, "action_taken": "x"}
    )
    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("Someone else changed" in m for m in messages)


def test_queue_is_oldest_first_with_overdue_highlighted(client: Any, login: Any, city: Any, community: Any) -> None:
    first = file_for_medic(community)
    second = file_for_medic(community, urgency=4)
    CareRequest.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=3), due_at=timezone.now() - datetime.timedelta(days=1)
    )
    services.care_request_file(
        actor=city["city"], worker=worker_in_longbao(city), category="meals", urgency=2, description="x"
    )
    login("township")
    response = client.get(reverse("community:care_queue"))
    rows = list(response.context["page_obj"])
    assert [row["care"].pk for row in rows] == [first.pk, second.pk]
    assert rows[0]["overdue"] and not rows[1]["overdue"] and rows[0]["age_hours"] >= 72
    html = response.content.decode()
    assert f'data-care="{first.pk}" class="table-danger" data-overdue="1"' in html
    overdue = client.get(reverse("community:care_queue"), {"status": "overdue"})
    assert [row["care"].pk for row in overdue.context["page_obj"]] == [first.pk]
    urgent = client.get(reverse("community:care_queue"), {"urgency": "4"})
    assert [row["care"].pk for row in urgent.context["page_obj"]] == [second.pk]
    other = client.get(reverse("community:care_queue"), {"category": "transport"})
    assert list(other.context["page_obj"]) == []


def test_queue_filters_by_division_for_the_city(client: Any, login: Any, city: Any, community: Any) -> None:
    file_for_medic(community)
    longbao = services.care_request_file(
        actor=city["city"], worker=worker_in_longbao(city), category="meals", urgency=2, description="x"
    )
    login("city")
    response = client.get(reverse("community:care_queue"), {"division": "632701101"})
    assert [row["care"].pk for row in response.context["page_obj"]] == [longbao.pk]


def test_queue_export_is_audited(client: Any, login: Any, community: Any) -> None:
    file_for_medic(community, description="送药")
    login("township")
    response = client.get(reverse("community:care_queue"), {"export": "csv"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response.status_code == 200 and "送药" in body and "卓玛措" in body
    assert AuditEvent.objects.filter(action="export", note__startswith="care-requests csv").exists()
    assert client.get(reverse("community:care_queue"), {"export": "pdf"}).status_code == 400


def test_queue_query_count_does_not_grow_with_requests(
    client: Any, login: Any, city: Any, community: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(3):
        file_for_medic(community)
    login("township")
    client.get(reverse("community:care_queue"))
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("community:care_queue"))
    baseline = len(few.captured_queries)
    for _ in range(12):
        care = file_for_medic(community)
        services.care_request_assign(
            actor=city["township"], care=care, handler=city["village_a"], expected_version=care.version
        )
    with django_assert_max_num_queries(baseline) as many:
        response = client.get(reverse("community:care_queue"))
    assert len(response.context["page_obj"]) == 15
    assert len(many.captured_queries) == baseline


def test_my_requests_query_count_does_not_grow(client: Any, community: Any, django_assert_max_num_queries: Any) -> None:
    file_for_medic(community)
    client.force_login(community.medic)
    client.get(reverse("community:care_mine"))
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("community:care_mine"))
    for _ in range(10):
        file_for_medic(community)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("community:care_mine"))


def test_summary_page_and_export(client: Any, login: Any, city: Any, community: Any) -> None:
    care = handled(file_for_medic(community), city)
    CareRequest.objects.filter(pk=care.pk).update(handled_at=care.created_at + datetime.timedelta(hours=5))
    file_for_medic(community)
    login("township")
    response = client.get(reverse("community:care_summary"))
    (row,) = response.context["rows"]
    assert row.division.code == "632701001" and row.open == 1 and row.handled == 1 and row.median_hours == 5.0
    assert 'data-testid="median">5.0 h' in response.content.decode()
    export = client.get(reverse("community:care_summary"), {"export": "csv"})
    assert "5.0" in b"".join(export.streaming_content).decode("utf-8-sig")
    bad = client.get(reverse("community:care_summary"), {"filed_from": "2026-02-01", "filed_to": "2026-01-01"})
    assert bad.context["form"].errors["filed_to"]


# -- registry -----------------------------------------------------------------------------------------------------


def test_registry_flags_a_person_by_id_number_and_links_the_account(
    client: Any, login: Any, city: Any, community: Any
) -> None:
    login("township")
    response = client.post(
        reverse("community:frontline_create"),
        {
            "id_number": city.person_a.id_number,
            "post_kind": "grid",
            "post": "网格A",
            "active": "on",
            "account": "grid_a",
        },
    )
    assert response.status_code == 302
    worker = FrontlineWorker.objects.get(person=city.person_a)
    assert worker.user == city["grid_a"] and worker.active and worker.path == city.person_a.path
    # A person outside the jurisdiction cannot be found by ID number
    response = client.post(
        reverse("community:frontline_create"), {"id_number": city.person_c.id_number, "post_kind": "grid"}
    )
    assert response.status_code == 200 and response.context["form"].errors["id_number"]
    # Unknown account
    response = client.post(
        reverse("community:frontline_create"),
        {"id_number": city.person_b.id_number, "post_kind": "grid", "account": "nobody"},
    )
    assert response.context["form"].errors["account"]


def test_registry_flags_the_person_of_the_link_and_edits(client: Any, login: Any, city: Any, community: Any) -> None:
    login("township")
    page = client.get(reverse("community:frontline_create"), {"person": city.person_b.pk})
    assert page.status_code == 200 and "id_number" not in page.context["form"].fields
    response = client.post(
        reverse("community:frontline_create") + f"?person={city.person_b.pk}",
        {"person": city.person_b.pk, "post_kind": "volunteer", "active": "on"},
    )
    assert response.status_code == 302
    worker = FrontlineWorker.objects.get(person=city.person_b)
    response = client.post(
        reverse("community:frontline_edit", args=[worker.pk]),
        {"post_kind": "checkpoint", "post": "卡点", "version": worker.version},
    )
    assert response.status_code == 302
    worker.refresh_from_db()
    assert worker.post_kind == "checkpoint" and worker.active is False
    login("other_township")
    assert client.get(reverse("community:frontline_create"), {"person": city.person_b.pk}).status_code == 404
    assert client.get(reverse("community:frontline_edit", args=[worker.pk])).status_code == 404


def test_registry_list_filters_pages_and_exports_with_masked_ids(
    client: Any, login: Any, city: Any, community: Any
) -> None:
    services.frontline_worker_create(actor=city["township"], person=city.person_b, post_kind="checkpoint")
    login("township")
    response = client.get(reverse("community:frontline_list"), {"post_kind": "checkpoint"})
    assert [w.person for w in response.context["page_obj"]] == [city.person_b]
    html = client.get(reverse("community:frontline_list")).content.decode()
    assert community.worker_site.person.id_number not in html  # the township sees ID numbers masked
    export = client.get(reverse("community:frontline_list"), {"export": "xlsx"})
    assert export.status_code == 200
    import python_calamine

    rows = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(b"".join(export.streaming_content)))
    table = rows.get_sheet_by_index(0).to_python()
    assert len(table) == 3 and community.worker_site.person.id_number not in str(table)
    search = client.get(reverse("community:frontline_list"), {"q": "卓玛措"})
    assert [w.pk for w in search.context["page_obj"]] == [community.worker_site.pk]


def test_person_page_shows_the_frontline_section(client: Any, login: Any, city: Any, community: Any) -> None:
    from firstline.community.care import panels

    panels.register()
    file_for_medic(community)
    login("township")
    html = client.get(reverse("people:detail", args=[community.worker_site.person.pk])).content.decode()
    assert 'data-testid="frontline-flag"' in html and 'data-testid="person-care"' in html
    html = client.get(reverse("people:detail", args=[city.person_b.pk])).content.decode()
    assert 'data-testid="flag-frontline"' in html


def test_home_page_asks_the_requester_to_confirm_and_shows_handlers_the_queue(
    client: Any, login: Any, city: Any, community: Any
) -> None:
    from firstline.community.care import panels

    panels.register()
    handled(file_for_medic(community), city)
    overdue = file_for_medic(community)
    CareRequest.objects.filter(pk=overdue.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    client.force_login(community.medic)
    html = client.get(reverse("home")).content.decode()
    assert 'data-testid="home-care"' in html and "1 request waits for your confirmation" in html
    login("township")
    html = client.get(reverse("home")).content.decode()
    assert "1 open in the queue" in html and "1 overdue" in html


def test_the_township_closes_on_the_requesters_word_from_the_page(
    client: Any, login: Any, city: Any, community: Any
) -> None:
    care = handled(file_for_medic(community), city)
    login("township")
    page = client.get(reverse("community:care_detail", args=[care.pk]))
    assert "close_for_requester" in page.context["forms"] and "confirm" not in page.context["forms"]
    assert 'data-testid="close-form"' in page.content.decode()
    response = client.post(
        reverse("community:care_step", args=[care.pk, "confirm"]), {"version": care.version, "note": "电话确认"}
    )
    assert response.status_code == 302
    care.refresh_from_db()
    assert care.status == "closed"
