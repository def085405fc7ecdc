from __future__ import annotations

import datetime

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from firstline.core import audit
from firstline.core.models import AuditAction
from firstline.policy import selectors, services
from firstline.policy.models import (
    EditionStatus,
    Measure,
    MeasureRule,
    MeasureStatus,
    MeasureType,
    PolicyEdition,
    Trigger,
)
from firstline.policy.tests.helpers import d, reach

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def get(client, url, **params):
    return client.get(url, params, HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def draft(city, edition_9th):
    return services.edition_copy(
        actor=city["cdc"], edition=edition_9th, name="Draft notice", effective_from="2022-08-01"
    )


@pytest.fixture
def measure(city, edition_9th):
    """A stored close-contact measure for person A (grid A)."""
    decision = reach(selectors.edition_book(), Trigger.CLOSE_CONTACT, last="2022-07-10", today="2022-07-11")
    assert decision.counted_from and decision.start and decision.end
    measure = Measure.objects.create(
        person=city.person_a,
        path=city.person_a.path,
        edition=edition_9th,
        trigger=Trigger.CLOSE_CONTACT,
        measure_type=decision.measure,
        counted_from=decision.counted_from,
        start=decision.start,
        end=decision.end,
        test_dates=[day.isoformat() for day in decision.test_dates],
        follow_on_type=decision.follow_on,
        follow_on_start=decision.follow_on_start,
        follow_on_end=decision.follow_on_end,
        follow_on_test_dates=[day.isoformat() for day in decision.follow_on_test_dates],
        explanation=decision.explanation(),
    )
    audit.record(actor=None, action=AuditAction.CREATE, instance=measure, changes={"status": [None, "active"]})
    return measure


# --- editions list ----------------------------------------------------------------------------------------------


def test_edition_list_highlights_the_edition_in_force_today(client, login, edition_9th, edition_2021):
    login("grid_a")
    response = get(client, reverse("policy:list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-edition="{edition_9th.pk}"' in page and f'data-edition="{edition_2021.pk}"' in page
    assert response.context["in_force_now"] == edition_9th
    assert page.count('data-testid="in-force-badge"') == 1


def test_edition_list_tells_which_edition_was_in_force_on_a_chosen_date(client, login, edition_2021):
    login("volunteer")
    response = get(client, reverse("policy:list"), on="2022-06-27")
    assert response.context["in_force_on_day"] == edition_2021
    assert 'data-testid="in-force-on"' in response.content.decode()


def test_edition_list_filters_by_status_and_name(client, login, draft):
    login("grid_a")
    response = get(client, reverse("policy:list"), status="draft")
    assert [e.pk for e in response.context["page_obj"]] == [draft.pk]
    response = get(client, reverse("policy:list"), q="第九版")
    assert [e.name for e in response.context["page_obj"]] == ["第九版防控方案"]


def test_edition_list_exports_csv(client, login):
    login("cdc")
    response = get(client, reverse("policy:list"), export="csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.splitlines()
    assert lines[0] == "Edition,In force from,Status,In force today,Rules,Copied from,Version"
    assert lines[1:] == [
        "第九版防控方案,2022-06-28,published,yes,5,,1",
        "2021年实践（第八版防控方案）,2021-05-11,published,,6,,1",
    ]


def test_edition_list_refuses_an_unknown_export_format(client, login):
    login("cdc")
    assert get(client, reverse("policy:list"), export="pdf").status_code == 400


def test_edition_list_query_count_does_not_grow_with_editions(
    client, login, city, edition_9th, django_assert_max_num_queries
):
    for number in range(30):
        services.edition_copy(
            actor=city["cdc"], edition=edition_9th, name=f"copy {number}", effective_from=datetime.date(2023, 1, 1)
        )
    login("grid_a")
    with django_assert_max_num_queries(12):
        response = get(client, reverse("policy:list"))
    assert response.context["page_obj"].paginator.count == 32


def test_pages_need_a_signed_in_user(client, edition_9th):
    assert client.get(reverse("policy:list")).status_code == 302
    assert client.get(reverse("policy:detail", args=[edition_9th.pk])).status_code == 302


# --- edition page -------------------------------------------------------------------------------------------------


def test_edition_page_shows_the_rules_as_the_domain_table(client, login, edition_2021):
    login("grid_a")
    response = get(client, reverse("policy:detail", args=[edition_2021.pk]))
    assert response.status_code == 200
    assert [rule.trigger for rule in response.context["rules"]] == [
        "close_contact",
        "secondary_contact",
        "risk_high",
        "risk_medium",
        "risk_low",
        "companion",
    ]
    page = response.content.decode()
    assert "14 days" in page and "1, 4, 7, 14" in page and "home health monitoring, 7 days" in page
    assert "1, 4, 7, 10, 14" in page and "stay home until a negative result" in page
    # Readers cannot edit.
    assert reverse("policy:copy", args=[edition_2021.pk]) not in page


def test_edition_page_of_a_missing_edition_is_404(client, login):
    login("grid_a")
    assert get(client, reverse("policy:detail", args=[99999])).status_code == 404


def test_edition_page_offers_editing_to_policy_editors(client, login, draft):
    login("cdc")
    page = get(client, reverse("policy:detail", args=[draft.pk])).content.decode()
    assert reverse("policy:publish", args=[draft.pk]) in page
    assert reverse("policy:rule", args=[draft.pk, "close_contact"]) in page
    # The 第九版防控方案 has no companion rule: the draft offers to add one.
    assert 'data-add-rule="companion"' in page


def test_edition_history_tab_lists_rule_changes(client, login, city, draft):
    services.rule_save(actor=city["cdc"], edition=draft, trigger=Trigger.RISK_HIGH, data={"duration_days": 10})
    login("city")
    response = get(client, reverse("policy:detail", args=[draft.pk]), tab="history")
    assert response.status_code == 200
    assert "risk_high.duration_days" in response.content.decode()


# --- try it ---------------------------------------------------------------------------------------------------------


def test_try_runs_a_draft_edition_on_typed_evidence(client, login, city, draft):
    services.rule_save(
        actor=city["cdc"],
        edition=draft,
        trigger=Trigger.RISK_HIGH,
        data={"follow_on_measure": "home_health_monitoring", "follow_on_days": 7},
    )
    login("grid_a")
    response = get(
        client,
        reverse("policy:try", args=[draft.pk]),
        trigger="risk_high",
        place="北京市丰台区花乡地区",
        first_day="2022-08-01",
        last_day="2022-08-01",
        arrival_date="2022-08-04",
    )
    assert response.status_code == 200
    decision = response.context["result"]["decision"]
    assert (decision.measure, decision.start, decision.end, decision.follow_on_end) == (
        "centralised_quarantine",
        d("2022-08-04"),
        d("2022-08-08"),
        d("2022-08-15"),
    )
    page = response.content.decode()
    assert "Was in 北京市丰台区花乡地区 on 2022-08-01." in page
    assert 'data-test-date="2022-08-04"' in page and 'data-test-date="2022-08-02"' not in page


def test_try_answers_htmx_with_the_result_only(client, login, edition_9th):
    login("grid_a")
    response = client.get(
        reverse("policy:try", args=[edition_9th.pk]),
        {"trigger": "close_contact", "first_day": "2022-07-10", "last_day": "2022-07-10", "today": "2022-07-11"},
        HTTP_HX_REQUEST="true",
    )
    assert response.templates[0].name == "policy/_try_result.html"
    assert 'data-measure="centralised_quarantine"' in response.content.decode()


def test_try_shows_form_errors(client, login, edition_9th):
    login("grid_a")
    response = get(
        client,
        reverse("policy:try", args=[edition_9th.pk]),
        trigger="risk_high",
        first_day="2022-07-10",
        last_day="2022-07-01",
    )
    assert response.context["result"] is None
    assert "The last day is before the first day." in response.content.decode()


# --- editing --------------------------------------------------------------------------------------------------------


def test_copy_page_creates_a_draft(client, login, edition_9th):
    login("cdc")
    assert get(client, reverse("policy:copy", args=[edition_9th.pk])).status_code == 200
    response = client.post(
        reverse("policy:copy", args=[edition_9th.pk]), {"name": "Yushu 2022-09", "effective_from": "2022-09-01"}
    )
    copy = PolicyEdition.objects.get(name="Yushu 2022-09")
    assert response.status_code == 302 and response.url == reverse("policy:detail", args=[copy.pk])
    assert copy.status == EditionStatus.DRAFT and copy.rules.count() == 5


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("get", "policy:copy", ()),
        ("get", "policy:edit", ()),
        ("get", "policy:rule", ("risk_high",)),
        ("post", "policy:rule_delete", ("risk_high",)),
        ("post", "policy:publish", ()),
    ],
)
def test_editing_pages_are_forbidden_without_policy_edit(client, login, draft, method, name, args):
    login("township")
    response = getattr(client, method)(reverse(name, args=[draft.pk, *args]))
    assert response.status_code == 403
    assert MeasureRule.objects.filter(edition=draft, trigger="risk_high").exists()


def test_edit_page_saves_parameters(client, login, draft):
    login("cdc")
    form = get(client, reverse("policy:edit", args=[draft.pk]))
    assert form.status_code == 200
    data = {
        "name": "Draft notice",
        "effective_from": "2022-08-01",
        "description": "",
        "infectious_days_before": 4,
        "min_tests_when_short": 2,
        "min_test_gap_hours": 24,
        "expired_as_low_risk": "on",
        "version": draft.version,
    }
    response = client.post(reverse("policy:edit", args=[draft.pk]), data)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.infectious_days_before, draft.lifting_shortens_measures, draft.version) == (4, False, 2)


def test_edit_page_reports_a_stale_version(client, login, draft):
    login("cdc")
    data = {
        "name": "Renamed",
        "effective_from": "2022-08-01",
        "infectious_days_before": 2,
        "min_tests_when_short": 2,
        "min_test_gap_hours": 24,
        "version": draft.version - 1,
    }
    response = client.post(reverse("policy:edit", args=[draft.pk]), data)
    assert response.status_code == 200 and 'data-testid="stale"' in response.content.decode()


def test_rule_page_adds_a_rule_with_text_test_days(client, login, draft):
    login("cdc")
    url = reverse("policy:rule", args=[draft.pk, "companion"])
    assert get(client, url).status_code == 200
    response = client.post(
        url,
        {
            "measure": "tests_only",
            "duration_days": 3,
            "anchor": "notified",
            "test_days": "1, 2",
            "stay_home_until_negative": "on",
            "priority": 1,
        },
    )
    assert response.status_code == 302
    rule = MeasureRule.objects.get(edition=draft, trigger="companion")
    assert (rule.test_days, rule.stay_home_until_negative, rule.anchor) == ([1, 2], True, "notified")


def test_rule_page_shows_errors_on_the_named_fields(client, login, draft):
    login("cdc")
    response = client.post(
        reverse("policy:rule", args=[draft.pk, "risk_high"]),
        {
            "measure": "centralised_quarantine",
            "duration_days": 7,
            "anchor": "left_area",
            "test_days": "0,9",
            "lookback_days": "",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["test_days"] == [
        "Day 0 is not possible: day 1 is the first day of the period.",
        "Day 9 is after the last day of the measure (7 days).",
    ]
    assert form.errors["lookback_days"] == ["Risk-area rules need a look-back: how many days back a stay counts."]


def test_rule_page_of_a_published_edition_warns_of_re_evaluation(client, login, edition_9th):
    login("cdc")
    page = get(client, reverse("policy:rule", args=[edition_9th.pk, "risk_high"])).content.decode()
    assert 'data-testid="published-warning"' in page


def test_rule_page_of_an_unknown_trigger_is_404(client, login, draft):
    login("cdc")
    assert get(client, reverse("policy:rule", args=[draft.pk, "vip"])).status_code == 404


def test_rule_delete_removes_the_rule(client, login, draft):
    login("cdc")
    response = client.post(reverse("policy:rule_delete", args=[draft.pk, "risk_low"]))
    assert response.status_code == 302
    assert not draft.rules.filter(trigger="risk_low").exists()


def test_publish_page_publishes_a_draft(client, login, draft, edition_calls):
    login("city")
    response = client.post(reverse("policy:publish", args=[draft.pk]), {"version": draft.version})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == EditionStatus.PUBLISHED


def test_publish_page_reports_refusals(client, login, city, edition_9th):
    copy = services.edition_copy(actor=city["cdc"], edition=edition_9th, name="same day", effective_from="2022-06-28")
    login("cdc")
    response = client.post(reverse("policy:publish", args=[copy.pk]), {"version": copy.version}, follow=True)
    assert "Another published edition already takes effect on 2022-06-28" in response.content.decode()
    copy.refresh_from_db()
    assert copy.status == EditionStatus.DRAFT


# --- measures -------------------------------------------------------------------------------------------------------


def test_measure_page_shows_dates_tests_follow_on_and_explanation(client, login, measure):
    login("grid_a")
    response = get(client, reverse("policy:measure", args=[measure.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "2022-07-11 – 2022-07-17" in page
    assert 'data-test-date="2022-07-20"' in page
    assert response.context["lines"][0] == (
        "Under “第九版防控方案” (in force from 2022-06-28), the rule for “close contact” applies."
    )
    assert len(response.context["events"]) == 1


def test_measure_page_out_of_scope_is_404(client, login, measure):
    login("grid_b")
    assert get(client, reverse("policy:measure", args=[measure.pk])).status_code == 404
    assert get(client, reverse("policy:measure", args=[measure.pk + 1000])).status_code == 404


def test_person_page_panel_is_registered_and_lists_the_measures(rf, city, measure):
    # The person page renders every registered panel; this one is rendered alone so that other apps' panels do
    # not take part in the test.
    from firstline.core.panels import _panels
    from firstline.people.models import Person

    panel = next(p for p in _panels[Person] if p.key == "measures")
    assert (panel.order, panel.template) == (20, "policy/_person_measures.html")
    request = rf.get("/")
    request.user = city["grid_a"]
    with translation.override("en"):
        html = render_to_string(panel.template, panel.context(request, city.person_a), request=request)
    assert reverse("policy:measure", args=[measure.pk]) in html
    assert "2022-07-11 – 2022-07-17" in html
    assert "Under “第九版防控方案”" in html


def test_person_panel_shows_the_next_test_date(rf, city, measure):
    from firstline.policy.panels import _person_measures

    request = rf.get("/")
    request.user = city["grid_a"]
    measure.test_dates = ["2000-01-01", "2999-01-05", "2999-01-02"]
    measure.save(update_fields=["test_dates"])
    context = _person_measures(request, city.person_a)
    assert [item["next_test"] for item in context["measures"]] == [datetime.date(2999, 1, 2)]


def test_person_panel_shows_nothing_out_of_scope(rf, city, measure):
    from firstline.policy.panels import _person_measures

    request = rf.get("/")
    request.user = city["grid_b"]
    assert _person_measures(request, city.person_a)["measures"] == []


def test_measure_status_and_type_labels(measure):
    assert (measure.status, measure.measure_type) == (MeasureStatus.ACTIVE, MeasureType.CENTRALISED_QUARANTINE)
