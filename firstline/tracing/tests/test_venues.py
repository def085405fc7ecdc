"""The venue registry (场所码): creation and edits, pages, scoping, QR posters (SVG, PNG, PDF, print page)."""

from __future__ import annotations

import base64
import re
import zlib
from typing import Any

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from firstline.core.concurrency import StaleVersionError
from firstline.core.models import AuditEvent
from firstline.regions.models import Division
from firstline.tracing.models import CheckIn, Venue
from firstline.tracing.venues import poster, selectors, services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_caches() -> Any:
    selectors.venue_cache_forget()
    cache.clear()
    yield
    selectors.venue_cache_forget()
    cache.clear()


@pytest.fixture
def english(client: Any) -> None:
    client.cookies["django_language"] = "en"


def make_venue(city: Any, *, actor: str = "township", grid: Any = None, **values: Any) -> Venue:
    data: dict[str, Any] = {"name": "格萨尔广场超市", "category": "supermarket", "address": "结古镇民主路1号"}
    data.update(values)
    if grid is None and "division" not in data:
        grid = city.grid_a
    return services.venue_create(actor=city[actor], grid=grid, **data)


# -- services ----------------------------------------------------------------------------------------------------


def test_a_venue_gets_a_short_unambiguous_code_its_grids_path_and_an_audit_event(city):
    venue = make_venue(city, default_stay_minutes=45, contact_phone="0976-8822110")
    assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}", venue.code)
    assert (venue.path, venue.grid, venue.default_stay_minutes, venue.created_by) == (
        city.grid_a.path,
        city.grid_a,
        45,
        city["township"],
    )
    assert AuditEvent.objects.filter(action="create", object_id=str(venue.pk), path=city.grid_a.path).exists()


def test_two_venues_never_share_a_code(city):
    codes = {make_venue(city, name=f"店{n}").code for n in range(20)}
    assert len(codes) == 20


def test_a_venue_without_grid_takes_the_divisions_code(city):
    venue = make_venue(city, grid=None, division=city.community_b, category="bus", name="1路公交")
    assert (venue.path, venue.grid) == (city.community_b.code, None)


def test_venue_creation_checks_every_field_and_the_jurisdiction(city):
    with pytest.raises(ValidationError) as excinfo:
        make_venue(city, name=" ", category="spaceport", default_stay_minutes=0, contact_phone="call me")
    assert set(excinfo.value.message_dict) == {"name", "category", "default_stay_minutes", "contact_phone"}
    with pytest.raises(ValidationError) as excinfo:
        make_venue(city, grid=city.grid_c)
    assert "grid" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        make_venue(city, grid=None, division=Division.objects.get(code="632701101"))
    assert "division" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        make_venue(city, grid=city.grid_a, division=city.community_b)
    assert "grid" in excinfo.value.message_dict


def test_grid_workers_may_not_manage_venues(city):
    with pytest.raises(PermissionDenied):
        make_venue(city, actor="grid_a")


def test_venue_update_is_versioned_and_audited(city):
    venue = make_venue(city)
    updated = services.venue_update(
        actor=city["township"],
        venue=venue,
        expected_version=1,
        data={"name": "格萨尔广场超市(新)", "grid": city.grid_b},
    )
    assert (updated.version, updated.path, updated.code) == (2, city.grid_b.path, venue.code)
    event = AuditEvent.objects.filter(action="update", object_id=str(venue.pk)).get()
    assert event.changes["path"] == [city.grid_a.path, city.grid_b.path]
    with pytest.raises(StaleVersionError):
        services.venue_update(actor=city["township"], venue=updated, expected_version=1, data={"name": "旧版本"})
    with pytest.raises(ValidationError):
        services.venue_update(actor=city["township"], venue=updated, expected_version=2, data={"code": "AAAAAAAA"})


def test_switching_a_venue_off_takes_effect_in_this_process_at_once(city):
    venue = make_venue(city)
    assert selectors.venue_get_public(venue.code.lower()).pk == venue.pk  # cached now
    services.venue_set_active(actor=city["township"], venue=venue, active=False)
    with pytest.raises(Exception, match="unknown venue"):
        selectors.venue_get_public(venue.code)


# -- pages -------------------------------------------------------------------------------------------------------


def test_township_creates_a_venue_from_the_form(client, login, city):
    login("township")
    response = client.post(
        reverse("tracing:venue_create"),
        {"name": "玉树州人民医院", "category": "clinic", "grid": city.grid_a.code, "default_stay_minutes": "60"},
    )
    venue = Venue.objects.get()
    assert response["Location"] == reverse("tracing:venue_detail", args=[venue.pk])
    assert (venue.category, venue.path, venue.default_stay_minutes) == ("clinic", city.grid_a.path, 60)


def test_the_form_offers_only_grids_in_scope_and_needs_a_place(client, login, city, english):
    login("village_a")
    response = client.post(
        reverse("tracing:venue_create"),
        {"name": "越权", "category": "shop", "grid": city.grid_b.code, "default_stay_minutes": "30"},
    )
    assert response.status_code == 200 and 'data-error-for="grid"' in response.content.decode()
    response = client.post(
        reverse("tracing:venue_create"), {"name": "无处", "category": "shop", "default_stay_minutes": "30"}
    )
    assert "Choose the grid or the division" in response.content.decode()
    assert not Venue.objects.exists()


