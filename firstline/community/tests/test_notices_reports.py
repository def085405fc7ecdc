"""Public reports: what is refused, rate limits, routing to a township and its officer's task, triage (verified,
false with an answering notice, duplicate, referral to the police), contact masking, the staff pages."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from firstline.community.models import Notice, PublicReport
from firstline.community.notices import selectors, services
from firstline.community.tests.notices_support import (  # noqa: F401 - fixtures
    _english,
    _media,
    image_bytes,
    make_notice,
    make_report,
    photo_upload,
)
from firstline.core.concurrency import StaleVersionError
from firstline.core.models import AuditEvent
from firstline.dispatch.models import Task

pytestmark = pytest.mark.django_db


def errors_of(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as error:
        call()
    return error.value.message_dict


# -- what is refused ---------------------------------------------------------------------------------------------


def test_a_report_with_nothing_in_it_is_refused(city):
    errors = errors_of(lambda: make_report(description="   "))
    assert errors == {"description": ["The report is empty: describe what you saw or heard."]}
    assert not PublicReport.objects.exists()


def test_a_report_without_a_description_is_refused_naming_the_field(city):
    errors = errors_of(lambda: make_report(description="", place="民主路"))
    assert errors == {"description": ["Describe what you saw or heard."]}


def test_an_unknown_kind_and_a_time_in_the_future_are_refused(city):
    errors = errors_of(lambda: make_report(kind="gossip", occurred_at=timezone.now() + datetime.timedelta(hours=1)))
    assert set(errors) == {"kind", "occurred_at"}
    assert errors["occurred_at"] == ["The time is in the future."]


def test_a_photo_over_the_size_limit_is_refused(city, settings):
    settings.REPORT_PHOTO_MAX_MB = 1
    big = SimpleUploadedFile("big.png", image_bytes("PNG", (800, 800), noise=True), content_type="image/png")
    assert (big.size or 0) > 1024 * 1024
    errors = errors_of(lambda: make_report(photo=big))
    assert errors == {"photo": ["The photo is larger than 1 MB."]}


@pytest.mark.parametrize(
    ("name", "content"),
    [("photo.jpg", b"%PDF-1.4 not an image"), ("photo.png", b"\x89PNG\r\n\x1a\n broken"), ("x.svg", b"<svg/>")],
)
def test_a_photo_that_is_not_really_an_image_is_refused(city, name, content):
    errors = errors_of(lambda: make_report(photo=SimpleUploadedFile(name, content)))
    assert errors == {"photo": ["This file is not a photo: send a JPEG, PNG, GIF or WebP image."]}
    assert not PublicReport.objects.exists()


def test_a_photo_is_re_encoded_without_its_metadata(city):
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "SecretPhoneMaker"  # Make
    exif[0x0131] = "LocationTagger"  # Software
    report = make_report(photo=photo_upload("IMG_0001.JPG", size=(64, 48), exif=exif.tobytes()))
    stored = report.photo.read()
    assert b"SecretPhoneMaker" not in stored and b"LocationTagger" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and image.size == (64, 48) and not dict(image.getexif())
    assert report.photo.name.endswith(".jpg") and "IMG_0001" not in report.photo.name


def test_html_in_a_report_is_shown_escaped_to_the_handler(client, login, city):
    report = make_report(description="<img src=x onerror=alert(1)>谣言", place="<b>民主路</b>")
    login("township")
    page = client.get(reverse("community:report_detail", args=[report.pk])).content.decode()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;b&gt;民主路&lt;/b&gt;" in page


# -- routing and tasks -------------------------------------------------------------------------------------------


def test_a_report_from_a_communitys_page_goes_to_its_township_as_a_task_for_the_officer(city):
    report = make_report(code="632701001001")
    assert (report.division_id, report.path, report.status) == ("632701001", "632701001", "new")
    task = Task.objects.get(object_id=str(report.pk))
    assert (task.assignee_user, task.kind, task.path) == (city["township"], "public_report", "632701001")
    assert report.task == task


def test_a_report_from_a_township_page_stays_with_the_township(city):
    assert make_report(code="632701101").division_id == "632701101"


def test_a_report_from_the_city_page_goes_to_the_township_named_in_the_place(city):
    assert make_report(code="632701", place="隆宝镇措多村附近").division_id == "632701101"
    assert make_report(code="632701", place="测试丙村的牧场").division_id == "632701101"  # the village's township
    assert make_report(code="632701", place="不知道哪里").division_id == "632701"


def test_a_report_without_a_division_is_routed_by_the_place_else_to_the_city_command(city):
    # A loose name (结古 for 结古街道) is found too.
    assert make_report(code=None, place="结古镇民主路23号").division_id == "632701001"
    fallback = make_report(code=None, place="")
    assert fallback.division_id == "632701"
    assert Task.objects.get(object_id=str(fallback.pk)).assignee_user == city["city"]


def test_the_reporters_address_is_kept_only_as_a_keyed_hash(city):
    report = make_report(source_address="198.51.100.23")
    assert len(report.source_hash) == 64 and "198.51.100.23" not in report.source_hash
    assert report.source_hash == services.source_hash("198.51.100.23") != services.source_hash("198.51.100.24")
    events = AuditEvent.objects.filter(object_id=str(report.pk))
    assert events.exists() and not events.exclude(ip=None).exists()


def test_the_public_form_records_no_address_in_the_audit_log(client, city):
    client.post(reverse("notices_public:report", args=["632701001001"]), {"kind": "rumour", "description": "谣言"})
    report = PublicReport.objects.get()
    assert report.source_hash == services.source_hash("127.0.0.1")
    assert not AuditEvent.objects.exclude(ip=None).filter(object_id=str(report.pk)).exists()
    assert not AuditEvent.objects.filter(ip="127.0.0.1").exists()


# -- the public form ---------------------------------------------------------------------------------------------


def test_the_public_form_files_a_report_with_a_photo_and_shows_the_receipt(client, city):
    response = client.post(
        reverse("notices_public:report", args=["632701001001"]),
        {
            "kind": "violation",
            "description": "有人在家里办婚宴，来了五十多人",
            "place": "测试甲社区3号楼",
            "occurred_at": (timezone.localtime() - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "photo": photo_upload("wedding.jpg"),
            "contact": "13912345678",
        },
    )
    report = PublicReport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("notices_public:receipt", args=[services.receipt_token(report)])
    assert report.photo and report.contact == "13912345678" and report.kind == "violation"
    receipt = client.get(response["Location"]).content.decode()
    assert 'data-status="new"' in receipt and "13912345678" not in receipt


def test_the_public_form_shows_what_is_wrong(client, city):
    response = client.post(
        reverse("notices_public:report", args=["632701001001"]),
        {"kind": "rumour", "description": "", "photo": SimpleUploadedFile("a.jpg", b"not an image")},
    )
    page = response.content.decode()
    assert response.status_code == 400 and not PublicReport.objects.exists()
    assert "Describe what you saw or heard." in page and "This file is not a photo" in page


def test_the_public_form_is_rate_limited_with_a_clear_message(client, city, settings):
    settings.REPORT_RATE_LIMIT = "2/h"
    url = reverse("notices_public:report", args=["632701001001"])
    for _n in range(2):
        assert client.post(url, {"kind": "rumour", "description": "谣言"}).status_code == 302
    response = client.post(url, {"kind": "rumour", "description": "谣言"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "Too many reports from this network" in response.content.decode()
    assert PublicReport.objects.count() == 2
    assert client.get(url).status_code == 200  # reading the form is not limited


def test_a_bot_filling_the_hidden_field_files_nothing(client, city):
    url = reverse("notices_public:report", args=["632701001001"])
    response = client.post(url, {"kind": "rumour", "description": "谣言", "website": "http://spam"})
    assert response.status_code == 200 and not PublicReport.objects.exists()


def test_a_forged_receipt_token_shows_the_friendly_404(client, city):
    report = make_report()
    token = services.receipt_token(report)
    assert client.get(reverse("notices_public:receipt", args=[token + "x"])).status_code == 404


# -- triage ------------------------------------------------------------------------------------------------------


def triage(city, report, outcome, *, actor="township", **values):
    report.refresh_from_db()
    return services.report_triage(
        actor=city[actor], report=report, expected_version=report.version, outcome=outcome, **values
    )


def test_a_rumour_marked_false_and_answered_with_a_notice_shows_on_the_public_page(client, city):
    report = make_report(description="听说自来水被污染了")
    report = triage(city, report, "false", note="经核实，水质检测合格")
    task = Task.objects.get(object_id=str(report.pk), kind="public_report")
    assert task.status == "done"
    draft = services.answer_draft(report)
    assert "听说自来水被污染了" in draft["body"]
    report, notice = services.report_answer_with_notice(
        actor=city["township"],
        report=report,
        expected_version=report.version,
        division=report.division,
        title="关于自来水被污染的辟谣",
        body=draft["body"],
    )
    assert notice.status == "published" and report.answer == notice
    page = client.get(reverse("notices_public:division", args=["632701001001"])).content.decode()
    assert "关于自来水被污染的辟谣" in page and 'data-testid="refutes"' in page
    receipt = client.get(reverse("notices_public:receipt", args=[services.receipt_token(report)])).content.decode()
    assert reverse("notices_public:notice", args=[notice.path, notice.pk]) in receipt
    assert 'data-testid="receipt-answer"' in receipt


def test_an_existing_notice_can_be_linked_as_the_answer(city):
    notice = make_notice(city, actor="city", code="632701", title="全市辟谣")
    report = triage(city, make_report(), "false")
    report = services.report_answer(
        actor=city["township"], report=report, expected_version=report.version, notice=notice
    )
    assert report.answer == notice


def test_only_a_rumour_found_false_is_answered(city):
    notice = make_notice(city)
    verified = triage(city, make_report(), "verified")
    with pytest.raises(ValidationError):
        services.report_answer(
            actor=city["township"], report=verified, expected_version=verified.version, notice=notice
        )
    violation = triage(city, make_report(kind="violation"), "false")
    with pytest.raises(ValidationError):
        services.report_answer(
            actor=city["township"], report=violation, expected_version=violation.version, notice=notice
        )


def test_a_duplicate_links_to_the_first_report_of_its_chain(city):
    first = make_report()
    second = triage(city, make_report(), "duplicate", duplicate_of=first.pk)
    third = triage(city, make_report(), "duplicate", duplicate_of=second.pk)
    assert (second.duplicate_of, third.duplicate_of) == (first, first)
    assert errors_of(lambda: triage(city, first, "duplicate", duplicate_of=first.pk)) == {
        "duplicate_of": ["A report cannot be a duplicate of itself."]
    }
    assert "duplicate_of" in errors_of(lambda: triage(city, first, "duplicate"))


def test_a_duplicate_of_a_report_out_of_scope_is_refused_as_unknown(city):
    elsewhere = make_report(code="632701101")
    errors = errors_of(lambda: triage(city, make_report(), "duplicate", duplicate_of=elsewhere.pk))
    assert errors == {"duplicate_of": [f"There is no report {elsewhere.pk} among yours."]}


def test_a_referral_to_the_police_makes_the_report_theirs_with_a_task(city):
    report = make_report(kind="unregistered_arrival", description="隔壁来了外地人没登记", contact="13812345678")
    assert not selectors.reports_visible_to(city["police"]).exists()
    report = triage(city, report, "referred", department=city.police, note="请核查")
    assert selectors.reports_visible_to(city["police"]).get() == report
    township_task = Task.objects.get(object_id=str(report.pk), kind="public_report")
    police_task = Task.objects.get(object_id=str(report.pk), kind="public_report_referral")
    assert township_task.status == "done"
    assert (police_task.assignee_department, police_task.status, report.task) == (city.police, "open", police_task)
    assert Task.objects.assigned_to(city["police"]).filter(pk=police_task.pk).exists()


def test_taking_back_a_referral_cancels_the_departments_task_and_hides_the_report(city):
    report = triage(city, make_report(), "referred", department=city.police)
    report = triage(city, report, "verified")
    assert Task.objects.get(kind="public_report_referral").status == "cancelled"
    assert not selectors.reports_visible_to(city["police"]).exists()


def test_a_referral_needs_a_department_serving_the_place(city):
    from firstline.accounts.models import Department

    far = Department.objects.create(
        code="far", name="隆宝镇市场监管所", kind="market_regulation", division_id="632701101"
    )
    assert "department" in errors_of(lambda: triage(city, make_report(), "referred"))
    assert "department" in errors_of(lambda: triage(city, make_report(), "referred", department=far))


def test_triage_belongs_to_the_jurisdiction_and_needs_the_current_version(city):
    report = make_report()
    with pytest.raises(PermissionDenied):
        triage(city, report, "verified", actor="grid_a")
    with pytest.raises(PermissionDenied):
        triage(city, report, "verified", actor="other_township")
    report = triage(city, report, "referred", department=city.police)
    with pytest.raises(PermissionDenied):  # the department adds its note; the township decides
        triage(city, report, "false", actor="police")
    with pytest.raises(StaleVersionError):
        services.report_triage(actor=city["township"], report=report, expected_version=1, outcome="false")


def test_the_referred_department_may_record_what_it_did(city):
    report = triage(city, make_report(), "referred", department=city.police)
    report = services.report_update(
        actor=city["police"], report=report, expected_version=report.version, data={"triage_note": "已上门核实"}
    )
    assert report.triage_note == "已上门核实"
    with pytest.raises(ValidationError):
        services.report_update(
            actor=city["police"], report=report, expected_version=report.version, data={"kind": "violation"}
        )


# -- contact masking ---------------------------------------------------------------------------------------------


def test_the_township_sees_the_contact_masked_and_may_reveal_it_audited(client, login, city):
    report = make_report(contact="13912345678")
    login("township")
    page = client.get(reverse("community:report_detail", args=[report.pk])).content.decode()
    assert "13912345678" not in page and "139****5678" in page and 'data-testid="reveal"' in page
    revealed = client.post(reverse("community:report_reveal", args=[report.pk])).content.decode()
    assert "13912345678" in revealed
    assert AuditEvent.objects.filter(action="reveal", object_id=str(report.pk), actor=city["township"]).exists()


def test_the_contact_never_reaches_the_audit_log(city):
    report = make_report(contact="13912345678")
    triage(city, report, "verified")
    for event in AuditEvent.objects.filter(object_id=str(report.pk)):
        assert "13912345678" not in str(event.changes)


def test_a_handler_with_full_personal_data_rights_sees_the_contact(client, login, city):
    report = make_report(contact="13912345678")
    # A report the village/community secretary handles (report.handle with full personal data).
    PublicReport.objects.filter(pk=report.pk).update(division_id="632701001001", path="632701001001")
    login("village_a")
    page = client.get(reverse("community:report_detail", args=[report.pk])).content.decode()
    assert "13912345678" in page and 'data-testid="reveal"' not in page


def test_the_export_masks_the_contact_for_handlers_without_full_rights(client, login, city):
    make_report(contact="13912345678")
    login("township")
    response = client.get(reverse("community:report_list"), {"export": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert "13912345678" not in text and rows[1][6] == "139****5678"
    assert AuditEvent.objects.filter(action="export", note__startswith="public-reports csv").exists()


def test_others_may_not_reveal_a_contact(city):
    report = make_report(contact="13912345678")
    with pytest.raises(PermissionDenied):
        services.report_contact_reveal(actor=city["grid_a"], report=report)


# -- pages -------------------------------------------------------------------------------------------------------


def test_report_pages_need_the_permission_and_the_report_in_scope(client, login, city):
    report = make_report()
    login("grid_a")
    assert client.get(reverse("community:report_list")).status_code == 403
    assert client.get(reverse("community:report_detail", args=[report.pk])).status_code == 403
    login("other_township")
    assert client.get(reverse("community:report_detail", args=[report.pk])).status_code == 404
    login("police")
    assert client.get(reverse("community:report_detail", args=[report.pk])).status_code == 404
    triage(city, report, "referred", department=city.police)
    assert client.get(reverse("community:report_detail", args=[report.pk])).status_code == 200


def test_the_triage_page_refers_and_the_answer_page_links_a_new_notice(client, login, city):
    report = make_report()
    login("township")
    response = client.post(
        reverse("community:report_triage", args=[report.pk]),
        {"outcome": "false", "note": "不实", "version": report.version},
    )
    assert response.status_code == 302
    report.refresh_from_db()
    form = client.get(reverse("community:report_answer", args=[report.pk])).content.decode()
    assert "Rumour refuted" in form
    response = client.post(
        reverse("community:report_answer", args=[report.pk]),
        {
            "mode": "new",
            "division": "632701001",
            "title": "辟谣：全城封控不实",
            "body": "不实。",
            "effective_from": timezone.localdate().isoformat(),
            "publish": "on",
            "version": report.version,
        },
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.answer is not None
    assert report.answer.title == "辟谣：全城封控不实" and report.answer.status == "published"


def test_the_triage_page_names_a_missing_department(client, login, city):
    report = make_report()
    login("township")
    response = client.post(
        reverse("community:report_triage", args=[report.pk]), {"outcome": "referred", "version": report.version}
    )
    assert response.status_code == 400
    assert "Choose the department the report is referred to." in response.content.decode()


def test_the_report_list_filters_and_its_query_count_does_not_grow(client, login, city, django_assert_max_num_queries):
    for _n in range(3):
        make_report()
    login("township")
    with django_assert_max_num_queries(8) as few:
        client.get(reverse("community:report_list"))
    for _n in range(15):
        make_report(kind="violation", photo=None)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("community:report_list"))
    assert response.content.decode().count("data-report=") == 18
    only = client.get(reverse("community:report_list"), {"kind": "rumour"}).content.decode()
    assert only.count("data-report=") == 3


def test_the_notice_made_for_a_rumour_is_an_ordinary_notice(city):
    report = triage(city, make_report(), "false")
    services.report_answer_with_notice(
        actor=city["township"],
        report=report,
        expected_version=report.version,
        division=report.division,
        title="辟谣",
        body="不实",
        publish=False,
    )
    notice = Notice.objects.get()
    assert notice.status == "draft"  # published later, like any notice
    assert "辟谣" not in set(selectors.notices_visible_to(city["grid_a"]).values_list("title", flat=True))
