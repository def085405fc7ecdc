"""Notices: publishing to a subtree, visibility (ancestors' published notices, drafts only inside), versioned edits,
attachments checked by content, read receipts, the staff pages and the home-page block."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from firstline.community.models import Notice, NoticeAttachment, NoticeRead
from firstline.community.notices import panels, selectors, services
from firstline.community.tests.notices_support import (  # noqa: F401 - fixtures
    _english,
    _media,
    division,
    docx_upload,
    image_bytes,
    make_notice,
    pdf_upload,
)
from firstline.core.concurrency import StaleVersionError
from firstline.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def visible_titles(user) -> set[str]:
    return set(selectors.notices_visible_to(user).values_list("title", flat=True))


@pytest.fixture
def spread(city):
    """Published notices of the city, both townships, community A and community B; a township draft."""
    return {
        "city": make_notice(city, actor="city", code="632701", title="city"),
        "township": make_notice(city, code="632701001", title="township"),
        "other": make_notice(city, actor="other_township", code="632701101", title="other township"),
        "community_a": make_notice(city, actor="village_a", code="632701001001", title="community A"),
        "community_b": make_notice(city, code="632701001002", title="community B"),
        "draft": make_notice(city, code="632701001", title="township draft", publish=False),
    }


# -- visibility ------------------------------------------------------------------------------------------------


def test_a_grid_worker_of_community_a_sees_the_notices_of_the_city_township_and_community_not_the_others(city, spread):
    assert visible_titles(city["grid_a"]) == {"city", "township", "community A"}


def test_a_grid_worker_of_community_b_does_not_see_community_a_notices(city, spread):
    assert visible_titles(city["grid_b"]) == {"city", "township", "community B"}


def test_the_other_townships_officer_sees_the_city_and_their_own(city, spread):
    assert visible_titles(city["other_township"]) == {"city", "other township"}


def test_drafts_are_seen_only_inside_the_publishing_division_and_above(city, spread):
    assert "township draft" not in visible_titles(city["grid_a"])
    assert "township draft" not in visible_titles(city["village_a"])
    assert "township draft" in visible_titles(city["township"])
    assert "township draft" in visible_titles(city["city"])


def test_a_withdrawn_notice_disappears_below_but_stays_for_the_publisher(city, spread):
    services.notice_withdraw(actor=city["township"], notice=spread["township"], reason="superseded")
    assert "township" not in visible_titles(city["grid_a"])
    assert "township" in visible_titles(city["township"])
    event = AuditEvent.objects.filter(object_id=str(spread["township"].pk), note="superseded").get()
    assert event.changes["status"] == ["published", "withdrawn"]


def test_outsiders_see_no_notices_and_department_officers_those_of_the_division_they_serve(city, spread):
    assert visible_titles(city["outsider"]) == set()
    # The police department serves 玉树市: the city's notices (and those above), not the townships' own.
    assert visible_titles(city["police"]) == {"city"}


# -- writes ----------------------------------------------------------------------------------------------------


def test_publishing_needs_the_permission_and_a_division_inside_the_jurisdiction(city):
    with pytest.raises(PermissionDenied):
        make_notice(city, actor="grid_a", code="632701001001")
    with pytest.raises(ValidationError) as error:
        make_notice(city, actor="township", code="632701101")
    assert "division" in error.value.message_dict


def test_a_township_cannot_change_the_citys_notice(city):
    notice = make_notice(city, actor="city", code="632701")
    with pytest.raises(PermissionDenied):
        services.notice_withdraw(actor=city["township"], notice=notice)
    with pytest.raises(PermissionDenied):
        selectors.notice_get_for_user(city["township"], notice.pk, write=True)


def test_a_notice_needs_a_title_a_text_and_an_end_after_its_start(city):
    with pytest.raises(ValidationError) as error:
        services.notice_create(
            actor=city["township"],
            division=division("632701001"),
            title="  ",
            body="",
            effective_from=timezone.localdate(),
            expires_on=timezone.localdate() - datetime.timedelta(days=1),
        )
    assert set(error.value.message_dict) == {"title", "body", "expires_on"}
    assert not Notice.objects.exists()


def test_only_a_draft_is_published_and_publishing_records_who_and_when(city):
    notice = make_notice(city, publish=False)
    assert notice.status == "draft" and notice.published_at is None
    notice = services.notice_publish(actor=city["township"], notice=notice)
    assert (notice.status, notice.published_by, notice.version) == ("published", city["township"], 2)
    with pytest.raises(ValidationError):
        services.notice_publish(actor=city["township"], notice=notice)


def test_an_edit_from_a_stale_version_is_refused_and_edits_are_audited(city):
    notice = make_notice(city)
    services.notice_update(
        actor=city["township"], notice=notice, expected_version=notice.version, data={"pinned": True}
    )
    notice.refresh_from_db()
    assert notice.pinned and notice.version == 3
    with pytest.raises(StaleVersionError):
        services.notice_update(actor=city["township"], notice=notice, expected_version=2, data={"title": "改"})
    assert AuditEvent.objects.filter(object_id=str(notice.pk), changes__pinned=[False, True]).exists()


def test_a_withdrawn_notice_cannot_be_edited(city):
    notice = make_notice(city)
    notice = services.notice_withdraw(actor=city["township"], notice=notice)
    with pytest.raises(ValidationError):
        services.notice_update(
            actor=city["township"], notice=notice, expected_version=notice.version, data={"pinned": True}
        )


# -- attachments -----------------------------------------------------------------------------------------------


def test_pdf_office_and_image_attachments_are_accepted_by_their_content(city):
    png = SimpleUploadedFile("海报.png", image_bytes("PNG"), content_type="image/png")
    notice = make_notice(city, attachments=[pdf_upload(), docx_upload(), png])
    stored = {a.name: a.content_type for a in notice.attachments.all()}
    assert stored == {
        "通知.pdf": "application/pdf",
        "名单.docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "海报.png": "image/png",
    }


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("通知.pdf", b"MZ\x90\x00 this is a program", "not really a PDF"),
        ("photo.png", b"GIF89a but not really", "not really a PNG"),
        ("名单.docx", b"PK\x03\x04 broken zip", "not really a DOCX"),
        ("setup.exe", b"MZ\x90\x00", "only PDF, images"),
        ("page.html", b"<script>alert(1)</script>", "only PDF, images"),
    ],
)
def test_a_file_whose_content_does_not_match_an_allowed_type_is_refused(city, name, content, reason):
    upload = SimpleUploadedFile(name, content)
    with pytest.raises(ValidationError) as error:
        make_notice(city, attachments=[upload])
    assert any(reason in m and name in m for m in error.value.message_dict["attachments"])
    assert not Notice.objects.exists()  # nothing half-written


def test_an_attachment_over_the_size_limit_is_refused(city, settings):
    settings.NOTICE_ATTACHMENT_MAX_MB = 1
    notice = make_notice(city)
    with pytest.raises(ValidationError) as error:
        services.notice_attach(actor=city["township"], notice=notice, uploads=[pdf_upload(size=1024 * 1024 + 10)])
    assert "larger than 1 MB" in error.value.message_dict["attachments"][0]
    assert not NoticeAttachment.objects.exists()


def test_attachments_download_for_those_who_see_the_notice_only(client, login, city):
    notice = make_notice(city, attachments=[pdf_upload()])
    attachment = notice.attachments.get()
    url = reverse("community:notice_attachment", args=[notice.pk, attachment.pk])
    login("grid_a")
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    login("other_township")
    assert client.get(url).status_code == 404


# -- read receipts ---------------------------------------------------------------------------------------------


def test_opening_a_published_notice_records_one_read_receipt(client, login, city):
    notice = make_notice(city)
    login("grid_a")
    client.get(reverse("community:notice_detail", args=[notice.pk]))
    client.get(reverse("community:notice_detail", args=[notice.pk]))
    assert list(NoticeRead.objects.values_list("user__username", flat=True)) == ["grid_a"]


def test_opening_a_draft_records_no_read_receipt(client, login, city):
    notice = make_notice(city, publish=False)
    login("township")
    client.get(reverse("community:notice_detail", args=[notice.pk]))
    assert not NoticeRead.objects.exists()


def test_the_publisher_sees_who_below_has_read_it(client, login, city):
    notice = make_notice(city)
    services.notice_mark_read(user=city["grid_a"], notice=notice)
    counts = selectors.notice_read_counts(notice)
    audience = set(selectors.notice_audience(notice).values_list("username", flat=True))
    # Everyone with a role in 结古街道 or below; not the other township, the city or the police.
    assert audience == {"grid_a", "grid_b", "grid_lead_a", "volunteer", "village_a", "township", "admin"}
    assert counts == {"audience": 7, "read": 1, "unread": 6}
    login("township")
    page = client.get(reverse("community:notice_readers", args=[notice.pk]), {"state": "read"}).content.decode()
    assert 'data-user="grid_a" data-read="1"' in page and 'data-user="grid_b"' not in page
    export = client.get(reverse("community:notice_readers", args=[notice.pk]), {"export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Account", "Name", "Jurisdiction", "Read at"]
    read = {row[0]: row[3] for row in rows[1:]}
    assert read["grid_a"] and read["grid_b"] == "" and len(read) == 7
    assert AuditEvent.objects.filter(action="export", note__startswith=f"notice-{notice.pk}-readers").exists()


def test_read_receipts_are_for_the_publishing_jurisdiction_only(client, login, city):
    notice = make_notice(city)
    login("grid_a")
    assert client.get(reverse("community:notice_readers", args=[notice.pk])).status_code == 403
    login("other_township")
    assert client.get(reverse("community:notice_readers", args=[notice.pk])).status_code == 404
    city_notice = make_notice(city, actor="city", code="632701")
    login("township")
    assert client.get(reverse("community:notice_readers", args=[city_notice.pk])).status_code == 403


# -- pages -----------------------------------------------------------------------------------------------------


def test_html_in_a_notice_is_shown_escaped(client, login, city):
    notice = make_notice(city, title="<b>通知</b>", body="第一段<script>alert(1)</script>\n\n第二段")
    login("grid_a")
    page = client.get(reverse("community:notice_detail", args=[notice.pk])).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;通知&lt;/b&gt;" in page
    assert "<p>第一段" in page and "<p>第二段</p>" in page  # paragraphs kept


def test_the_list_marks_unread_notices_and_filters_them(client, login, city, spread):
    services.notice_mark_read(user=city["grid_a"], notice=spread["city"])
    login("grid_a")
    page = client.get(reverse("community:notice_list")).content.decode()
    assert f'data-notice="{spread["township"].pk}" class="fw-semibold" data-unread="1"' in page
    assert f'data-notice="{spread["city"].pk}">' in page
    unread = client.get(reverse("community:notice_list"), {"unread": "on"}).content.decode()
    assert f'data-notice="{spread["city"].pk}"' not in unread and f'data-notice="{spread["township"].pk}"' in unread


def test_the_list_query_count_does_not_grow_with_notices(client, login, city, django_assert_max_num_queries):
    for n in range(3):
        make_notice(city, title=f"n{n}", attachments=[pdf_upload()])
    login("grid_a")
    with django_assert_max_num_queries(8) as few:
        client.get(reverse("community:notice_list"))
    for n in range(20):
        make_notice(city, title=f"m{n}", attachments=[pdf_upload()])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("community:notice_list"))
    assert response.content.decode().count("data-notice=") == 23


def test_the_create_page_publishes_with_attachments(client, login, city):
    login("township")
    response = client.post(
        reverse("community:notice_create"),
        {
            "division": "632701001",
            "title": "核酸检测安排",
            "body": "全员核酸。",
            "effective_from": timezone.localdate().isoformat(),
            "attachments": [pdf_upload(), docx_upload()],
            "publish": "1",
        },
    )
    notice = Notice.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("community:notice_detail", args=[notice.pk])
    assert notice.status == "published" and notice.attachments.count() == 2


def test_the_create_page_names_the_bad_attachment(client, login, city):
    login("township")
    response = client.post(
        reverse("community:notice_create"),
        {
            "division": "632701001",
            "title": "核酸检测安排",
            "body": "全员核酸。",
            "effective_from": timezone.localdate().isoformat(),
            "attachments": [SimpleUploadedFile("名单.xlsx", b"not a workbook")],
        },
    )
    assert response.status_code == 200 and not Notice.objects.exists()
    assert "名单.xlsx is not really a XLSX file" in response.content.decode()


def test_grid_workers_cannot_open_the_create_page(client, login, city):
    login("grid_a")
    assert client.get(reverse("community:notice_create")).status_code == 403


def test_the_edit_page_reports_a_stale_version(client, login, city):
    notice = make_notice(city)
    login("township")
    services.notice_update(
        actor=city["township"], notice=notice, expected_version=notice.version, data={"pinned": True}
    )
    response = client.post(
        reverse("community:notice_edit", args=[notice.pk]),
        {"title": "新标题", "body": notice.body, "effective_from": notice.effective_from.isoformat(), "version": 2},
    )
    assert response.status_code == 200 and "Someone else changed this record" in response.content.decode()
    notice.refresh_from_db()
    assert notice.title != "新标题"


def test_publish_and_withdraw_buttons(client, login, city):
    notice = make_notice(city, publish=False)
    login("township")
    client.post(reverse("community:notice_publish", args=[notice.pk]), {"version": notice.version})
    notice.refresh_from_db()
    assert notice.status == "published"
    client.post(reverse("community:notice_withdraw", args=[notice.pk]), {"version": notice.version, "reason": "错"})
    notice.refresh_from_db()
    assert notice.status == "withdrawn"


# -- home page -------------------------------------------------------------------------------------------------


@pytest.fixture
def home_block():
    panels.register()


def test_the_home_page_shows_notices_in_force_pinned_first_unread_marked(client, login, city, home_block):
    older = make_notice(city, actor="city", code="632701", title="city pinned", pinned=True, days_ago=5)
    newer = make_notice(city, title="township news")
    make_notice(city, title="future", effective_from=timezone.localdate() + datetime.timedelta(days=3))
    make_notice(city, actor="other_township", code="632701101", title="elsewhere")
    services.notice_mark_read(user=city["grid_a"], notice=newer)
    login("grid_a")
    page = client.get(reverse("home")).content.decode()
    block = page[page.index('data-testid="home-notices"') :]
    assert block.index("city pinned") < block.index("township news")
    assert "future" not in block and "elsewhere" not in block
    assert f'data-notice="{older.pk}" data-unread="1"' in block
    assert f'data-notice="{newer.pk}">' in block
    assert "1 unread" in block


def test_the_home_block_is_left_out_when_there_is_nothing_to_show(client, login, city, home_block):
    login("grid_a")
    assert 'data-testid="home-notices"' not in client.get(reverse("home")).content.decode()


def test_site_staff_and_department_officers_read_the_notices_where_they_work(city, community):
    township = make_notice(city, title="结古街道核酸检测安排")
    city_wide = make_notice(city, actor="city", code="632701", title="玉树市疫情防控规定")
    draft = make_notice(city, title="草稿", publish=False)
    elsewhere = make_notice(city, actor="other_township", code="632701101", title="隆宝镇通知")
    # `medic` is site staff registered in 结古街道 (no jurisdiction); `police` serves 玉树市 (632701).
    medic = set(selectors.notices_visible_to(community.medic).values_list("pk", flat=True))
    assert medic == {township.pk, city_wide.pk}
    police = set(selectors.notices_visible_to(city["police"]).values_list("pk", flat=True))
    assert police == {city_wide.pk}
    assert draft.pk not in medic | police and elsewhere.pk not in medic | police
    assert panels.reads_notices(community.medic.scope) and not panels.reads_notices(city["outsider"].scope)
