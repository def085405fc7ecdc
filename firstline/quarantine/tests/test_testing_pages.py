"""Testing pages: the sampling list (filters, due today, overdue, export, paging, query count), scoping (a site sees
its site, a grid its home placements), a sampling's page where it is recorded and its result entered, the person
page's tests."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from firstline.quarantine.models import Sampling, SamplingStatus
from firstline.quarantine.testing import services
from firstline.quarantine.tests.factories import days, today
from firstline.quarantine.tests.test_testing_services import first, neighbour, place, taken
from firstline.tracing.models import Case

pytestmark = pytest.mark.django_db


def listed(response: Any) -> set[int]:
    return {s.pk for s in response.context["page_obj"]}


@pytest.fixture
def english(client: Any) -> None:
    client.cookies["django_language"] = "en"


def test_the_list_shows_a_site_its_own_samplings_only(client: Any, city: Any, sites: Any, login: Any) -> None:
    main = place(city.person_a, room=sites.rooms["101"])
    other = place(city.person_c, room=sites.other_room)
    login("site")
    response = client.get(reverse("quarantine:sampling_list"))
    assert response.status_code == 200
    assert listed(response) == set(Sampling.objects.filter(placement=main).values_list("pk", flat=True))
    login("site_other")
    assert listed(client.get(reverse("quarantine:sampling_list"))) == set(
        Sampling.objects.filter(placement=other).values_list("pk", flat=True)
    )
    assert client.get(reverse("quarantine:sampling_detail", args=[first(main).pk])).status_code == 404


def test_a_grid_sees_its_home_placements_not_another_grids(client: Any, city: Any, login: Any) -> None:
    mine = place(city.person_a)
    theirs = place(city.person_b)
    login("grid_a")
    response = client.get(reverse("quarantine:sampling_list"))
    assert listed(response) == set(Sampling.objects.filter(placement=mine).values_list("pk", flat=True))
    assert client.get(reverse("quarantine:sampling_detail", args=[first(theirs).pk])).status_code == 404
    assert client.post(reverse("quarantine:sampling_record", args=[first(theirs).pk]), {}).status_code == 404


def test_filters_due_today_and_overdue_views(client: Any, city: Any, sites: Any, login: Any) -> None:
    home = place(city.person_a, start=days(-2), test_days=(1, 3, 5))
    site = place(neighbour(city), room=sites.rooms["101"], test_days=(1,))
    taken(city, first(site), "nurse")
    login("township")
    url = reverse("quarantine:sampling_list")
    due = set(Sampling.objects.filter(placement=home, due_date=today()).values_list("pk", flat=True))
    assert listed(client.get(reverse("quarantine:samplings_due_today"))) == due
    overdue = set(Sampling.objects.filter(placement=home, due_date=days(-2)).values_list("pk", flat=True))
    assert listed(client.get(reverse("quarantine:samplings_overdue"))) == overdue
    assert listed(client.get(url, {"overdue": "on"})) == overdue
    assert listed(client.get(url, {"site": sites.main.pk})) == {first(site).pk}
    assert listed(client.get(url, {"grid": city.grid_a.code})) == set(
        Sampling.objects.filter(placement=home).values_list("pk", flat=True)
    )
    assert listed(client.get(url, {"day": days(2).isoformat()})) == set(
        Sampling.objects.filter(due_date=days(2)).values_list("pk", flat=True)
    )
    assert listed(client.get(url, {"status": "sampled"})) == {first(site).pk}
    assert listed(client.get(url, {"result": "pending"})) == {first(site).pk}
    assert listed(client.get(url, {"grid": "nonsense"})) == set(Sampling.objects.values_list("pk", flat=True))


def test_the_list_pages_and_exports_with_masked_ids_for_whoever_may_not_see_them(
    client: Any, city: Any, sites: Any, login: Any
) -> None:
    place(city.person_a)
    login("township")
    response = client.get(reverse("quarantine:sampling_list"), {"export": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    assert city.person_a.id_number not in body and city.person_a.id_number[-4:] in body
    login("grid_a")
    response = client.get(reverse("quarantine:sampling_list"), {"export": "xlsx"})
    assert response.status_code == 200
    login("site")
    assert client.get(reverse("quarantine:sampling_list"), {"export": "csv"}).status_code == 403


def test_the_list_takes_the_same_number_of_queries_for_many_rows(
    client: Any, city: Any, sites: Any, login: Any, django_assert_max_num_queries: Any
) -> None:
    for number in range(12):
        person = neighbour(city, name=f"人{number}")
        room = sites.rooms["201"] if number % 2 else None
        if room is not None:
            room.capacity = 20
            room.save()
        placement = place(person, room=room)
        if number % 3 == 0:
            taken(city, first(placement), "nurse" if room is not None else "grid_a")
    login("township")
    with django_assert_max_num_queries(9):
        response = client.get(reverse("quarantine:sampling_list"))
    assert response.status_code == 200 and len(response.context["page_obj"]) == 48


def test_nurse_records_a_sampling_and_the_manager_enters_a_positive_on_its_page(
    client: Any, city: Any, sites: Any, login: Any, english: None
) -> None:
    sampling = first(place(city.person_a, room=sites.rooms["101"]))
    login("nurse")
    page = client.get(reverse("quarantine:sampling_detail", args=[sampling.pk]))
    assert 'data-testid="record-form"' in page.content.decode()
    moment = (timezone.localtime() - datetime.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("quarantine:sampling_record", args=[sampling.pk]), {"sampled_at": moment, "tube_code": "N-5"}
    )
    assert response.status_code == 302
    login("site")
    response = client.post(
        reverse("quarantine:sampling_result", args=[sampling.pk]), {"result": "positive", "lab": "州疾控"}, follow=True
    )
    content = response.content.decode()
    assert 'data-testid="case-alert"' in content and "suspected case" in content
    assert Case.objects.get(person=city.person_a).pk == Sampling.objects.get(pk=sampling.pk).case_id


def test_a_reused_tube_is_shown_next_to_the_field(
    client: Any, city: Any, sites: Any, login: Any, english: None
) -> None:
    taken(city, first(place(city.person_a, room=sites.rooms["101"])), "nurse", tube="T-9")
    other = first(place(neighbour(city), room=sites.rooms["102"]))
    login("nurse")
    moment = (timezone.localtime() - datetime.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("quarantine:sampling_record", args=[other.pk]), {"sampled_at": moment, "tube_code": "T-9"}
    )
    assert response.status_code == 400
    assert 'data-error-for="tube_code"' in response.content.decode() and "already used" in response.content.decode()


def test_grid_workers_see_but_do_not_record_their_residents_site_samplings(
    client: Any, city: Any, sites: Any, login: Any
) -> None:
    sampling = first(place(city.person_a, room=sites.rooms["101"]))
    login("grid_a")
    page = client.get(reverse("quarantine:sampling_detail", args=[sampling.pk]))
    assert page.status_code == 200 and 'data-testid="record-form"' not in page.content.decode()
    moment = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    assert (
        client.post(reverse("quarantine:sampling_record", args=[sampling.pk]), {"sampled_at": moment}).status_code
        == 403
    )
    assert (
        client.post(reverse("quarantine:sampling_result", args=[sampling.pk]), {"result": "negative"}).status_code
        == 403
    )


def test_an_unscheduled_sampling_from_the_person_page(client: Any, city: Any, login: Any, english: None) -> None:
    login("grid_a")
    person_page = client.get(reverse("people:detail", args=[city.person_a.pk])).content.decode()
    if 'data-testid="person-samplings"' in person_page:  # once the panel is wired in (quarantine.wiring)
        assert reverse("quarantine:sampling_add") in person_page
    form = client.get(reverse("quarantine:sampling_add"), {"person": city.person_a.pk})
    assert form.status_code == 200
    moment = (timezone.localtime() - datetime.timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("quarantine:sampling_add"), {"person": city.person_a.pk, "sampled_at": moment})
    assert response.status_code == 302
    added = Sampling.objects.get(person=city.person_a)
    assert added.status == SamplingStatus.SAMPLED and added.due_date is None
    assert client.get(reverse("quarantine:sampling_add"), {"person": city.person_b.pk}).status_code == 404


def test_the_person_panel_lists_the_tests_and_the_case(client: Any, city: Any, sites: Any, login: Any, rf: Any) -> None:
    from firstline.core.panels import render_panels
    from firstline.quarantine.testing import panels

    panels.register()
    sampling = taken(city, first(place(city.person_a, room=sites.rooms["101"])), "nurse")
    services.result_enter(actor=city["site"], sampling=sampling, result="positive")
    request = rf.get("/")
    request.user = city["township"]
    rendered = dict((panel.key, html) for panel, html in render_panels(request, city.person_a))
    assert (
        f'data-sampling="{sampling.pk}"' in rendered["testing"] and 'data-testid="sampling-case"' in rendered["testing"]
    )


def test_results_import_page_lists_lab_imports_with_filter_and_export(client: Any, city: Any, login: Any) -> None:
    from firstline.screening.models import ImportJob

    ImportJob.objects.create(kind="lab_results", original_name="lab-1.csv", uploaded_by=city["cdc"], path="632701")
    ImportJob.objects.create(kind="arrivals", original_name="arrivals.csv", uploaded_by=city["cdc"], path="632701")
    login("cdc")
    page = client.get(reverse("quarantine:results_import")).content.decode()
    assert "lab-1.csv" in page and "arrivals.csv" not in page
    assert "lab-1.csv" not in client.get(reverse("quarantine:results_import"), {"status": "done"}).content.decode()
    export = client.get(reverse("quarantine:results_import"), {"export": "csv"})
    assert export.status_code == 200 and "lab-1.csv" in b"".join(export.streaming_content).decode()
