"""API of notices and public reports: scoping (404 out of scope, 403 without permission), public POST of reports
with rate limiting, triage, answers, masking, OpenAPI."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from firstline.community.models import Notice, NoticeRead, PublicReport
from firstline.community.notices import services
from firstline.community.tests.notices_support import (  # noqa: F401 - fixtures
    _english,
    _media,
    make_notice,
    make_report,
    pdf_upload,
    photo_upload,
)
from firstline.core.models import AuditEvent
from firstline.dispatch.models import Task

# These tests assert the wording of messages (in English).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

NOTICES = "/api/v1/notices/"
REPORTS = "/api/v1/reports/"


# -- notices -----------------------------------------------------------------------------------------------------


def test_the_notice_list_holds_what_the_caller_sees(api, city):
    mine = make_notice(city, title="街道")
    make_notice(city, actor="other_township", code="632701101", title="隆宝")
    make_notice(city, title="草稿", publish=False)
    body = api("grid_a").get(NOTICES).json()
    assert [row["title"] for row in body["results"]] == ["街道"]
    assert body["results"][0]["id"] == mine.pk and body["results"][0]["is_read"] is False
    titles = {row["title"] for row in api("township").get(NOTICES, {"status": "draft"}).json()["results"]}
    assert titles == {"草稿"}


def test_retrieving_a_notice_records_the_read_receipt(api, city):
    notice = make_notice(city)
    response = api("grid_a").get(f"{NOTICES}{notice.pk}/")
    assert response.status_code == 200 and response.json()["is_read"] is True
    assert NoticeRead.objects.filter(notice=notice, user=city["grid_a"]).exists()
    assert api("grid_a").get(NOTICES, {"unread": "true"}).json()["results"] == []


def test_a_notice_out_of_scope_is_404(api, city):
    notice = make_notice(city, actor="other_township", code="632701101")
    assert api("grid_a").get(f"{NOTICES}{notice.pk}/").status_code == 404
    assert api("township").post(f"{NOTICES}{notice.pk}/withdraw/", {}, format="json").status_code == 404


def test_creating_publishing_and_withdrawing_through_the_api(api, city):
    client = api("township")
    response = client.post(
        NOTICES,
        {"division": "632701001", "title": "通知", "body": "正文", "pinned": True},
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["status"] == "draft" and created["effective_from"] == timezone.localdate().isoformat()
    published = client.post(f"{NOTICES}{created['id']}/publish/", {"version": created["version"]}, format="json")
    assert published.status_code == 200 and published.json()["status"] == "published"
    stale = client.post(f"{NOTICES}{created['id']}/withdraw/", {"version": created["version"]}, format="json")
    assert stale.status_code == 409
    withdrawn = client.post(
        f"{NOTICES}{created['id']}/withdraw/", {"version": published.json()["version"], "reason": "错"}, format="json"
    )
    assert withdrawn.json()["status"] == "withdrawn"


def test_creating_needs_the_permission_and_valid_fields(api, city):
    assert api("grid_a").post(NOTICES, {"division": "632701001", "title": "x", "body": "y"}).status_code == 403
    response = api("township").post(NOTICES, {"division": "632701101", "title": "", "body": "y"}, format="json")
    assert response.status_code == 400 and "division" in response.json()
    response = api("township").post(
        NOTICES,
        {
            "division": "632701001",
            "title": "",
            "body": "正文",
            "effective_from": "2022-01-10",
            "expires_on": "2022-01-01",
        },
        format="json",
    )
    assert response.status_code == 400 and set(response.json()) == {"title", "expires_on"}


def test_patch_needs_the_version_and_refuses_a_stale_one(api, city):
    notice = make_notice(city)
    client = api("township")
    assert client.patch(f"{NOTICES}{notice.pk}/", {"title": "改"}, format="json").status_code == 400
    ok = client.patch(f"{NOTICES}{notice.pk}/", {"title": "改", "version": notice.version}, format="json")
    assert ok.status_code == 200 and ok.json()["title"] == "改"
    stale = client.patch(f"{NOTICES}{notice.pk}/", {"title": "再改", "version": notice.version}, format="json")
    assert stale.status_code == 409
    assert api("grid_a").patch(f"{NOTICES}{notice.pk}/", {"title": "x", "version": 9}, format="json").status_code == 403


def test_attachments_upload_through_the_api_checked_by_content(api, city):
    notice = make_notice(city)
    client = api("township")
    ok = client.post(f"{NOTICES}{notice.pk}/attachments/", {"files": [pdf_upload()]}, format="multipart")
    assert ok.status_code == 201 and ok.json()[0]["content_type"] == "application/pdf"
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = client.post(
        f"{NOTICES}{notice.pk}/attachments/",
        {"files": [SimpleUploadedFile("x.pdf", b"MZ program")]},
        format="multipart",
    )
    assert bad.status_code == 400 and "not really a PDF" in bad.json()["attachments"][0]


def test_the_readers_action_gives_counts_and_the_list(api, city):
    notice = make_notice(city)
    services.notice_mark_read(user=city["grid_a"], notice=notice)
    body = api("township").get(f"{NOTICES}{notice.pk}/readers/", {"state": "read"}).json()
    assert (body["audience"], body["read"], body["unread"]) == (7, 1, 6)
    assert [row["username"] for row in body["results"]] == ["grid_a"]
    assert api("grid_a").get(f"{NOTICES}{notice.pk}/readers/").status_code == 403


def test_the_notice_list_query_count_does_not_grow(api, city, django_assert_max_num_queries):
    for n in range(3):
        make_notice(city, title=f"n{n}", attachments=[pdf_upload()])
    client = api("grid_a")
    with django_assert_max_num_queries(10) as few:
        client.get(NOTICES)
    for n in range(12):
        make_notice(city, title=f"m{n}", attachments=[pdf_upload()])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(NOTICES).json()["count"] == 15


# -- public reports ----------------------------------------------------------------------------------------------


def test_anyone_may_post_a_report_without_login(city):
    response = APIClient().post(
        REPORTS,
        {"kind": "rumour", "description": "听说要封城", "place": "隆宝镇", "contact": "13812345678"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    report = PublicReport.objects.get()
    assert body["routed_to"] == "隆宝镇" and body["status"] == "new" and body["kind"] == "rumour"
    assert body["receipt"] == services.receipt_token(report) and body["receipt_url"].endswith(
        f"/n/receipt/{body['receipt']}/"
    )
    assert report.division_id == "632701101" and "id" not in body
    assert Task.objects.get(object_id=str(report.pk)).assignee_user == city["other_township"]


def test_a_report_may_name_the_division_of_its_page(city):
    response = APIClient().post(
        REPORTS, {"kind": "violation", "description": "聚会", "division": "632701001001"}, format="json"
    )
    assert response.status_code == 201 and PublicReport.objects.get().division_id == "632701001"
    unknown = APIClient().post(REPORTS, {"kind": "violation", "description": "聚会", "division": "999"}, format="json")
    assert unknown.status_code == 400 and "division" in unknown.json()


def test_a_report_with_a_photo_is_posted_as_multipart(city):
    response = APIClient().post(
        REPORTS,
        {"kind": "violation", "description": "聚集", "photo": photo_upload("a.png")},
        format="multipart",
    )
    assert response.status_code == 201
    assert PublicReport.objects.get().photo.name.endswith(".jpg")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "rumour", "description": ""}, "description"),
        ({"kind": "gossip", "description": "x"}, "kind"),
        ({"kind": "rumour", "description": "x", "occurred_at": "2999-01-01T08:00:00+08:00"}, "occurred_at"),
    ],
)
def test_bad_reports_are_refused_with_the_field_named(city, data, field):
    response = APIClient().post(REPORTS, data, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not PublicReport.objects.exists()


def test_a_photo_that_is_not_an_image_is_refused_through_the_api(city):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = APIClient().post(
        REPORTS,
        {"kind": "rumour", "description": "x", "photo": SimpleUploadedFile("a.jpg", b"<?php evil(); ?>")},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json() == {"photo": ["This file is not a photo: send a JPEG, PNG, GIF or WebP image."]}


def test_report_posts_are_rate_limited_with_429_and_a_clear_message(city, settings):
    settings.REPORT_RATE_LIMIT = "2/h"
    client = APIClient()
    codes = [client.post(REPORTS, {"kind": "rumour", "description": "x"}, format="json").status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    limited = client.post(REPORTS, {"kind": "rumour", "description": "x"}, format="json")
    body = limited.json()
    assert body["code"] == "rate_limited" and "Too many reports from this address" in body["detail"]
    assert int(limited["Retry-After"]) == body["retry_after"] > 0
    assert PublicReport.objects.count() == 2


def test_reading_reports_needs_the_permission(api, city):
    make_report()
    assert api("grid_a").get(REPORTS).status_code == 403
    assert APIClient().get(REPORTS).status_code in (401, 403)


def test_reports_are_scoped_and_the_contact_masked(api, city):
    report = make_report(contact="13912345678")
    rows = api("township").get(REPORTS).json()["results"]
    assert [r["id"] for r in rows] == [report.pk] and rows[0]["contact"] == "139****5678"
    assert api("other_township").get(REPORTS).json()["results"] == []
    assert api("other_township").get(f"{REPORTS}{report.pk}/").status_code == 404


def test_triage_referral_to_the_police_through_the_api(api, city):
    report = make_report(kind="unregistered_arrival", contact="13912345678")
    assert api("police").get(f"{REPORTS}{report.pk}/").status_code == 404
    response = api("township").post(
        f"{REPORTS}{report.pk}/triage/",
        {"outcome": "referred", "department": "police", "note": "请核查", "version": report.version},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "referred" and response.json()["referred_to"] == "police"
    seen = api("police").get(f"{REPORTS}{report.pk}/").json()
    assert seen["contact"] == "139****5678"  # the police may reveal it, audited
    revealed = api("police").post(f"{REPORTS}{report.pk}/reveal/").json()
    assert revealed == {"contact": "13912345678"}
    assert AuditEvent.objects.filter(action="reveal", actor=city["police"], object_id=str(report.pk)).exists()
    note = api("police").patch(
        f"{REPORTS}{report.pk}/", {"triage_note": "已找到本人", "version": seen["version"]}, format="json"
    )
    assert note.status_code == 200 and note.json()["triage_note"] == "已找到本人"
    refused = api("police").post(
        f"{REPORTS}{report.pk}/triage/", {"outcome": "false", "version": note.json()["version"]}, format="json"
    )
    assert refused.status_code == 403


def test_answering_a_false_rumour_with_a_new_notice_through_the_api(api, city, client):
    report = make_report()
    township = api("township")
    triaged = township.post(f"{REPORTS}{report.pk}/triage/", {"outcome": "false", "version": 1}, format="json").json()
    response = township.post(
        f"{REPORTS}{report.pk}/answer/",
        {"division": "632701001", "title": "辟谣", "body": "不实", "version": triaged["version"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    notice = Notice.objects.get(pk=response.json()["answer"])
    assert notice.status == "published"
    assert "辟谣" in client.get("/n/632701001001/").content.decode()


def test_answering_with_a_notice_the_caller_cannot_see_is_refused(api, city):
    elsewhere = make_notice(city, actor="other_township", code="632701101")
    report = make_report()
    township = api("township")
    triaged = township.post(f"{REPORTS}{report.pk}/triage/", {"outcome": "false", "version": 1}, format="json").json()
    response = township.post(
        f"{REPORTS}{report.pk}/answer/", {"notice": elsewhere.pk, "version": triaged["version"]}, format="json"
    )
    assert response.status_code == 400 and "notice" in response.json()


def test_a_duplicate_through_the_api(api, city):
    first, second = make_report(), make_report()
    response = api("township").post(
        f"{REPORTS}{second.pk}/triage/", {"outcome": "duplicate", "duplicate_of": first.pk, "version": 1}, format="json"
    )
    assert response.status_code == 200 and response.json()["duplicate_of"] == first.pk


def test_the_report_list_query_count_does_not_grow(api, city, django_assert_max_num_queries):
    for _ in range(3):
        make_report(occurred_at=timezone.now() - datetime.timedelta(hours=1))
    client = api("township")
    with django_assert_max_num_queries(10) as few:
        client.get(REPORTS)
    for _ in range(12):
        make_report()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(REPORTS).json()["count"] == 15


def test_the_openapi_schema_documents_the_public_post_without_authentication(client, city):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    post = schema["paths"]["/api/v1/reports/"]["post"]
    # No security requirement on the operation (and none globally): no credentials needed.
    assert not post.get("security") and "security" not in schema
    assert schema["paths"]["/api/v1/reports/"]["get"]["security"]
    assert set(post["requestBody"]["content"]) >= {"multipart/form-data", "application/json"}
    assert "429" in post["responses"]