def test_editing_a_venue_keeps_its_code_and_refuses_a_stale_version(client, login, city, english):
    venue = make_venue(city)
    login("township")
    data = {
        "name": "新名字",
        "category": "market",
        "grid": city.grid_a.code,
        "default_stay_minutes": "20",
        "version": "1",
    }
    assert client.post(reverse("tracing:venue_edit", args=[venue.pk]), data).status_code == 302
    assert Venue.objects.get(pk=venue.pk).name == "新名字"
    stale = client.post(reverse("tracing:venue_edit", args=[venue.pk]), {**data, "name": "又一个"})
    assert stale.status_code == 200 and "Someone else changed this venue" in stale.content.decode()
    assert Venue.objects.get(pk=venue.pk).name == "新名字"


def test_grid_b_cannot_see_grid_as_venue(client, login, city):
    venue = make_venue(city)
    login("grid_b")
    assert client.get(reverse("tracing:venue_detail", args=[venue.pk])).status_code == 404
    assert client.get(reverse("tracing:venue_list")).context["page_obj"].paginator.count == 0
    login("grid_a")
    assert client.get(reverse("tracing:venue_detail", args=[venue.pk])).status_code == 200


def test_venue_management_pages_need_the_permission(client, login, city):
    venue = make_venue(city)
    login("grid_a")
    assert client.get(reverse("tracing:venue_create")).status_code == 403
    assert client.get(reverse("tracing:venue_edit", args=[venue.pk])).status_code == 403
    assert client.get(reverse("tracing:venue_poster", args=[venue.pk])).status_code == 403
    assert client.post(reverse("tracing:venue_active", args=[venue.pk]), {"active": "0"}).status_code == 403
    login("outsider")
    assert client.get(reverse("tracing:venue_list")).status_code == 403


def test_another_townships_officer_gets_404_everywhere(client, login, city):
    venue = make_venue(city)
    login("other_township")
    for name in ("venue_detail", "venue_edit", "venue_poster", "venue_poster_pdf"):
        assert client.get(reverse(f"tracing:{name}", args=[venue.pk])).status_code == 404, name
    assert client.get(reverse("tracing:venue_qr", args=[venue.pk, "svg"])).status_code == 404
    assert client.post(reverse("tracing:venue_active", args=[venue.pk]), {"active": "0"}).status_code == 404
    assert Venue.objects.get(pk=venue.pk).active


def test_switching_off_from_the_detail_page(client, login, city):
    venue = make_venue(city)
    login("township")
    client.post(reverse("tracing:venue_active", args=[venue.pk]), {"active": "0"})
    assert not Venue.objects.get(pk=venue.pk).active
    client.logout()
    response = client.get(reverse("venue_public:checkin", args=[venue.code]))
    assert response.status_code == 404 and b'data-testid="venue-not-found"' in response.content


def test_venue_list_filters_exports_and_counts_queries(client, login, city, django_assert_max_num_queries):
    for n in range(30):
        make_venue(city, name=f"商店{n}", category="restaurant" if n % 3 == 0 else "shop")
    make_venue(city, name="乙社区药店", grid=city.grid_b, category="pharmacy")
    make_venue(city, actor="other_township", name="隆宝镇卫生院", grid=city.grid_c, category="clinic")
    login("township")
    with django_assert_max_num_queries(8):
        response = client.get(reverse("tracing:venue_list"))
    assert response.status_code == 200 and response.context["page_obj"].paginator.count == 31
    url = reverse("tracing:venue_list")
    assert client.get(url, {"category": "restaurant"}).context["page_obj"].paginator.count == 10
    assert client.get(url, {"division": city.grid_b.path}).context["page_obj"].paginator.count == 1
    assert client.get(url, {"q": "药店"}).context["page_obj"].paginator.count == 1
    export = client.get(url, {"export": "csv"})
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    assert "商店0" in text and "隆宝镇卫生院" not in text and "http://testserver/v/" in text
    xlsx = client.get(url, {"export": "xlsx"})
    assert xlsx.status_code == 200 and b"".join(xlsx.streaming_content).startswith(b"PK")
    assert AuditEvent.objects.filter(action="export", note__startswith="venues csv").exists()


def test_detail_shows_counts_per_day_and_masked_check_ins(client, login, city, django_assert_max_num_queries):
    venue = make_venue(city)
    now = timezone.now()
    for n in range(3):
        services.checkin_record(venue=venue, phone=f"1380000{n:04d}", source="public", now=now)
    services.checkin_record(
        venue=venue, id_number=city.person_b.id_number, companions=[{"name": "小孩"}], source="public", now=now
    )
    login("township")  # no full-PII permission: masked
    with django_assert_max_num_queries(12):
        response = client.get(reverse("tracing:venue_detail", args=[venue.pk]))
    body = response.content.decode()
    assert "138****0001" in body and "13800000001" not in body
    assert city.person_b.id_number not in body and city.person_b.id_number[:6] + "********" in body
    today = response.context["days"][-1]
    assert (today["day"], today["visits"], today["companions"]) == (timezone.localdate(), 5, 1)
    login("grid_a")  # grid workers see full numbers
    assert "13800000001" in client.get(reverse("tracing:venue_detail", args=[venue.pk])).content.decode()
    export = client.get(reverse("tracing:venue_detail", args=[venue.pk]), {"export": "csv"})
    assert "13800000001" in b"".join(export.streaming_content).decode("utf-8-sig")


