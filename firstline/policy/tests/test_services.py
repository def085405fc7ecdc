from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from firstline.core import audit
from firstline.core.concurrency import StaleVersionError
from firstline.policy import selectors, services
from firstline.policy.models import EditionStatus, MeasureRule, MeasureType, PolicyEdition, Trigger
from firstline.policy.services import parse_day_numbers
from firstline.policy.tests.helpers import d

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def rule_data(**changes):
    data = {
        "measure": MeasureType.HOME_QUARANTINE,
        "duration_days": 7,
        "lookback_days": 7,
        "anchor": "left_area",
        "test_days": "1,4,7",
        "follow_on_measure": "",
        "follow_on_days": None,
        "follow_on_test_days": "",
        "stay_home_until_negative": False,
        "priority": 3,
        "note": "",
    }
    data.update(changes)
    return data


@pytest.fixture
def draft(city, edition_9th):
    return services.edition_copy(
        actor=city["cdc"], edition=edition_9th, name="Draft 2022-08", effective_from="2022-08-01"
    )


def test_copy_is_a_draft_with_all_rules_and_parameters(city, edition_9th):
    edition_9th.min_test_gap_hours = 48
    edition_9th.save(update_fields=["min_test_gap_hours"])
    copy = services.edition_copy(
        actor=city["cdc"], edition=edition_9th, name="Yushu notice", effective_from=d("2022-08-01")
    )
    assert (copy.status, copy.based_on_id, copy.effective_from, copy.name) == (
        EditionStatus.DRAFT,
        edition_9th.pk,
        d("2022-08-01"),
        "Yushu notice",
    )
    assert copy.min_test_gap_hours == 48 and copy.created_by == city["cdc"]
    original = {r.trigger: r.as_dict() | {"id": None} for r in edition_9th.rules.all()}
    copied = {r.trigger: r.as_dict() | {"id": None} for r in copy.rules.all()}
    assert copied == original and len(copied) == 5
    event = audit.history_for(copy).get(action="create")
    assert event.note == f"copied from edition #{edition_9th.pk}"
    assert event.changes["risk_high.test_days"] == [None, [1, 2, 3, 5, 7]]


def test_copy_needs_policy_edit_permission(city, edition_9th):
    with pytest.raises(PermissionDenied):
        services.edition_copy(actor=city["grid_a"], edition=edition_9th, name="x", effective_from=d("2022-08-01"))


def test_copy_names_missing_fields(city, edition_9th):
    with pytest.raises(ValidationError) as error:
        services.edition_copy(actor=city["cdc"], edition=edition_9th, name="  ", effective_from="01/08/2022")
    assert set(error.value.message_dict) == {"name", "effective_from"}


@pytest.mark.parametrize(
    ("text", "numbers"),
    [("1,2,3,5,7", [1, 2, 3, 5, 7]), ("1，4、7", [1, 4, 7]), (" 2 7 ", [2, 7]), ("", []), ([3, "5"], [3, 5])],
)
def test_day_numbers_are_read_from_text_or_lists(text, numbers):
    assert parse_day_numbers(text) == numbers


def test_rule_save_creates_a_rule_from_text_test_days(city, draft):
    services.rule_delete(actor=city["cdc"], edition=draft, trigger=Trigger.RISK_MEDIUM)
    rule = services.rule_save(
        actor=city["cdc"], edition=draft, trigger=Trigger.RISK_MEDIUM, data=rule_data(test_days="7,1,4")
    )
    assert (rule.measure, rule.duration_days, rule.lookback_days, rule.test_days) == (
        MeasureType.HOME_QUARANTINE,
        7,
        7,
        [1, 4, 7],
    )


