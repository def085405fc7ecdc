from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from firstline.core.models import AuditAction, AuditEvent
from firstline.riskareas import services
from firstline.riskareas.models import RiskArea

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def areas(city):
    cdc = city["cdc"]
    high = services.risk_area_create(
        actor=cdc, place="北京市丰台区花乡地区", level="high", effective_from=D(2022, 5, 1), source_notice="一号"
    )
    services.risk_area_change_level(
        actor=cdc, area=high, expected_version=1, level="medium", effective_on=D(2022, 5, 8)
    )
    lifted = services.risk_area_create(
        actor=cdc, place="天津市津南区辛庄镇", level="medium", effective_from=D(2022, 5, 2), lifted_at=D(2022, 5, 9)
    )
    unknown = services.risk_area_create(actor=cdc, place="火星县某村", level="low", effective_from=D(2022, 5, 3))
    return {"changed": RiskArea.objects.get(pk=high.pk), "lifted": lifted, "unknown": unknown}


def _ids(response) -> list[int]:
    return [area.pk for area in response.context["page_obj"]]


# --- list ------------------------------------------------------------------------------------------------


def test_the_list_needs_a_login(client, city):
    response = client.get(reverse("riskareas:list"))
    assert response.status_code == 302 and "/accounts/" in response["Location"]


def test_every_signed_in_user_reads_the_list(client, login, areas):
    login("grid_a")
    response = client.get(reverse("riskareas:list"))
    assert response.status_code == 200
    assert set(_ids(response)) == {a.pk for a in areas.values()}
    assert "北京市丰台区花乡地区" in response.content.decode()
    assert reverse("riskareas:create") not in response.content.decode()  # no edit buttons without the permission


def test_editors_see_the_bulk_entry_links(client, login, areas):
    login("cdc")
    body = client.get(reverse("riskareas:list")).content.decode()
    assert reverse("riskareas:paste") in body and reverse("riskareas:upload") in body


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"level": "medium"}, {"changed", "lifted"}),
        ({"in_force_on": "2022-05-09"}, {"changed", "unknown"}),
        ({"in_force_on": "2022-05-02"}, {"changed", "lifted"}),
        ({"status": "lifted"}, {"lifted"}),
        ({"status": "open"}, {"changed", "unknown"}),
        ({"needs_review": "on"}, {"unknown"}),
        ({"q": "丰台"}, {"changed"}),
        ({"q": "1101"}, {"changed"}),
        ({"q": "一号"}, {"changed"}),
    ],
)
def test_list_filters(client, login, areas, params, expected):
    login("grid_a")
    assert set(_ids(client.get(reverse("riskareas:list"), params))) == {areas[key].pk for key in expected}


def test_the_list_pages_and_answers_htmx_with_the_results_only(client, login, city):
    for i in range(55):
        services.risk_area_create(
            actor=city["cdc"], place=f"北京市丰台区{i}号院", level="high", effective_from=D(2022, 5, 1)
        )
    login("grid_a")
    first = client.get(reverse("riskareas:list"))
    assert len(_ids(first)) == 50 and first.context["page_obj"].paginator.count == 55
    second = client.get(reverse("riskareas:list"), {"page": 2}, HTTP_HX_REQUEST="true")
    assert len(_ids(second)) == 5
    assert second.templates[0].name == "riskareas/_results.html"


def test_the_list_query_count_does_not_grow_with_the_rows(client, login, city, django_assert_max_num_queries):
    for i in range(30):
        area = services.risk_area_create(
            actor=city["cdc"], place=f"北京市丰台区{i}号院", level="high", effective_from=D(2022, 5, 1)
        )
        services.risk_area_change_level(
            actor=city["cdc"], area=area, expected_version=1, level="low", effective_on=D(2022, 5, 5)
        )
    login("grid_a")
    with django_assert_max_num_queries(10):  # session, user, scope, count, page, periods …
        response = client.get(reverse("riskareas:list"))
    assert response.status_code == 200 and len(_ids(response)) == 30


