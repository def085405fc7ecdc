"""Dashboard (every number links to its list), home-page block, person-page panel, health-check and lost lists."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from firstline.quarantine.models import Placement
from firstline.quarantine.monitoring.services import health_check_record
from firstline.quarantine.tests.factories import at, days
from firstline.quarantine.tests.monitoring_support import (  # noqa: F401 - fixtures
    _english,
    _monitoring_registered,
    _monitoring_settings,
    home,
    resident,
    site,
)


@pytest.fixture
def english(client):
    client.cookies["django_language"] = "en"
    return client


def _figure(content: str, key: str) -> tuple[str, str]:
    """(href, number) of the figure ``key`` on the dashboard."""
    found = re.search(rf'<a href="([^"]+)" data-figure="{key}">(\d+)</a>', content)
    assert found, f"figure {key} is not a link"
    return found.group(1).replace("&amp;", "&"), found.group(2)


def test_the_dashboard_counts_link_to_their_lists(city, sites, login, english):
    today = timezone.localdate()
    ill = home(city.person_a, start=days(-3))
    health_check_record(actor=city["grid_a"], placement=ill, at=timezone.now(), temperature="38.3", symptoms=[])
    site(city.person_b, sites.rooms["101"], start=days(-6), duration=7)  # due for release today
    lost = home(city.person_c, start=days(-3))
    Placement.objects.filter(pk=lost.pk).update(lost_since=timezone.now())
    login("city")
    page = english.get(reverse("quarantine:dashboard"))
    assert page.status_code == 200
    content = page.content.decode()
    href, number = _figure(content, "alerts")
    assert number == "1" and href.startswith(reverse("quarantine:check_list")) and "alert=1" in href
    href, number = _figure(content, "lost")
    assert number == "1" and href.startswith(reverse("quarantine:lost_list"))
    href, number = _figure(content, "releases_due")
    assert number == "1" and href.startswith(reverse("quarantine:placement_list")) and f"due={today}" in href
    href, number = _figure(content, "samplings_overdue")
    assert href.startswith(reverse("quarantine:sampling_list")) and "overdue=1" in href
    href, number = _figure(content, "samplings_due")
    assert href.startswith(reverse("quarantine:sampling_list")) and f"day={today}" in href
    href, number = _figure(content, "site_people")
    assert number == "1" and f"facility={sites.main.pk}" in href
    # Measures × township: 结古街道 has one home quarantine (person A) and one centralised (person B).
    row = re.search(r'<tr data-township="632701001">(.*?)</tr>', content, re.S)
    assert row
    numbers = re.findall(r'data-figure="measure">(\d+)<', row.group(1))
    assert numbers == ["1", "1", "0"]
    assert "grid=632701001" in row.group(1) and "measure=home_quarantine" in row.group(1).replace("&amp;", "&")


def test_the_dashboard_is_scoped(city, login, english):
    home(city.person_a)
    home(city.person_c)
    login("other_township")
    content = english.get(reverse("quarantine:dashboard")).content.decode()
    assert 'data-township="632701101"' in content
    assert 'data-township="632701001"' not in content
    login("outsider")
    assert english.get(reverse("quarantine:dashboard")).status_code == 403


def test_the_dashboard_query_count_does_not_grow_with_people(
    city, sites, login, english, django_assert_max_num_queries
):
    for n in range(6):
        home(resident(city, "a", n))
    site(city.person_b, sites.rooms["201"])
    login("city")
    with django_assert_max_num_queries(20):
        assert english.get(reverse("quarantine:dashboard")).status_code == 200


def test_the_home_page_shows_my_people_today_to_a_grid_worker(city, login, english):
    home(city.person_a)
    login("grid_a")
    content = english.get(reverse("home")).content.decode()
    assert 'data-testid="home-quarantine"' in content
    assert reverse("quarantine:today") in content
    login("city")
    content = english.get(reverse("home")).content.decode()
    assert 'data-testid="home-quarantine"' in content and reverse("quarantine:dashboard") in content
    login("outsider")
    assert 'data-testid="home-quarantine"' not in english.get(reverse("home")).content.decode()


def test_the_person_page_panel_shows_the_last_checks_lost_and_the_self_report_link(city, login, english):
    placement = home(city.person_a, start=days(-2))
    check = health_check_record(
        actor=city["grid_a"], placement=placement, at=at(days(-1), 9), temperature="36.9", symptoms=[]
    )
    Placement.objects.filter(pk=placement.pk).update(lost_since=timezone.now())
    login("grid_a")
    content = english.get(reverse("people:detail", args=[city.person_a.pk])).content.decode()
    assert 'data-testid="person-monitoring"' in content
    assert f'data-check="{check.pk}"' in content and "36.9" in content
    assert "lost to follow-up" in content
    assert 'data-testid="panel-self-report"' in content
    # The grid of another person sees no panel content for someone outside their grid (404 on the page).
    login("grid_b")
    assert english.get(reverse("people:detail", args=[city.person_a.pk])).status_code == 404


def test_the_check_list_is_scoped_filtered_and_exported(city, login, english):
    mine = home(city.person_a)
    theirs = home(city.person_b)
    health_check_record(
        actor=city["grid_a"], placement=mine, at=at(days(-1), 9), temperature="38.0", symptoms=["cough"]
    )
    health_check_record(actor=city["grid_b"], placement=theirs, at=at(days(-1), 9), temperature="36.5", symptoms=[])
    login("grid_a")
    content = english.get(reverse("quarantine:check_list")).content.decode()
    assert city.person_a.name in content and city.person_b.name not in content
    assert "cough" in content
    login("township")
    content = english.get(reverse("quarantine:check_list"), {"alert": "1"}).content.decode()
    assert city.person_a.name in content and city.person_b.name not in content
    export = english.get(reverse("quarantine:check_list"), {"export": "csv"})
    assert city.person_b.name in b"".join(export.streaming_content).decode("utf-8-sig")


def test_the_lost_list_shows_the_lost_people_the_user_may_see(city, login, english):
    lost = home(city.person_a)
    home(city.person_b)
    Placement.objects.filter(pk=lost.pk).update(lost_since=timezone.now())
    login("grid_a")
    content = english.get(reverse("quarantine:lost_list")).content.decode()
    assert f'data-placement="{lost.pk}"' in content
    login("grid_b")
    assert f'data-placement="{lost.pk}"' not in english.get(reverse("quarantine:lost_list")).content.decode()