def test_rule_save_updates_only_the_given_fields_and_bumps_the_edition(city, draft):
    version = draft.version
    rule = services.rule_save(actor=city["cdc"], edition=draft, trigger=Trigger.RISK_HIGH, data={"duration_days": 10})
    assert (rule.duration_days, rule.test_days, rule.lookback_days) == (10, [1, 2, 3, 5, 7], 7)
    draft.refresh_from_db()
    assert draft.version == version + 1
    event = audit.history_for(draft).first()
    assert event is not None and event.changes == {"risk_high.duration_days": [7, 10]}
    assert event.note == "rule risk_high changed"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"test_days": "0,1"}, "test_days", "Day 0 is not possible: day 1 is the first day of the period."),
        ({"test_days": "1,-2"}, "test_days", "Day -2 is not possible: day 1 is the first day of the period."),
        ({"test_days": "1,4,4"}, "test_days", "Day 4 is listed twice."),
        ({"test_days": "1,8"}, "test_days", "Day 8 is after the last day of the measure (7 days)."),
        ({"test_days": "1,x"}, "test_days", "“x” is not a day number: give whole numbers such as 1,2,3,5,7."),
        ({"duration_days": 0}, "duration_days", "Give a whole number from 1 to 365."),
        ({"duration_days": None}, "duration_days", "This field is required."),
        (
            {"lookback_days": None},
            "lookback_days",
            "Risk-area rules need a look-back: how many days back a stay counts.",
        ),
        ({"measure": "none"}, "measure", "Choose a measure; to require nothing for this trigger, delete the rule."),
        ({"anchor": "tomorrow"}, "anchor", "Choose where day 1 falls."),
        ({"follow_on_measure": "home_health_monitoring"}, "follow_on_days", "Give the follow-on measure's duration."),
        ({"follow_on_days": 3}, "follow_on_measure", "Choose the follow-on measure, or clear its duration."),
        (
            {"follow_on_measure": "home_health_monitoring", "follow_on_days": 3, "follow_on_test_days": "4"},
            "follow_on_test_days",
            "Day 4 is after the last day of the follow-on measure (3 days).",
        ),
    ],
)
def test_rule_validation_names_the_field_and_the_reason(city, draft, changes, field, message):
    with pytest.raises(ValidationError) as error:
        services.rule_save(actor=city["cdc"], edition=draft, trigger=Trigger.RISK_MEDIUM, data=rule_data(**changes))
    assert error.value.message_dict[field] == [message]


def test_look_back_is_refused_for_contact_rules(city, draft):
    with pytest.raises(ValidationError) as error:
        services.rule_save(actor=city["cdc"], edition=draft, trigger=Trigger.CLOSE_CONTACT, data={"lookback_days": 7})
    assert error.value.message_dict == {"lookback_days": ["A look-back applies only to risk-area triggers."]}


def test_rule_save_refuses_unknown_fields_and_triggers(city, draft):
    with pytest.raises(ValidationError) as error:
        services.rule_save(actor=city["cdc"], edition=draft, trigger=Trigger.RISK_HIGH, data={"edition": 1})
    assert "edition" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.rule_save(actor=city["cdc"], edition=draft, trigger="vip", data=rule_data())
    assert "trigger" in error.value.message_dict


def test_rule_writes_need_policy_edit_permission(city, draft):
    with pytest.raises(PermissionDenied):
        services.rule_save(actor=city["township"], edition=draft, trigger=Trigger.RISK_HIGH, data={"priority": 1})
    with pytest.raises(PermissionDenied):
        services.rule_delete(actor=city["township"], edition=draft, trigger=Trigger.RISK_HIGH)


def test_rule_delete_removes_the_rule_and_is_audited(city, draft):
    services.rule_delete(actor=city["cdc"], edition=draft, trigger=Trigger.RISK_LOW)
    assert not MeasureRule.objects.filter(edition=draft, trigger=Trigger.RISK_LOW).exists()
    event = audit.history_for(draft).first()
    assert event is not None and event.note == "rule risk_low deleted"
    assert event.changes["risk_low.duration_days"] == [3, None]
    with pytest.raises(ValidationError):
        services.rule_delete(actor=city["cdc"], edition=draft, trigger=Trigger.RISK_LOW)


def test_edition_update_changes_parameters_with_optimistic_locking(city, draft):
    updated = services.edition_update(
        actor=city["cdc"],
        edition=draft,
        expected_version=draft.version,
        data={"min_tests_when_short": 3, "expired_as_low_risk": False, "description": "Local notice No. 12"},
    )
    assert (updated.min_tests_when_short, updated.expired_as_low_risk, updated.description) == (
        3,
        False,
        "Local notice No. 12",
    )
    with pytest.raises(StaleVersionError):
        services.edition_update(actor=city["cdc"], edition=draft, expected_version=1, data={"name": "late"})