def test_export_csv_holds_the_filtered_rows_and_is_audited(client, login, areas):
    account = login("grid_a")
    response = client.get(reverse("riskareas:list"), {"export": "csv", "level": "medium"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert len(lines) == 3
    assert "北京市丰台区花乡地区,110106,花乡地区" in body and "天津市津南区辛庄镇" in body
    assert "high 2022-05-01–2022-05-08; medium 2022-05-08–" in body
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, actor=account).count() == 1


def test_export_xlsx_and_unknown_format(client, login, areas):
    login("grid_a")
    xlsx = client.get(reverse("riskareas:list"), {"export": "xlsx"})
    assert xlsx.status_code == 200 and xlsx["Content-Disposition"].endswith('.xlsx"')
    assert client.get(reverse("riskareas:list"), {"export": "pdf"}).status_code == 400


# --- detail ----------------------------------------------------------------------------------------------


def test_the_detail_shows_the_level_history(client, login, areas):
    login("grid_a")
    response = client.get(reverse("riskareas:detail", args=[areas["changed"].pk]))
    assert response.status_code == 200
    assert [(p.level, p.valid_from, p.valid_until) for p in response.context["periods"]] == [
        ("high", D(2022, 5, 1), D(2022, 5, 8)),
        ("medium", D(2022, 5, 8), None),
    ]
    assert reverse("riskareas:level", args=[areas["changed"].pk]) not in response.content.decode()


def test_the_history_tab_lists_the_audit_events(client, login, areas):
    login("grid_a")
    response = client.get(reverse("riskareas:detail", args=[areas["changed"].pk]), {"tab": "history"})
    assert [event.action for event, _changes in response.context["events"]] == [AuditAction.UPDATE, AuditAction.CREATE]


def test_a_missing_area_is_404(client, login, areas):
    login("grid_a")
    assert client.get(reverse("riskareas:detail", args=[999999])).status_code == 404
    login("cdc")
    for name in ("edit", "level", "lift"):
        assert client.get(reverse(f"riskareas:{name}", args=[999999])).status_code == 404


# --- edit pages need the permission ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["create", "paste", "upload"])
def test_grid_workers_may_not_open_the_entry_pages(client, login, city, name):
    login("grid_a")
    assert client.get(reverse(f"riskareas:{name}")).status_code == 403
    assert client.post(reverse(f"riskareas:{name}"), {}).status_code == 403


@pytest.mark.parametrize("name", ["edit", "level", "lift"])
def test_grid_workers_may_not_change_an_area(client, login, areas, name):
    login("grid_a")
    url = reverse(f"riskareas:{name}", args=[areas["changed"].pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"version": 2, "level": "high", "effective_on": "2022-05-10"}).status_code == 403
    assert RiskArea.objects.get(pk=areas["changed"].pk).version == 2


def test_creating_an_area_through_the_form(client, login, city):
    login("cdc")
    assert client.get(reverse("riskareas:create")).status_code == 200
    response = client.post(
        reverse("riskareas:create"),
        {"place": "西安市雁塔区电子城街道", "level": "high", "effective_from": "2022-05-01", "source_notice": "陕"},
    )
    area = RiskArea.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("riskareas:detail", args=[area.pk])
    assert (area.division_code, area.scope_text, area.created_by) == ("610113", "电子城街道", city["cdc"])


def test_the_create_form_shows_the_services_field_errors(client, login, areas):
    login("cdc")
    response = client.post(
        reverse("riskareas:create"),
        {
            "place": "北京市丰台区花乡地区",
            "division_code": "12",
            "level": "high",
            "effective_from": "2022-05-03",
            "lifted_at": "2022-05-02",
        },
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"lifted_at"}
    response = client.post(
        reverse("riskareas:create"), {"place": "北京市丰台区花乡地区", "level": "high", "effective_from": "2022-05-03"}
    )
    assert "place" in response.context["form"].errors  # already listed
    assert RiskArea.objects.count() == 3


def test_correcting_an_area_and_a_stale_form(client, login, areas):
    area = areas["unknown"]
    login("cdc")
    url = reverse("riskareas:edit", args=[area.pk])
    assert client.get(url).status_code == 200
    data = {
        "place": area.place,
        "division_code": "632701",
        "scope_text": area.scope_text,
        "source_notice": "",
        "version": 1,
    }
    assert client.post(url, data).status_code == 302
    area.refresh_from_db()
    assert (area.division_code, area.needs_review, area.version) == ("632701", False, 2)
    stale = client.post(url, {**data, "source_notice": "another", "version": 1})
    assert stale.status_code == 200 and stale.context["stale_changes"]
    assert RiskArea.objects.get(pk=area.pk).source_notice == ""


def test_changing_the_level_through_the_form(client, login, areas):
    area = areas["changed"]
    login("cdc")
    url = reverse("riskareas:level", args=[area.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"level": "high", "effective_on": "2022-05-12", "source_notice": "三号", "version": 2})
    assert response.status_code == 302
    area.refresh_from_db()
    assert (area.level, area.effective_from, area.periods.count()) == ("high", D(2022, 5, 12), 3)
    refused = client.post(url, {"level": "low", "effective_on": "2022-05-01", "version": 3})
    assert refused.status_code == 200 and "effective_on" in refused.context["form"].errors


def test_lifting_through_the_form(client, login, areas):
    area = areas["changed"]
    login("cdc")
    url = reverse("riskareas:lift", args=[area.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"lifted_on": "2022-05-20", "version": 2}).status_code == 302
    area.refresh_from_db()
    assert area.lifted_at == D(2022, 5, 20)


# --- paste a notice ----------------------------------------------------------------------------------------

NOTICE = (
    "高风险地区（2个）：\n1.北京市丰台区：花乡地区、卢沟桥街道\n中风险地区：\n①火星县某村\n"
    "以上地区请勿前往，如有旅居史请报备。"
)


def test_pasting_a_notice_previews_the_areas_without_saving(client, login, city):
    login("cdc")
    response = client.post(
        reverse("riskareas:paste"), {"text": NOTICE, "effective_from": "2022-05-01", "source_notice": "京"}
    )
    assert response.status_code == 200
    preview = response.context["preview"]
    usable = [
        (item["line"].place, item["values"].division_code, item["outcome"]) for item in preview if item["line"].usable
    ]
    assert usable == [
        ("北京市丰台区花乡地区", "110106", "created"),
        ("北京市丰台区卢沟桥街道", "110106", "created"),
        ("火星县某村", "", "created"),
    ]
    assert [item["line"].line_no for item in preview if not item["line"].usable] == [5]
    body = response.content.decode()
    assert "未识别" in body and 'data-testid="confirm"' in body
    assert RiskArea.objects.count() == 0


def test_confirming_a_pasted_notice_saves_all_its_areas(
    client, login, city, area_changes, django_capture_on_commit_callbacks
):
    login("cdc")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("riskareas:paste"),
            {"text": NOTICE, "effective_from": "2022-05-01", "source_notice": "京", "confirm": "1"},
        )
    assert response.status_code == 302 and response["Location"] == reverse("riskareas:list")
    assert sorted(RiskArea.objects.values_list("place", "level", "source_notice", "effective_from")) == [
        ("北京市丰台区卢沟桥街道", "high", "京", D(2022, 5, 1)),
        ("北京市丰台区花乡地区", "high", "京", D(2022, 5, 1)),
        ("火星县某村", "medium", "京", D(2022, 5, 1)),
    ]
    assert sorted(c.kind for c in area_changes[0][0]) == ["created"] * 3


