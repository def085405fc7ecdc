"""The signed self-report link of a home placement: valid, tampered, expired after release, rate-limited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from firstline.quarantine.models import CheckSource, HealthCheck, PlacementStatus
from firstline.quarantine.monitoring import selfreport
from firstline.quarantine.tests.monitoring_support import (  # noqa: F401 - fixtures
    _english,
    _monitoring_registered,
    _monitoring_settings,
    home,
    site,
)


@pytest.fixture
def english(client):
    client.cookies["django_language"] = "en"
    return client


def test_the_link_shows_the_given_name_only_and_todays_slots(city, english):
    placement = home(city.person_a)  # 扎西多杰
    page = english.get(selfreport.path_for(placement))
    assert page.status_code == 200
    content = page.content.decode()
    assert "**多杰" in content
    assert "扎西多杰" not in content
    assert city.person_a.phone not in content
    assert "08:00" in content and "15:00" in content


def test_a_self_report_records_the_current_slot_as_self(city, english):
    placement = home(city.person_a)
    answer = english.post(selfreport.path_for(placement), {"temperature": "36.6", "symptoms": ["cough"]})
    assert answer.status_code == 200
    assert 'data-testid="self-report-done"' in answer.content.decode()
    check = HealthCheck.objects.get(placement=placement)
    assert check.source == CheckSource.SELF and check.recorded_by is None and check.alert
    # Reporting again in the same slot updates the row.
    english.post(selfreport.path_for(placement), {"temperature": "36.4"})
    assert HealthCheck.objects.filter(placement=placement).count() == 1


def test_a_wrong_unit_is_explained_on_the_page(city, english):
    placement = home(city.person_a)
    answer = english.post(selfreport.path_for(placement), {"temperature": "99.5"})
    assert answer.status_code == 400
    assert "°F" in answer.content.decode()
    assert not HealthCheck.objects.exists()


def test_a_tampered_token_gets_the_friendly_page(city, english):
    placement = home(city.person_a)
    token = selfreport.token_for(placement)
    pk, signature = token.split(":", 1)
    forged = selfreport.token_for(home(city.person_b)).split(":", 1)[0] + ":" + signature
    for bad in (forged, token[:-2], "nonsense"):
        answer = english.get(reverse("health_public:report", args=[bad]))
        assert answer.status_code == 404
        assert 'data-testid="self-report-invalid"' in answer.content.decode()
    assert pk


def test_the_link_expires_when_the_placement_ends(city, english):
    placement = home(city.person_a)
    path = selfreport.path_for(placement)
    placement.status = PlacementStatus.RELEASED
    placement.save()
    assert english.get(path).status_code == 404
    assert english.post(path, {"temperature": "36.5"}).status_code == 404
    assert not HealthCheck.objects.exists()


def test_a_site_placement_has_no_self_report_link(city, sites, english):
    placement = site(city.person_a, sites.rooms["101"])
    assert english.get(selfreport.path_for(placement)).status_code == 404


def test_reports_are_rate_limited_per_address(city, english, settings):
    settings.PUBLIC_RATE_LIMIT = "2/h"
    placement = home(city.person_a)
    path = selfreport.path_for(placement)
    for _ in range(2):
        assert english.post(path, {"temperature": "36.5"}).status_code == 200
    answer = english.post(path, {"temperature": "36.5"})
    assert answer.status_code == 429 and answer["Retry-After"]


def test_a_bot_filling_the_hidden_field_records_nothing(city, english):
    placement = home(city.person_a)
    answer = english.post(selfreport.path_for(placement), {"temperature": "36.5", "website": "http://spam"})
    assert answer.status_code == 200
    assert not HealthCheck.objects.exists()


def test_the_grid_worker_can_show_print_and_copy_the_link_with_a_qr_code(city, login, english, sites):
    placement = home(city.person_a)
    login("grid_a")
    page = english.get(reverse("quarantine:self_report_link", args=[placement.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert selfreport.path_for(placement) in content
    assert "<svg" in content and "data-copy" in content and "data-print" in content
    login("grid_b")
    assert english.get(reverse("quarantine:self_report_link", args=[placement.pk])).status_code == 404
    at_site = site(city.person_b, sites.rooms["101"])
    login("site")
    assert english.get(reverse("quarantine:self_report_link", args=[at_site.pk])).status_code == 404


@pytest.mark.parametrize(
    ("name", "shown"), [("扎西多杰", "**多杰"), ("王芳", "*芳"), ("尼玛", "*玛"), ("Anna Smith", "Anna"), ("李", "李")]
)
def test_the_public_page_shows_only_the_given_part_of_a_name(name, shown):
    assert selfreport.given_name(name) == shown