def test_detail_history_tab_lists_the_edits(client, login, city):
    venue = make_venue(city)
    services.venue_update(actor=city["township"], venue=venue, expected_version=1, data={"default_stay_minutes": 90})
    login("township")
    response = client.get(reverse("tracing:venue_detail", args=[venue.pk]), {"tab": "history"})
    assert len(response.context["events"]) == 2


# -- posters -----------------------------------------------------------------------------------------------------


def test_poster_page_shows_the_qr_code_the_code_and_the_absolute_address(client, login, city):
    venue = make_venue(city)
    login("township")
    response = client.get(reverse("tracing:venue_poster", args=[venue.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in body and 'class="fl-qr"' in body and venue.name in body and venue.code in body
    assert f"http://testserver/v/{venue.code}/" in body
    assert "<script>" not in body and "style=" not in body


def test_qr_downloads_as_svg_and_png(client, login, city):
    venue = make_venue(city)
    login("township")
    svg = client.get(reverse("tracing:venue_qr", args=[venue.pk, "svg"]))
    assert svg["Content-Type"] == "image/svg+xml" and svg.content.lstrip().startswith(b"<?xml")
    assert f'filename="venue-{venue.code}.svg"' in svg["Content-Disposition"]
    png = client.get(reverse("tracing:venue_qr", args=[venue.pk, "png"]))
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert client.get(reverse("tracing:venue_qr", args=[venue.pk, "gif"])).status_code == 404


def _pdf_text_streams(pdf: bytes) -> bytes:
    """The page content streams, decoded (reportlab writes them ASCII85 + Flate encoded)."""
    found = b""
    for match in re.finditer(
        rb"/Filter \[ /ASCII85Decode /FlateDecode \][^>]*>>\s*stream\r?\n(.*?)endstream", pdf, re.S
    ):
        data = match.group(1).strip().removeprefix(b"<~").removesuffix(b"~>")
        found += zlib.decompress(base64.a85decode(data))
    return found


_PDF_ESCAPES = {b"n": 10, b"r": 13, b"t": 9, b"b": 8, b"f": 12, b"(": 40, b")": 41, b"\\": 92}


def _pdf_shown_strings(content: bytes) -> bytes:
    """The bytes of every string a content stream shows (``(…) Tj``), PDF escapes undone."""
    shown = bytearray()
    for match in re.finditer(rb"\((.*?)(?<!\\)\) Tj", content, re.S):
        raw, i = match.group(1), 0
        while i < len(raw):
            if raw[i] == 0x5C:
                octal = re.match(rb"[0-7]{1,3}", raw[i + 1 :])
                if octal:
                    shown.append(int(octal.group(0), 8))
                    i += 1 + len(octal.group(0))
                    continue
                shown.append(_PDF_ESCAPES.get(raw[i + 1 : i + 2], raw[i + 1]))
                i += 2
                continue
            shown.append(raw[i])
            i += 1
        shown += b"|"
    return bytes(shown)


def test_pdf_poster_is_an_a4_pdf_with_the_name_in_chinese_and_the_code(client, login, city):
    venue = make_venue(city, name="格萨尔广场超市")
    login("township")
    response = client.get(reverse("tracing:venue_poster_pdf", args=[venue.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in pdf  # A4 in points
    assert b"STSong-Light" in pdf
    shown = _pdf_shown_strings(_pdf_text_streams(pdf))
    # STSong-Light text is drawn as UCS-2 (UniGB-UCS2-H): the name's characters appear big-endian.
    assert venue.name.encode("utf-16-be") in shown
    assert venue.code.encode() in shown


def test_pdf_poster_draws_the_qr_code_from_the_matrix(city):
    venue = make_venue(city)
    pdf = poster.poster_pdf(venue, f"https://example.org/v/{venue.code}/")
    content = _pdf_text_streams(pdf)
    assert content.count(b" re f") > 100  # filled rectangles: the modules of the code


def test_checkins_on_a_venue_are_kept_when_it_is_switched_off(city):
    venue = make_venue(city)
    services.checkin_record(venue=venue, phone="13800001111", source="public")
    services.venue_set_active(actor=city["township"], venue=venue, active=False)
    assert CheckIn.objects.filter(venue=venue).count() == 1


def test_api_venue_list_query_count(api, city, django_assert_max_num_queries):
    for n in range(25):
        make_venue(city, name=f"店{n}")
    client = api("township")
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/venues/")
    assert response.status_code == 200 and response.json()["count"] == 25