def test_a_pasted_notice_with_a_bad_area_saves_nothing(client, login, areas):
    login("cdc")
    text = "低风险地区：\n北京市丰台区花乡地区\n天津市津南区辛庄镇2号"
    response = client.post(reverse("riskareas:paste"), {"text": text, "effective_from": "2022-05-08", "confirm": "1"})
    assert response.status_code == 200
    [bad] = [item for item in response.context["preview"] if item.get("errors")]
    assert bad["line"].place == "北京市丰台区花乡地区" and bad["errors"][0].startswith("level")
    assert RiskArea.objects.count() == 3


# --- upload ------------------------------------------------------------------------------------------------


def _upload(text: str, name: str = "areas.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8-sig"), content_type="text/csv")


def test_uploading_checks_first_then_saves_on_confirmation(client, login, city):
    login("cdc")
    csv_text = (
        "地区,风险等级,起始日期,解除日期\n"
        "北京市丰台区花乡地区,高,2022-05-01,\n"
        "天津市津南区辛庄镇,中,2022-05-02,2022-05-09\n"
    )
    checked = client.post(reverse("riskareas:upload"), {"file": _upload(csv_text), "source_notice": "文件"})
    assert checked.status_code == 200
    assert (checked.context["report"].created, checked.context["report"].errors) == (2, [])
    assert RiskArea.objects.count() == 0
    saved = client.post(reverse("riskareas:upload"), {"token": checked.context["token"]})
    assert saved.status_code == 302
    assert sorted(RiskArea.objects.values_list("place", "lifted_at", "source_notice")) == [
        ("北京市丰台区花乡地区", None, "文件"),
        ("天津市津南区辛庄镇", D(2022, 5, 9), "文件"),
    ]
    again = client.post(reverse("riskareas:upload"), {"token": checked.context["token"]})
    assert again.status_code == 302 and RiskArea.objects.count() == 2  # the token was used up


def test_an_upload_with_row_errors_shows_them_and_offers_no_confirmation(client, login, city):
    login("cdc")
    csv_text = (
        "place,level,effective_from\n北京市丰台区花乡地区,high,2022-05-01\n天津市津南区辛庄镇,urgent,2022-05-02\n"
    )
    response = client.post(reverse("riskareas:upload"), {"file": _upload(csv_text)})
    assert [(e["row"], e["field"]) for e in response.context["report"].errors] == [(3, "level")]
    assert "token" not in response.context
    assert 'data-testid="row-errors"' in response.content.decode()


def test_an_unreadable_upload_is_a_form_error(client, login, city):
    login("cdc")
    response = client.post(reverse("riskareas:upload"), {"file": _upload("place,notes\nx,y\n")})
    assert "file" in response.context["form"].errors
    response = client.post(reverse("riskareas:upload"), {"file": _upload("x", name="areas.pdf")})
    assert "file" in response.context["form"].errors
