"""Cases, exposures and derived contacts: windows, close and secondary contacts, release, co-presence."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from firstline.dispatch.models import Task
from firstline.policy.engine import EditionBook, EditionSpec
from firstline.policy.models import Measure, MeasureStatus, PolicyEdition
from firstline.tracing import services
from firstline.tracing.models import (
    Case,
    Contact,
    ContactKind,
    ContactStatus,
    Exposure,
    ExposureOrigin,
    ExposureStatus,
)
from firstline.tracing.tests.factories import at, confirmed_case, days_ago, member, venue, visit
from firstline.tracing.windows import infectious_window

pytestmark = pytest.mark.django_db


def _book(days: int = 2, from_negative: bool = False) -> EditionBook:
    edition = EditionSpec(
        id=1,
        name="test",
        effective_from=datetime.date(2020, 1, 1),
        rules={},
        infectious_days_before=days,
        window_from_last_negative=from_negative,
    )
    return EditionBook((edition,))


D = datetime.date


def _measure(contact: Contact) -> Measure:
    assert contact.measure is not None
    return contact.measure


# -- infectious windows ---------------------------------------------------------------------------------------------


def test_window_starts_two_days_before_onset_and_ends_at_isolation():
    window = infectious_window(
        book=_book(), onset_date=D(2021, 10, 10), sampling_date=D(2021, 10, 11), last_negative_date=None,
        report_date=D(2021, 10, 12), isolated_on=D(2021, 10, 11), routine_testing=False,
    )  # fmt: skip
    assert (window.start, window.end) == (D(2021, 10, 8), D(2021, 10, 11))


def test_asymptomatic_window_counts_from_sampling_and_ends_at_report_without_isolation_day():
    window = infectious_window(
        book=_book(), onset_date=None, sampling_date=D(2021, 10, 11), last_negative_date=None,
        report_date=D(2021, 10, 12), isolated_on=None, routine_testing=False,
    )  # fmt: skip
    assert (window.start, window.end) == (D(2021, 10, 9), D(2021, 10, 12))


def test_window_length_is_the_editions_data():
    window = infectious_window(
        book=_book(days=4), onset_date=D(2021, 10, 10), sampling_date=None, last_negative_date=None,
        report_date=D(2021, 10, 12), isolated_on=None, routine_testing=False,
    )  # fmt: skip
    assert window.start == D(2021, 10, 6)


@pytest.mark.parametrize(("routine", "flag", "expected"), [(True, True, 9), (False, True, 8), (True, False, 8)])
def test_ninth_edition_rule_starts_at_the_last_negative_test_for_routine_testing(routine, flag, expected):
    window = infectious_window(
        book=_book(from_negative=flag), onset_date=None, sampling_date=D(2021, 10, 10),
        last_negative_date=D(2021, 10, 9), report_date=D(2021, 10, 11), isolated_on=None, routine_testing=routine,
    )  # fmt: skip
    assert window.start == D(2021, 10, expected)


def test_shipped_editions_window_parameters():
    eighth = PolicyEdition.objects.get(name="2021年实践（第八版防控方案）")
    ninth = PolicyEdition.objects.get(name="第九版防控方案")
    assert (eighth.infectious_days_before, eighth.window_from_last_negative) == (2, False)
    assert (ninth.infectious_days_before, ninth.window_from_last_negative) == (2, True)


# -- cases ----------------------------------------------------------------------------------------------------------


def test_onset_after_report_is_refused_naming_the_field(city):
    with pytest.raises(ValidationError) as error:
        confirmed_case(city["cdc"], city.person_a, onset=days_ago(1), report=days_ago(2))
    assert "onset_date" in error.value.message_dict


def test_only_the_cdc_reports_cases(city):
    with pytest.raises(PermissionDenied):
        confirmed_case(city["grid_a"], city.person_a, onset=days_ago(2))


def test_confirming_alerts_the_cdc_and_the_township(city):
    result = confirmed_case(city["cdc"], city.person_a, onset=days_ago(2))
    alerts = Task.objects.filter(kind="case_alert", object_id=str(result.case.pk))
    assert {t.assignee_user.username for t in alerts if t.assignee_user} == {"cdc", "township"}
    assert all(t.priority == 4 for t in alerts)


def test_a_case_for_a_new_person_registers_them(city):
    from conftest import valid_id

    result = services.case_create(
        actor=city["cdc"],
        person_data={"name": "新病例", "id_type": "resident", "id_number": valid_id("63270119950101007"), "phone": ""},
        values={"classification": "suspected", "report_date": days_ago(0)},
    )
    assert result.case.person.name == "新病例"


# -- close contacts -------------------------------------------------------------------------------------------------


def test_household_members_become_close_contacts_with_the_editions_measure_and_grid_tasks(city):
    # Given a case whose household has another member
    wife = member(city.household_a, "卓玛", "63270119880808004")
    # When the case is confirmed (reported and isolated today)
    result = confirmed_case(city["cdc"], city.person_a, onset=days_ago(2), report=days_ago(0))
    # Then the household exposure is accepted pending verification, and the wife is a close contact
    exposure = Exposure.objects.get(exposed=wife)
    assert (exposure.origin, exposure.status) == (ExposureOrigin.HOUSEHOLD, ExposureStatus.PENDING)
    contact = Contact.objects.get(person=wife)
    assert contact.kind == ContactKind.CLOSE and contact.status == ContactStatus.ACTIVE
    assert [c.person_id for c in result.derivation.created] == [wife.pk]
    measure = _measure(contact)
    assert measure.measure_type == "centralised_quarantine"
    assert measure.trigger == "close_contact"
    # 9th edition: 7 days counted from the day after the last exposure (today: the case was isolated today)
    assert measure.counted_from == days_ago(-1)
    assert measure.explanation["evidence"]["source_label"] == "扎西多杰"
    kinds = set(
        Task.objects.filter(object_id=str(contact.pk), kind__startswith="contact_").values_list("kind", flat=True)
    )
    assert kinds == {"contact_control", "contact_follow_up"}
    control = Task.objects.get(object_id=str(contact.pk), kind="contact_control")
    assert control.assignee_grid_id == city.grid_a.pk and control.priority == 4


def test_exposure_outside_the_window_makes_no_contact(city):
    case = confirmed_case(city["cdc"], city.person_a, onset=days_ago(2), isolated_on=days_ago(1)).case
    early = at(days_ago(6), 10)
    services.exposure_create(
        actor=city["cdc"], source=city.person_a, exposed=city.person_b,
        values={"setting": "shared_meal", "start": early, "end": early + datetime.timedelta(hours=2)},
    )  # fmt: skip
    assert case.infectious_from == days_ago(4)
    assert not Contact.objects.filter(person=city.person_b).exists()


def test_self_exposure_is_refused(city):
    confirmed_case(city["cdc"], city.person_a, onset=days_ago(2))
    with pytest.raises(ValidationError) as error:
        services.exposure_create(
            actor=city["cdc"], source=city.person_a, exposed=city.person_a,
            values={"setting": "other", "start": at(days_ago(1), 9)},
        )  # fmt: skip
    assert "exposed" in error.value.message_dict


def test_exposure_end_before_start_and_future_start_are_refused(city):
    with pytest.raises(ValidationError) as error:
        services.exposure_create(
            actor=city["cdc"], source=city.person_a, exposed=city.person_b,
            values={"setting": "other", "start": at(days_ago(-2), 9), "end": at(days_ago(3), 9)},
        )  # fmt: skip
    assert {"start", "end"} <= set(error.value.message_dict)


def test_cdc_may_expose_a_person_of_another_township_and_the_contact_goes_to_that_grid(city):
    confirmed_case(city["cdc"], city.person_a, onset=days_ago(2))
    services.exposure_create(
        actor=city["cdc"], source=city.person_a, exposed=city.person_c,
        values={"setting": "workplace", "start": at(days_ago(1), 9), "end": at(days_ago(1), 17)},
    )  # fmt: skip
    contact = Contact.objects.get(person=city.person_c)
    assert contact.path == city.grid_c.path
    assert Task.objects.get(object_id=str(contact.pk), kind="contact_control").assignee_grid_id == city.grid_c.pk


def test_grid_worker_cannot_record_exposures(city):
    with pytest.raises(PermissionDenied):
        services.exposure_create(
            actor=city["grid_a"], source=city.person_a, exposed=city.person_b,
            values={"setting": "other", "start": at(days_ago(1), 9)},
        )  # fmt: skip


# -- secondary contacts ---------------------------------------------------------------------------------------------


def _close_and_secondary(city):
    cdc = city["cdc"]
    confirmed_case(cdc, city.person_a, onset=days_ago(3))
    first = at(days_ago(2), 12)
    services.exposure_create(
        actor=cdc, source=city.person_a, exposed=city.person_b,
        values={"setting": "shared_meal", "start": first, "end": first + datetime.timedelta(hours=1)},
    )  # fmt: skip
    later = at(days_ago(1), 15)
    result = services.exposure_create(
        actor=cdc, source=city.person_b, exposed=city.person_c,
        values={"setting": "workplace", "start": later, "end": later + datetime.timedelta(hours=3)},
    )  # fmt: skip
    return result


def test_people_exposed_to_a_close_contact_after_its_first_exposure_are_secondary_contacts(city):
    result = _close_and_secondary(city)
    secondary = Contact.objects.get(person=city.person_c)
    assert secondary.kind == ContactKind.SECONDARY
    assert _measure(secondary).trigger == "secondary_contact"
    assert _measure(secondary).measure_type == "home_quarantine"  # 9th edition
    assert [c.person_id for c in result.derivation.created] == [city.person_c.pk]


def test_exposure_to_a_close_contact_before_its_first_exposure_makes_no_secondary_contact(city):
    cdc = city["cdc"]
    confirmed_case(cdc, city.person_a, onset=days_ago(3))
    services.exposure_create(
        actor=cdc, source=city.person_a, exposed=city.person_b,
        values={"setting": "shared_meal", "start": at(days_ago(1), 12), "end": at(days_ago(1), 13)},
    )  # fmt: skip
    services.exposure_create(
        actor=cdc, source=city.person_b, exposed=city.person_c,
        values={"setting": "workplace", "start": at(days_ago(2), 9), "end": at(days_ago(2), 10)},
    )  # fmt: skip
    assert not Contact.objects.filter(person=city.person_c).exists()


def test_exposure_after_the_close_contacts_isolation_makes_no_secondary_contact(city):
    _close_and_secondary(city)
    close = Contact.objects.get(person=city.person_b)
    report = services.contact_isolate(actor=city["cdc"], contact=close, at=at(days_ago(1), 14))
    assert [c.person_id for c in report.released] == [city.person_c.pk]
    assert Contact.objects.get(person=city.person_c).status == ContactStatus.RELEASED


def test_secondary_contacts_of_secondary_contacts_are_not_derived(city):
    _close_and_secondary(city)
    other = member(city.household_b, "拉姆", "63270119920202005")
    services.exposure_create(
        actor=city["cdc"], source=city.person_c, exposed=other,
        values={"setting": "workplace", "start": at(days_ago(1), 19), "end": at(days_ago(1), 20)},
    )  # fmt: skip
    assert not Contact.objects.filter(person=other).exists()


def test_a_secondary_contact_later_exposed_to_the_case_becomes_close(city):
    _close_and_secondary(city)
    result = services.exposure_create(
        actor=city["cdc"], source=city.person_a, exposed=city.person_c,
        values={"setting": "household", "start": at(days_ago(1), 20), "end": at(days_ago(1), 21)},
    )  # fmt: skip
    contact = Contact.objects.get(person=city.person_c)
    assert contact.kind == ContactKind.CLOSE
    assert _measure(contact).trigger == "close_contact"
    assert [c.person_id for c in result.derivation.changed] == [city.person_c.pk]


# -- re-derivation and release --------------------------------------------------------------------------------------


def test_excluding_the_case_releases_its_contacts_with_a_task_to_tell_them(city):
    _close_and_secondary(city)
    case = Case.objects.get(person=city.person_a)
    result = services.case_update(
        actor=city["cdc"], case=case, expected_version=case.version, values={"classification": "excluded"}
    )
    released = {c.person_id for c in result.derivation.released}
    assert released == {city.person_b.pk, city.person_c.pk}
    for person in (city.person_b, city.person_c):
        contact = Contact.objects.get(person=person)
        assert contact.status == ContactStatus.RELEASED
        assert contact.measure is None or contact.measure.status != MeasureStatus.ACTIVE
        assert Task.objects.filter(object_id=str(contact.pk), kind="contact_release", status="open").exists()
        assert not Task.objects.filter(object_id=str(contact.pk), kind="contact_control", status="open").exists()


def test_an_excluded_case_keeps_contacts_that_rest_on_another_case(city):
    cdc = city["cdc"]
    confirmed_case(cdc, city.person_a, onset=days_ago(3))
    confirmed_case(cdc, city.person_c, onset=days_ago(3))
    for source in (city.person_a, city.person_c):
        services.exposure_create(
            actor=cdc, source=source, exposed=city.person_b,
            values={"setting": "shared_meal", "start": at(days_ago(2), 12), "end": at(days_ago(2), 13)},
        )  # fmt: skip
    case = Case.objects.get(person=city.person_a)
    result = services.case_update(
        actor=cdc, case=case, expected_version=case.version, values={"classification": "excluded"}
    )
    assert result.derivation.released == []
    assert Contact.objects.get(person=city.person_b).status == ContactStatus.ACTIVE


def test_rejecting_the_only_exposure_releases_the_measure(city):
    wife = member(city.household_a, "卓玛", "63270119880808004")
    confirmed_case(city["cdc"], city.person_a, onset=days_ago(2))
    exposure = Exposure.objects.get(exposed=wife)
    measure = _measure(Contact.objects.get(person=wife))
    with pytest.raises(ValidationError):
        services.exposure_decide(actor=city["cdc"], exposure=exposure, accept=False)
    result = services.exposure_decide(actor=city["cdc"], exposure=exposure, accept=False, note="离婚分居")
    assert [c.person_id for c in result.derivation.released] == [wife.pk]
    measure.refresh_from_db()
    assert measure.status == MeasureStatus.CANCELLED


def test_redating_the_case_rederives_and_reports_changes(city):
    case = confirmed_case(city["cdc"], city.person_a, onset=days_ago(2)).case
    services.exposure_create(
        actor=city["cdc"], source=city.person_a, exposed=city.person_b,
        values={"setting": "shared_meal", "start": at(days_ago(5), 12), "end": at(days_ago(5), 13)},
    )  # fmt: skip
    assert not Contact.objects.filter(person=city.person_b).exists()
    case.refresh_from_db()
    result = services.case_update(
        actor=city["cdc"], case=case, expected_version=case.version, values={"onset_date": days_ago(4)}
    )
    assert [c.person_id for c in result.derivation.created] == [city.person_b.pk]


# -- co-presence ----------------------------------------------------------------------------------------------------


def _checkins(city, *, case_minutes, other_start_offset, other_minutes, stay=30):
    place = venue(city.grid_a, stay=stay)
    day = days_ago(1)
    visit(place, start=at(day, 10), minutes=case_minutes, person=city.person_a)
    visit(
        place,
        start=at(day, 10) + datetime.timedelta(minutes=other_start_offset),
        minutes=other_minutes,
        person=city.person_b,
    )
    return place


@pytest.mark.parametrize(
    ("case_minutes", "offset", "other_minutes", "overlap"),
    [
        (30, 30, 20, None),  # touching: the other arrives as the case leaves
        (30, 40, 20, None),  # apart
        (60, 10, 20, 20),  # contained
        (30, -10, 20, 10),  # partial
    ],
)
def test_copresence_overlap_edge_cases(city, case_minutes, offset, other_minutes, overlap):
    _checkins(city, case_minutes=case_minutes, other_start_offset=offset, other_minutes=other_minutes)
    confirmed_case(city["cdc"], city.person_a, onset=days_ago(2))
    exposure = Exposure.objects.filter(exposed=city.person_b, origin=ExposureOrigin.COPRESENCE).first()
    if overlap is None:
        assert exposure is None
    else:
        assert exposure is not None and exposure.overlap_minutes == overlap
        assert exposure.status == ExposureStatus.PENDING
        assert Contact.objects.get(person=city.person_b).kind == ContactKind.CLOSE


def test_copresence_uses_the_default_stay_when_the_end_is_unknown(city):
    place = venue(city.grid_a, stay=45)
    day = days_ago(1)
    visit(place, start=at(day, 10), person=city.person_a)  # 10:00–10:45 by default
    visit(place, start=at(day, 10, 40), minutes=5, person=city.person_b)
    confirmed_case(city["cdc"], city.person_a, onset=days_ago(2))
    assert Exposure.objects.get(exposed=city.person_b).overlap_minutes == 5


def test_minimum_overlap_setting(city, settings):
    settings.COPRESENCE_MIN_OVERLAP_MINUTES = 15
    _checkins(city, case_minutes=30, other_start_offset=20, other_minutes=30)  # 10 minutes together
    confirmed_case(city["cdc"], city.person_a, onset=days_ago(2))
    assert not Exposure.objects.filter(exposed=city.person_b).exists()


def test_copresence_candidates_wait_when_auto_accept_is_off(city, settings):
    settings.TRACING_AUTO_ACCEPT = ["household"]
    _checkins(city, case_minutes=60, other_start_offset=10, other_minutes=20)
    confirmed_case(city["cdc"], city.person_a, onset=days_ago(2))
    exposure = Exposure.objects.get(exposed=city.person_b)
    assert exposure.status == ExposureStatus.CANDIDATE
    assert not Contact.objects.filter(person=city.person_b).exists()
    derivation = services.exposures_decide(actor=city["cdc"], exposures=[exposure], accept=True)
    assert [c.person_id for c in derivation.created] == [city.person_b.pk]


def test_copresence_registers_a_phone_only_visitor_for_the_venues_grid(city):
    place = venue(city.grid_b, name="格萨尔广场餐厅")
    day = days_ago(1)
    visit(place, start=at(day, 12), minutes=60, person=city.person_a)
    visit(place, start=at(day, 12, 30), minutes=30, phone="13612345678")
    confirmed_case(city["cdc"], city.person_a, onset=days_ago(2))
    exposure = Exposure.objects.get(origin=ExposureOrigin.COPRESENCE)
    assert exposure.exposed.phone == "13612345678"
    assert exposure.exposed.path == city.grid_b.path
    assert Contact.objects.get(person=exposure.exposed).path == city.grid_b.path


def test_copresence_batch_run_is_idempotent(city):
    _checkins(city, case_minutes=60, other_start_offset=10, other_minutes=20)
    case = confirmed_case(city["cdc"], city.person_a, onset=days_ago(2)).case
    run = services.copresence_run(actor=None, cases=[case])
    assert run.exposures == 0
    assert Exposure.objects.filter(origin=ExposureOrigin.COPRESENCE).count() == 1


def test_copresence_batch_run_handles_a_days_cases_at_once(city):
    from firstline.tracing.models import Classification

    place = _checkins(city, case_minutes=60, other_start_offset=10, other_minutes=20)
    visit(place, start=at(days_ago(1), 18), minutes=30, person=city.person_c)
    visit(place, start=at(days_ago(1), 18, 10), minutes=30, phone="13612340000")
    # Cases stored without the service (say, loaded in bulk): the batch run finds their co-presence.
    for person in (city.person_a, city.person_c):
        Case.objects.create(
            person=person, path=person.path, classification=Classification.CONFIRMED, onset_date=days_ago(2),
            report_date=days_ago(0), infectious_from=days_ago(4), infectious_until=days_ago(0),
        )  # fmt: skip
    run = services.copresence_run(actor=None, day=days_ago(0))
    assert (run.cases, run.exposures) == (2, 2)  # a with b, and c with the phone-only visitor


@pytest.mark.parametrize("visitors", [5, 40])
def test_a_busy_venue_derives_its_contacts_in_a_bounded_number_of_queries(
    city, visitors, django_assert_max_num_queries
):
    # Given a case at a venue with many phone-only visitors at the same time
    place = venue(city.grid_a)
    visit(place, start=at(days_ago(1), 10), minutes=120, person=city.person_a)
    for index in range(visitors):
        visit(place, start=at(days_ago(1), 10, 30), minutes=30, phone=f"1361234{index:04d}")
    # When the case is reported, the statements do not grow with the number of contacts
    with django_assert_max_num_queries(70):
        result = confirmed_case(city["cdc"], city.person_a, onset=days_ago(2))
    assert len(result.derivation.created) == visitors
    assert Task.objects.filter(kind="contact_control").count() == visitors
