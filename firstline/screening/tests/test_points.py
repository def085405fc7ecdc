"""Registration points: creation with a random public code, the A4 QR poster, downloads, switching off."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from firstline.core.models import AuditEvent
from firstline.regions.models import Division
from firstline.screening.models import RegistrationPoint
from firstline.screening.points import point_create

pytestmark = pytest.mark.django_db


def make_point(city: Any, **overrides: Any) -> RegistrationPoint:
    values: dict[str, Any] = {
        "kind": "community",
        "name": "测试甲社区登记点",
        "division": city.community_a,
        "path": city.community_a.code,
        "token": "tok-A_1",
    }
    values.update(overrides)
    return RegistrationPoint.objects.create(**values)


def test_township_creates_a_point_with_a_random_url_safe_code(client, login, city):
    login("township")
    response = client.post(
        reverse("screening:point_create"), {"kind": "checkpoint", "name": "214国道卡点", "division": "632701001"}
    )
    point = RegistrationPoint.objects.get()
    assert response["Location"] == reverse("screening:point_poster", args=[point.pk])
    assert (point.kind, point.path, point.created_by, point.active) == (
        "checkpoint",
        "632701001",
        city["township"],
        True,
    )
    assert len(point.token) == 16 and all(c.isalnum() or c in "-_" for c in point.token)
    assert AuditEvent.objects.filter(action="create", object_id=str(point.pk)).exists()


def test_two_points_never_share_a_code(city):
    first = point_create(actor=city["township"], kind="community", name="一", division=city.community_a)
    second = point_create(actor=city["township"], kind="community", name="二", division=city.community_a)
    assert first.token != second.token


def test_a_point_outside_the_jurisdiction_is_refused(city):
    with pytest.raises(ValidationError) as excinfo:
        point_create(
            actor=city["township"], kind="community", name="越权", division=Division.objects.get(code="632701101")
        )
    assert "division" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        point_create(actor=city["township"], kind="bus", name="", division=city.community_a)
    assert set(excinfo.value.message_dict) == {"kind", "name"}


def test_the_point_form_offers_only_divisions_in_scope(client, login, city):
    login("township")
    response = client.post(
        reverse("screening:point_create"), {"kind": "community", "name": "越权", "division": "632701101"}
    )
    assert response.status_code == 200 and 'data-error-for="division"' in response.content.decode()
    assert not RegistrationPoint.objects.exists()


def test_point_pages_need_the_point_permission(client, login, city):
    point = make_point(city)
    login("grid_a")
    assert client.get(reverse("screening:point_list")).status_code == 403
    assert client.get(reverse("screening:point_create")).status_code == 403
    assert client.get(reverse("screening:point_poster", args=[point.pk])).status_code == 403
    with pytest.raises(PermissionDenied):
        point_create(actor=city["grid_a"], kind="community", name="网格", division=city.community_a)


def test_poster_shows_the_qr_code_and_the_absolute_address(client, login, city):
    point = make_point(city)
    login("village_a")
    response = client.get(reverse("screening:point_poster", args=[point.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in body and 'class="fl-qr"' in body
    assert "http://testserver/r/tok-A_1/" in body and point.name in body
    assert "css/poster.css" in body and "<script>" not in body


def test_qr_downloads_as_svg_and_png(client, login, city):
    point = make_point(city)
    login("village_a")
    svg = client.get(reverse("screening:point_qr", args=[point.pk, "svg"]))
    assert svg["Content-Type"] == "image/svg+xml" and svg.content.lstrip().startswith(b"<?xml")
    assert 'filename="registration-point' in svg["Content-Disposition"]
    png = client.get(reverse("screening:point_qr", args=[point.pk, "png"]))
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert client.get(reverse("screening:point_qr", args=[point.pk, "gif"])).status_code == 404


def test_another_townships_point_is_404(client, login, city):
    point = make_point(city)
    login("other_township")
    assert client.get(reverse("screening:point_poster", args=[point.pk])).status_code == 404
    assert client.get(reverse("screening:point_qr", args=[point.pk, "svg"])).status_code == 404
    assert client.post(reverse("screening:point_active", args=[point.pk]), {"active": "0"}).status_code == 404
    assert RegistrationPoint.objects.get(pk=point.pk).active


def test_switching_a_point_off_makes_its_code_lead_nowhere(client, login, city):
    point = make_point(city)
    assert client.get(reverse("public:register", args=[point.token])).status_code == 200
    login("township")
    client.post(reverse("screening:point_active", args=[point.pk]), {"active": "0"})
    assert not RegistrationPoint.objects.get(pk=point.pk).active
    client.logout()
    assert client.get(reverse("public:register", args=[point.token])).status_code == 404


def test_point_list_filters_exports_and_counts_queries(client, login, city, django_assert_max_num_queries):
    for n in range(25):
        make_point(city, name=f"登记点{n}", token=f"tok-{n}", kind="checkpoint" if n % 5 == 0 else "community")
    make_point(city, name="其他乡", division=city.village_c, path=city.village_c.code, token="tok-c")
    login("township")
    with django_assert_max_num_queries(10):
        response = client.get(reverse("screening:point_list"))
    assert response.context["page_obj"].paginator.count == 25
    assert client.get(reverse("screening:point_list"), {"kind": "checkpoint"}).context["page_obj"].paginator.count == 5
    export = client.get(reverse("screening:point_list"), {"export": "csv"})
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    assert "http://testserver/r/tok-0/" in text and "其他乡" not in text