def test_edition_update_validates_parameters(city, draft):
    with pytest.raises(ValidationError) as error:
        services.edition_update(
            actor=city["cdc"],
            edition=draft,
            expected_version=draft.version,
            data={"min_test_gap_hours": 0, "name": "", "status": "published"},
        )
    assert set(error.value.message_dict) == {"status"}
    with pytest.raises(ValidationError) as error:
        services.edition_update(
            actor=city["cdc"], edition=draft, expected_version=draft.version, data={"min_test_gap_hours": 0, "name": ""}
        )
    assert error.value.message_dict == {
        "name": ["Give the edition a name."],
        "min_test_gap_hours": ["Give a whole number from 1 to 168."],
    }


def test_publish_puts_a_draft_in_force_and_tells_listeners(
    city, draft, edition_calls, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        published = services.edition_publish(actor=city["cdc"], edition=draft, expected_version=draft.version)
    assert published.status == EditionStatus.PUBLISHED
    assert edition_calls == [(draft.pk, city["cdc"])]
    assert PolicyEdition.objects.in_force_on(d("2022-08-01")) == draft
    in_force = selectors.edition_book().in_force_on(d("2022-08-01"))
    assert in_force is not None and in_force.id == draft.pk


def test_publish_refuses_an_edition_without_rules(city, draft, edition_calls):
    MeasureRule.objects.filter(edition=draft).delete()
    with pytest.raises(ValidationError) as error:
        services.edition_publish(actor=city["cdc"], edition=draft, expected_version=draft.version)
    assert error.value.message_dict == {
        "rules": ["An edition without rules cannot be published: add at least one rule."]
    }
    assert edition_calls == []


def test_publish_refuses_a_second_published_edition_on_the_same_date(city, edition_9th):
    copy = services.edition_copy(actor=city["cdc"], edition=edition_9th, name="same day", effective_from="2022-06-28")
    with pytest.raises(ValidationError) as error:
        services.edition_publish(actor=city["cdc"], edition=copy, expected_version=copy.version)
    assert error.value.message_dict == {
        "effective_from": ["Another published edition already takes effect on 2022-06-28: choose another date."]
    }


def test_publish_refuses_an_already_published_edition_and_a_stale_version(city, draft, edition_9th):
    with pytest.raises(ValidationError):
        services.edition_publish(actor=city["cdc"], edition=edition_9th, expected_version=edition_9th.version)
    with pytest.raises(StaleVersionError):
        services.edition_publish(actor=city["cdc"], edition=draft, expected_version=draft.version - 1)


def test_publish_needs_policy_edit_permission(city, draft):
    with pytest.raises(PermissionDenied):
        services.edition_publish(actor=city["grid_a"], edition=draft, expected_version=draft.version)


def test_changing_a_published_edition_tells_listeners(
    city, edition_9th, edition_calls, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.rule_save(actor=city["city"], edition=edition_9th, trigger=Trigger.RISK_LOW, data={"priority": 2})
    with django_capture_on_commit_callbacks(execute=True):
        services.edition_update(
            actor=city["city"],
            edition=edition_9th,
            expected_version=edition_9th.version + 1,
            data={"min_test_gap_hours": 48},
        )
    edition_9th.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.rule_delete(actor=city["city"], edition=edition_9th, trigger=Trigger.RISK_LOW)
    assert edition_calls == [(edition_9th.pk, city["city"])] * 3


def test_changing_a_draft_tells_no_listener(city, draft, edition_calls, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.rule_save(actor=city["cdc"], edition=draft, trigger=Trigger.RISK_LOW, data={"priority": 2})
        services.edition_update(
            actor=city["cdc"], edition=draft, expected_version=draft.version + 1, data={"name": "y"}
        )
    assert edition_calls == []


def test_an_unchanged_rule_save_writes_nothing(city, draft, edition_calls):
    version = draft.version
    services.rule_save(actor=city["cdc"], edition=draft, trigger=Trigger.RISK_LOW, data={"priority": 1})
    draft.refresh_from_db()
    assert draft.version == version
    assert not audit.history_for(draft).filter(action="update").exists()


def test_moving_a_published_edition_onto_another_ones_date_is_refused(city, edition_9th, edition_2021):
    with pytest.raises(ValidationError) as error:
        services.edition_update(
            actor=city["cdc"],
            edition=edition_9th,
            expected_version=edition_9th.version,
            data={"effective_from": edition_2021.effective_from},
        )
    assert list(error.value.message_dict) == ["effective_from"]
