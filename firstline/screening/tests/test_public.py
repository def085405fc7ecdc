"""Public self-registration at /r/<token>/: no login, rate-limited, pending until a grid worker verifies."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import valid_id
from firstline.riskareas.models import RiskArea, RiskAreaPeriod
from firstline.screening.models import Arrival, ArrivalSource, ArrivalStatus, RegistrationPoint

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
NEW_ID = valid_id("63270119920202001")


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings: Any) -> Any:
    settings.PUBLIC_RATE_LIMIT = "5/m"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def point(city: Any) -> RegistrationPoint:
    return RegistrationPoint.objects.create(
        kind="community",
        name="测试甲社区登记点",
        division=city.community_a,
        path=city.community_a.code,
        token="Qr7-abc_1",
    )


def today() -> datetime.date:
    return timezone.localdate()


def post_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id_type": "resident",
        "id_number": NEW_ID,
        "name": "旦增",
        "phone": "13812345678",
        "arrival_date": (today() - DAY).isoformat(),
        "origin": "西宁市城东区",
        "travel-TOTAL_FORMS": "1",
        "travel-INITIAL_FORMS": "0",
        "travel-MIN_NUM_FORMS": "0",
        "travel-MAX_NUM_FORMS": "20",
        "travel-0-place": "",
        "travel-0-date_from": "",
        "travel-0-date_to": "",
        "transport": "",
        "transport_no": "",
        "health_code": "green",
        "vaccine_doses": "",
        "last_negative_test_at": "",
        "destination_address": "结古街道甲社区3号",
        "consent": "on",
        "website": "",
    }
    data.update(overrides)
    return data


def url(point: RegistrationPoint) -> str:
    return reverse("public:register", args=[point.token])


def test_the_public_page_opens_without_login_in_chinese_by_default(client, point):
    response = client.get(url(point))
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    body = response.content.decode()
    assert point.name in body and "csrfmiddlewaretoken" in body
    assert 'name="household"' not in body and 'name="website"' in body


def test_posting_creates_a_pending_arrival_and_thanks_the_person(client, city, point):
    response = client.post(url(point), post_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("public:thanks", args=[point.token])
    arrival = Arrival.objects.get()
    assert (arrival.status, arrival.source, arrival.registration_point, arrival.path, arrival.household) == (
        ArrivalStatus.PENDING,
        ArrivalSource.SELF_REGISTRATION,
        point,
        city.community_a.code,
        None,
    )
    assert arrival.registered_by is None and arrival.destination_address == "结古街道甲社区3号"
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200 and thanks.context["measure"] is False


def test_a_person_who_needs_a_measure_is_told_to_stay_but_not_why(client, city, point):
    since = today() - 20 * DAY
    area = RiskArea.objects.create(
        place="陕西省西安市雁塔区", division_code="610113", level="high", effective_from=since, first_listed_on=since
    )
    RiskAreaPeriod.objects.create(area=area, level="high", valid_from=since, division_code="610113")
    data = post_data(
        **{
            "travel-0-place": "陕西省西安市雁塔区",
            "travel-0-date_from": (today() - 5 * DAY).isoformat(),
            "travel-0-date_to": (today() - 3 * DAY).isoformat(),
        }
    )
    thanks = client.post(url(point), data, follow=True)
    assert thanks.context["measure"] is True
    body = thanks.content.decode()
    assert 'data-testid="next-step"' in body
    assert "第九版防控方案" not in body and "centralised" not in body and "陕西省西安市雁塔区" not in body


def test_thanks_without_a_registration_goes_back_to_the_form(client, point):
    response = client.get(reverse("public:thanks", args=[point.token]))
    assert response.status_code == 302 and response["Location"] == url(point)


def test_the_public_pages_never_show_other_peoples_data(client, city, point):
    # Someone types the ID of a person already registered: nothing about that person comes back.
    data = post_data(id_number=city.person_a.id_number, name="冒名")
    thanks = client.post(url(point), data, follow=True)
    body = thanks.content.decode()
    assert thanks.status_code == 200
    assert "扎西多杰" not in body and city.household_a.address not in body and "13800001111" not in body


def test_unknown_and_inactive_codes_are_404(client, point):
    assert client.get(reverse("public:register", args=["no-such-code"])).status_code == 404
    RegistrationPoint.objects.filter(pk=point.pk).update(active=False)
    assert client.get(url(point)).status_code == 404
    assert client.post(url(point), post_data()).status_code == 404
    assert not Arrival.objects.exists()


def test_submissions_beyond_the_rate_limit_get_429(client, settings, point):
    settings.PUBLIC_RATE_LIMIT = "2/m"
    for n in range(2):
        ok = client.post(url(point), post_data(id_number=valid_id(f"6327011990010100{n}"), name=f"人{n}"))
        assert ok.status_code == 302
    refused = client.post(url(point), post_data(id_number=valid_id("63270119900101009")))
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert 'data-testid="too-many"' in refused.content.decode()
    assert Arrival.objects.count() == 2


def test_guessing_codes_is_rate_limited_too(client, settings, point):
    settings.PUBLIC_RATE_LIMIT = "2/m"
    assert [client.get(reverse("public:register", args=[f"guess{n}"])).status_code for n in range(3)] == [404, 404, 429]


def test_the_honeypot_field_drops_bot_submissions_quietly(client, point):
    response = client.post(url(point), post_data(website="http://spam.example"))
    assert response.status_code == 302 and response["Location"] == reverse("public:thanks", args=[point.token])
    assert not Arrival.objects.exists()


def test_errors_are_shown_next_to_their_fields(client, point):
    wrong_id = NEW_ID[:-1] + ("0" if NEW_ID[-1] != "0" else "1")
    response = client.post(url(point), post_data(id_number=wrong_id, destination_address="", consent=""))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-error-for="destination_address"' in body and 'data-error-for="consent"' in body
    response = client.post(url(point), post_data(id_number=wrong_id))
    assert 'data-error-for="id_number"' in response.content.decode()
    assert not Arrival.objects.exists()


def test_csrf_is_enforced(point):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(url(point), post_data()).status_code == 403
    assert not Arrival.objects.exists()
