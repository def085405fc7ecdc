"""Every community page and API route that names a record answers 404 to an officer of another township.

Given one of each record in 结古街道 (a care request, a frontline worker, a member with a pledge, a post with a
shift, a published notice with an attachment, a public report with a photo), the officer of 隆宝镇 gets exactly
what a missing record gives: 404. The township's own officer opens the same pages (so the 404 is the scope's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from firstline.community.models import Commitment
from firstline.community.notices import services as notice_services
from firstline.community.roster import services as roster_services
from firstline.community.tests.notices_support import make_notice, make_report, pdf_upload, photo_upload
from firstline.community.tests.roster_support import at, make_post, put_on
from firstline.community.tests.test_care_services import file_for_medic

OUTSIDER = "other_township"  # officer of 隆宝镇: same role as ``township``, another jurisdiction
INSIDER = "township"  # officer of 结古街道, where every record below lives


@dataclass
class Records:
    care: int
    worker: int
    volunteer: int
    signature: int
    post: int
    shift: int
    notice: int
    attachment: int
    report: int


@pytest.fixture
def records(city: Any, community: Any, _media: Any) -> Records:
    care = file_for_medic(community)
    volunteer = community.member_a
    (signature,) = roster_services.pledge_sign(
        actor=city[INSIDER],
        volunteer=volunteer,
        commitments=list(Commitment.objects.order_by("number")[:1]),
        signed_on=timezone.localdate(),
    )
    post = make_post(city)
    shift = put_on(city, post, volunteer, at(0, 9), at(0, 12))
    notice = make_notice(city)
    (attachment,) = notice_services.notice_attach(actor=city[INSIDER], notice=notice, uploads=[pdf_upload()])
    report = make_report(photo=photo_upload())
    return Records(
        care=care.pk,
        worker=community.worker_site.pk,
        volunteer=volunteer.pk,
        signature=signature.pk,
        post=post.pk,
        shift=shift.pk,
        notice=notice.pk,
        attachment=attachment.pk,
        report=report.pk,
    )


@pytest.fixture
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


# (URL name in the ``community`` namespace, the records it names, method)
PAGES = [
    ("care_detail", ("care",), "get"),
    *[("care_step", ("care", step), "post") for step in ("assign", "handle", "confirm", "reopen", "cancel")],
    ("frontline_edit", ("worker",), "get"),
    ("frontline_edit", ("worker",), "post"),
    ("volunteer_detail", ("volunteer",), "get"),
    ("volunteer_edit", ("volunteer",), "get"),
    ("volunteer_edit", ("volunteer",), "post"),
    ("pledge_sign", ("volunteer",), "post"),
    ("pledge_withdraw", ("volunteer", "signature"), "post"),
    ("service_entry_add", ("volunteer",), "post"),
    ("post_edit", ("post",), "get"),
    ("post_edit", ("post",), "post"),
    ("post_roster", ("post",), "get"),
    ("post_roster", ("post",), "post"),
    ("roster_copy", ("post",), "post"),
    ("shift_cancel", ("shift",), "post"),
    ("shift_check_in", ("shift",), "post"),
    ("shift_check_out", ("shift",), "post"),
    ("notice_detail", ("notice",), "get"),
    ("notice_edit", ("notice",), "get"),
    ("notice_edit", ("notice",), "post"),
    ("notice_publish", ("notice",), "post"),
    ("notice_withdraw", ("notice",), "post"),
    ("notice_attach", ("notice",), "post"),
    ("notice_attachment", ("notice", "attachment"), "get"),
    ("notice_attachment_remove", ("notice", "attachment"), "post"),
    ("notice_readers", ("notice",), "get"),
    ("report_detail", ("report",), "get"),
    ("report_triage", ("report",), "post"),
    ("report_note", ("report",), "post"),
    ("report_answer", ("report",), "get"),
    ("report_answer", ("report",), "post"),
    ("report_reveal", ("report",), "post"),
    ("report_photo", ("report",), "get"),
]


def _args(records: Records, names: tuple[str, ...]) -> list[Any]:
    return [getattr(records, name) if hasattr(records, name) else name for name in names]


@pytest.mark.parametrize(("name", "names", "method"), PAGES, ids=[f"{n}-{m}" for n, _a, m in PAGES])
def test_a_page_of_another_township_is_404(
    client: Any, login: Any, records: Records, name: str, names: tuple[str, ...], method: str
) -> None:
    url = reverse(f"community:{name}", args=_args(records, names))
    login(OUTSIDER)
    assert getattr(client, method)(url).status_code == 404


GET_PAGES = sorted({(name, names) for name, names, method in PAGES if method == "get"})


@pytest.mark.parametrize(("name", "names"), GET_PAGES, ids=[n for n, _a in GET_PAGES])
def test_the_same_page_opens_for_the_townships_own_officer(
    client: Any, login: Any, records: Records, name: str, names: tuple[str, ...]
) -> None:
    login(INSIDER)
    assert client.get(reverse(f"community:{name}", args=_args(records, names))).status_code == 200


# (route of the API, the record it names, method)
API = [
    ("care-request-detail", "care", "get"),
    *[(f"care-request-{step}", "care", "post") for step in ("assign", "handle", "confirm", "reopen", "cancel")],
    ("volunteer-detail", "volunteer", "get"),
    ("volunteer-detail", "volunteer", "patch"),
    ("post-detail", "post", "get"),
    ("post-detail", "post", "patch"),
    ("post-gaps", "post", "get"),
    ("shift-detail", "shift", "get"),
    ("shift-cancel", "shift", "post"),
    ("shift-check-in", "shift", "post"),
    ("shift-check-out", "shift", "post"),
    ("notice-detail", "notice", "get"),
    ("notice-detail", "notice", "patch"),
    ("notice-publish", "notice", "post"),
    ("notice-withdraw", "notice", "post"),
    ("notice-attachments", "notice", "post"),
    ("notice-readers", "notice", "get"),
    ("report-detail", "report", "get"),
    ("report-detail", "report", "patch"),
    ("report-triage", "report", "post"),
    ("report-answer", "report", "post"),
    ("report-reveal", "report", "post"),
]


@pytest.mark.parametrize(("route", "record", "method"), API, ids=[f"{r}-{m}" for r, _n, m in API])
def test_an_api_record_of_another_township_is_404(
    api: Any, records: Records, route: str, record: str, method: str
) -> None:
    url = reverse(route, args=[getattr(records, record)])
    assert getattr(api(OUTSIDER), method)(url, {}, format="json").status_code == 404


API_GETS = [(route, record) for route, record, method in API if method == "get"]


@pytest.mark.parametrize(("route", "record"), API_GETS, ids=[r for r, _n in API_GETS])
def test_the_same_api_record_answers_the_townships_own_officer(
    api: Any, records: Records, route: str, record: str
) -> None:
    url = reverse(route, args=[getattr(records, record)])
    assert api(INSIDER).get(url).status_code == 200
