"""The public pages of a division (no login): its notices and those of the divisions above, a notice, the printable
A4 version, the QR poster (SVG/PNG), attachments, the friendly 404."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from firstline.community.notices import services
from firstline.community.tests.notices_support import (  # noqa: F401 - fixtures
    _english,
    _media,
    make_notice,
    pdf_upload,
)

pytestmark = pytest.mark.django_db


def page_of(client, code: str) -> str:
    response = client.get(reverse("notices_public:division", args=[code]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_communitys_page_lists_its_own_the_townships_and_the_citys_notices(client, city):
    mine = make_notice(city, actor="village_a", code="632701001001", title="社区通知")
    township = make_notice(city, title="街道通知")
    town = make_notice(city, actor="city", code="632701", title="全市通告", pinned=True)
    make_notice(city, actor="other_township", code="632701101", title="隆宝镇通知")
    make_notice(city, code="632701001002", title="乙社区通知")
    page = page_of(client, "632701001001")
    listed = [n for n in (mine, township, town) if f'data-notice="{n.pk}"' in page]
    assert listed == [mine, township, town]
    assert "隆宝镇通知" not in page and "乙社区通知" not in page
    assert page.index("全市通告") < page.index("社区通知")  # pinned first


def test_the_public_page_leaves_out_drafts_withdrawn_future_and_ended_notices(client, city):
    make_notice(city, title="草稿", publish=False)
    withdrawn = make_notice(city, title="已撤回")
    services.notice_withdraw(actor=city["township"], notice=withdrawn)
    make_notice(city, title="将来", effective_from=timezone.localdate() + datetime.timedelta(days=1))
    make_notice(city, title="过期", days_ago=10, expires_on=timezone.localdate() - datetime.timedelta(days=1))
    make_notice(city, title="今天到期", days_ago=10, expires_on=timezone.localdate())
    page = page_of(client, "632701001")
    assert "今天到期" in page
    for title in ("草稿", "已撤回", "将来", "过期"):
        assert title not in page


@pytest.mark.parametrize("code", ["999999", "632701999", "abc", "6327010010019"])
def test_an_unknown_division_gets_the_friendly_404(client, city, code):
    response = client.get(f"/n/{code}/")
    assert response.status_code == 404
    assert 'data-testid="notices-not-found"' in response.content.decode()


def test_unknown_codes_count_against_the_address(client, city, settings):
    settings.PUBLIC_RATE_LIMIT = "2/h"
    statuses = [client.get(f"/n/99999{n}/").status_code for n in range(3)]
    assert statuses == [404, 404, 429]
    assert client.get(reverse("notices_public:division", args=["632701001"])).status_code == 200


def test_a_notice_page_shows_the_text_escaped_with_its_attachments(client, city):
    notice = make_notice(city, title="<i>通知</i>", body="请<script>x()</script>登记", attachments=[pdf_upload()])
    response = client.get(reverse("notices_public:notice", args=["632701001001", notice.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "<script>x()</script>" not in page and "&lt;script&gt;x()&lt;/script&gt;" in page
    assert "&lt;i&gt;通知&lt;/i&gt;" in page
    attachment = notice.attachments.get()
    url = reverse("notices_public:attachment", args=["632701001001", notice.pk, attachment.pk])
    assert url in page
    download = client.get(url)
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF-")


def test_a_notice_is_not_shown_on_the_page_of_a_division_it_does_not_reach(client, city):
    notice = make_notice(city, actor="other_township", code="632701101")
    response = client.get(reverse("notices_public:notice", args=["632701001001", notice.pk]))
    assert response.status_code == 404 and 'data-testid="notices-not-found"' in response.content.decode()


def test_a_draft_has_no_public_page(client, city):
    notice = make_notice(city, publish=False)
    assert client.get(reverse("notices_public:notice", args=["632701001", notice.pk])).status_code == 404
    assert client.get(reverse("notices_public:print", args=["632701001", notice.pk])).status_code == 404


def test_an_ended_notice_still_reads_marked_as_ended(client, city):
    notice = make_notice(city, days_ago=10, expires_on=timezone.localdate() - datetime.timedelta(days=2))
    page = client.get(reverse("notices_public:notice", args=["632701001", notice.pk])).content.decode()
    assert 'data-testid="ended"' in page


def test_the_printable_version_is_an_a4_page_with_a_qr_code_to_the_division_page(client, city):
    notice = make_notice(city, title="致全体居民的一封信", body="第一段\n\n第二段")
    response = client.get(reverse("notices_public:print", args=["632701001001", notice.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="print-page"' in page and "css/notices.css" in page and "js/poster.js" in page
    assert "致全体居民的一封信" in page and "<p>第一段</p>" in page
    assert 'class="fl-qr"' in page and "<svg viewBox" in page


def test_the_qr_poster_points_at_the_division_page(client, city):
    page = client.get(reverse("notices_public:poster", args=["632701001001"])).content.decode()
    assert 'class="fl-qr"' in page and "<svg viewBox" in page
    assert 'data-testid="poster-url">http://testserver/n/632701001001/</p>' in page


def test_the_qr_code_downloads_as_svg_and_png(client, city):
    svg = client.get(reverse("notices_public:qr", args=["632701001", "svg"]))
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert b"<svg" in svg.content
    png = client.get(reverse("notices_public:qr", args=["632701001", "png"]))
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    assert client.get("/n/632701001/qr.gif").status_code == 404
    assert client.get("/n/999999/qr.svg").status_code == 404


def test_the_public_pages_need_no_login_and_show_the_report_form_link(client, city):
    page = page_of(client, "632701001001")
    assert reverse("notices_public:report", args=["632701001001"]) in page
