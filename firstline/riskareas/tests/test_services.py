from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from firstline.core.concurrency import StaleVersionError
from firstline.core.models import AuditAction, AuditEvent
from firstline.riskareas import services
from firstline.riskareas.models import Place, RiskArea, RiskAreaPeriod

pytestmark = pytest.mark.django_db

D = datetime.date
MAY_1 = D(2022, 5, 1)


def _periods(area: RiskArea) -> list[tuple[str, datetime.date, datetime.date | None]]:
    return list(area.periods.order_by("valid_from").values_list("level", "valid_from", "valid_until"))


def _create(actor, place="北京市丰台区花乡地区", level="high", day=MAY_1, **extra):
    return services.risk_area_create(actor=actor, place=place, level=level, effective_from=day, **extra)


# --- place cache ------------------------------------------------------------------------------------------


def test_place_resolve_parses_a_text_once_and_caches_it(db):
    first = services.place_resolve("  北京市丰台区花乡地区 ")
    again = services.place_resolve("北京市丰台区花乡地区")
    assert first.pk == again.pk
    assert (first.text, first.code, first.county, first.remainder) == (
        "北京市丰台区花乡地区",
        "110106",
        "丰台区",
        "花乡地区",
    )
    assert Place.objects.count() == 1


def test_places_resolve_reads_known_places_and_inserts_new_ones_in_bulk(db, django_assert_num_queries):
    services.place_resolve("北京市丰台区花乡地区")
    with django_assert_num_queries(2):  # one SELECT, one bulk INSERT
        places = services.places_resolve(
            ["北京市丰台区花乡地区", "天津市津南区辛庄镇", "天津市津南区辛庄镇", "火星县某村"]
        )
    assert {text: place.code for text, place in places.items()} == {
        "北京市丰台区花乡地区": "110106",
        "天津市津南区辛庄镇": "120112",
        "火星县某村": "",
    }
    assert Place.objects.count() == 3


# --- create ----------------------------------------------------------------------------------------------


def test_creating_an_area_parses_the_place_and_opens_its_first_period(
    city, cdc, area_changes, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        area = _create(cdc, source_notice="京防控〔2022〕1号")
    assert (area.place, area.division_code, area.scope_text, area.level) == (
        "北京市丰台区花乡地区",
        "110106",
        "花乡地区",
        "high",
    )
    assert (area.effective_from, area.first_listed_on, area.lifted_at, area.needs_review) == (
        D(2022, 5, 1),
        D(2022, 5, 1),
        None,
        False,
    )
    assert area.created_by == cdc
    period = area.periods.get()
    assert (period.level, period.valid_from, period.valid_until, period.division_code, period.scope_text) == (
        "high",
        D(2022, 5, 1),
        None,
        "110106",
        "花乡地区",
    )
    assert period.source_notice == "京防控〔2022〕1号"
    [(changes, actor)] = area_changes
    assert [(c.area_id, c.kind, c.level, c.previous_level, c.period_id) for c in changes] == [
        (area.pk, "created", "high", "", period.pk)
    ]
    assert actor == cdc
    event = AuditEvent.objects.get(object_id=str(area.pk), content_type__model="riskarea")
    assert event.action == AuditAction.CREATE and event.actor == cdc and event.changes["level"] == [None, "high"]


def test_a_given_division_code_wins_over_the_parsed_one(city, cdc):
    area = _create(cdc, place="丰台区花乡地区某小区", division_code="110106", scope_text="花乡地区某小区")
    assert (area.division_code, area.scope_text, area.needs_review) == ("110106", "花乡地区某小区", False)


def test_an_unrecognised_place_is_kept_whole_and_needs_review(city, cdc):
    area = _create(cdc, place="火星县某村", level="medium")
    assert (area.division_code, area.scope_text, area.needs_review) == ("", "火星县某村", True)


def test_a_scope_under_a_province_only_needs_review(city, cdc):
    area = _create(cdc, place="陕西省某某小区")
    assert (area.division_code, area.scope_text, area.needs_review) == ("61", "某某小区", True)


def test_a_whole_county_has_an_empty_scope(city, cdc):
    area = _create(cdc, place="北京市丰台区")
    assert (area.division_code, area.scope_text) == ("110106", "")


def test_chinese_level_names_are_accepted(city, cdc):
    assert _create(cdc, level="中风险").level == "medium"


def test_create_reports_every_bad_field(city, cdc):
    with pytest.raises(ValidationError) as caught:
        services.risk_area_create(
            actor=cdc,
            place="",
            level="severe",
            effective_from="2022-13-40",  # type: ignore[arg-type]  # as a careless caller would pass it
            division_code="1101a",
        )
    assert set(caught.value.message_dict) == {"place", "level", "effective_from", "division_code"}
    assert RiskArea.objects.count() == 0


@pytest.mark.parametrize(
    "code", ["1", "110", "11010", "1101061", "11010600", "1101060011", "11010600100", "1101060010011"]
)
def test_division_codes_must_have_2_4_6_9_or_12_digits(city, cdc, code):
    with pytest.raises(ValidationError) as caught:
        _create(cdc, division_code=code)
    assert list(caught.value.message_dict) == ["division_code"]


@pytest.mark.parametrize("code", ["11", "1101", "110106", "110106001", "110106001001"])
def test_valid_division_code_lengths_are_accepted(city, cdc, code):
    assert _create(cdc, division_code=code).division_code == code


def test_lifted_before_or_on_the_listing_day_is_refused_naming_lifted_at(city, cdc):
    for lifted in (D(2022, 4, 30), D(2022, 5, 1)):
        with pytest.raises(ValidationError) as caught:
            _create(cdc, lifted_at=lifted)
        assert list(caught.value.message_dict) == ["lifted_at"]


def test_creating_an_already_lifted_area_closes_its_period(city, cdc):
    area = _create(cdc, lifted_at=D(2022, 5, 15))
    assert area.lifted_at == D(2022, 5, 15)
    assert _periods(area) == [("high", D(2022, 5, 1), D(2022, 5, 15))]


def test_an_area_still_listed_is_refused_as_a_duplicate_naming_it(city, cdc):
    first = _create(cdc)
    with pytest.raises(ValidationError) as caught:
        _create(cdc, place="北京市 丰台区 花乡地区", level="medium", day=D(2022, 5, 3))
    [message] = caught.value.message_dict["place"]
    assert f"#{first.pk}" in message
    assert RiskArea.objects.count() == 1


def test_a_place_listed_again_after_it_was_lifted_is_a_new_area(city, cdc):
    _create(cdc, lifted_at=D(2022, 5, 10))
    again = _create(cdc, day=D(2022, 6, 1))
    assert RiskArea.objects.count() == 2 and again.first_listed_on == D(2022, 6, 1)


def test_a_listing_that_overlaps_a_lifted_one_is_a_duplicate(city, cdc):
    _create(cdc, lifted_at=D(2022, 5, 10))
    with pytest.raises(ValidationError):
        _create(cdc, day=D(2022, 5, 5))


def test_only_risk_area_editors_may_write(city):
    for username in ("grid_a", "township", "outsider"):
        with pytest.raises(PermissionDenied):
            _create(city[username])
    assert _create(city["city"]).pk
    assert _create(city["admin"], place="天津市津南区辛庄镇").pk


# --- level changes ---------------------------------------------------------------------------------------


def test_raising_an_area_closes_the_open_period_on_the_day_and_keeps_the_history(
    city, cdc, area_changes, django_capture_on_commit_callbacks
):
    area = _create(cdc, level="medium")
    with django_capture_on_commit_callbacks(execute=True):
        area = services.risk_area_change_level(
            actor=cdc, area=area, expected_version=1, level="high", effective_on=D(2022, 5, 8), source_notice="二号"
        )
    assert (area.level, area.effective_from, area.first_listed_on, area.version) == (
        "high",
        D(2022, 5, 8),
        D(2022, 5, 1),
        2,
    )
    assert _periods(area) == [("medium", D(2022, 5, 1), D(2022, 5, 8)), ("high", D(2022, 5, 8), None)]
    new_period = area.periods.get(valid_from=D(2022, 5, 8))
    [(changes, _actor)] = area_changes
    assert [(c.kind, c.level, c.previous_level, c.period_id) for c in changes] == [
        ("raised", "high", "medium", new_period.pk)
    ]
    event = AuditEvent.objects.filter(object_id=str(area.pk), action=AuditAction.UPDATE).get()
    assert event.changes["level"] == ["medium", "high"]


def test_lowering_an_area_reports_lowered_with_the_previous_level(
    city, cdc, area_changes, django_capture_on_commit_callbacks
):
    area = _create(cdc, level="high")
    with django_capture_on_commit_callbacks(execute=True):
        services.risk_area_change_level(
            actor=cdc, area=area, expected_version=1, level="low", effective_on=D(2022, 5, 8)
        )
    [(changes, _actor)] = area_changes
    assert [(c.kind, c.level, c.previous_level) for c in changes] == [("lowered", "low", "high")]


def test_matching_on_a_past_day_uses_the_level_the_area_had_then(city, cdc):
    area = _create(cdc, level="high")
    services.risk_area_change_level(
        actor=cdc, area=area, expected_version=1, level="medium", effective_on=D(2022, 5, 8)
    )
    on = RiskAreaPeriod.objects.filter(area=area)
    assert on.get(valid_from__lte=D(2022, 5, 7), valid_until__gt=D(2022, 5, 7)).level == "high"
    assert on.filter(valid_from__lte=D(2022, 5, 8)).exclude(valid_until__lte=D(2022, 5, 8)).get().level == "medium"


def test_a_level_change_on_the_day_the_level_started_corrects_that_period(
    city, cdc, area_changes, django_capture_on_commit_callbacks
):
    area = _create(cdc, level="medium")
    period = area.periods.get()
    with django_capture_on_commit_callbacks(execute=True):
        area = services.risk_area_change_level(
            actor=cdc, area=area, expected_version=1, level="high", effective_on=D(2022, 5, 1)
        )
    assert _periods(area) == [("high", D(2022, 5, 1), None)]
    assert area_changes[0][0][0].period_id == period.pk


def test_a_level_change_before_the_current_level_started_is_refused(city, cdc):
    area = _create(cdc, level="medium")
    with pytest.raises(ValidationError) as caught:
        services.risk_area_change_level(
            actor=cdc, area=area, expected_version=1, level="high", effective_on=D(2022, 4, 30)
        )
    assert list(caught.value.message_dict) == ["effective_on"]


def test_changing_to_the_same_level_is_refused(city, cdc):
    area = _create(cdc, level="medium")
    with pytest.raises(ValidationError) as caught:
        services.risk_area_change_level(
            actor=cdc, area=area, expected_version=1, level="中", effective_on=D(2022, 5, 3)
        )
    assert list(caught.value.message_dict) == ["level"]


def test_a_stale_level_change_is_refused_and_nothing_changes(city, cdc):
    area = _create(cdc, level="medium")
    services.risk_area_change_level(actor=cdc, area=area, expected_version=1, level="high", effective_on=D(2022, 5, 3))
    with pytest.raises(StaleVersionError):
        services.risk_area_change_level(
            actor=cdc, area=area, expected_version=1, level="low", effective_on=D(2022, 5, 9)
        )
    area.refresh_from_db()
    assert area.level == "high" and _periods(area) == [
        ("medium", D(2022, 5, 1), D(2022, 5, 3)),
        ("high", D(2022, 5, 3), None),
    ]


def test_a_lifted_area_cannot_change_level(city, cdc):
    area = _create(cdc, lifted_at=D(2022, 5, 10))
    with pytest.raises(ValidationError) as caught:
        services.risk_area_change_level(
            actor=cdc, area=area, expected_version=1, level="low", effective_on=D(2022, 5, 5)
        )
    assert list(caught.value.message_dict) == ["level"]


def test_level_changes_need_the_permission(city, cdc):
    area = _create(cdc)
    with pytest.raises(PermissionDenied):
        services.risk_area_change_level(
            actor=city["grid_a"], area=area, expected_version=1, level="low", effective_on=D(2022, 5, 5)
        )


# --- lifting ---------------------------------------------------------------------------------------------


def test_lifting_closes_the_open_period_and_sets_lifted_at(city, cdc, area_changes, django_capture_on_commit_callbacks):
    area = _create(cdc, level="high")
    services.risk_area_change_level(
        actor=cdc, area=area, expected_version=1, level="medium", effective_on=D(2022, 5, 8)
    )
    with django_capture_on_commit_callbacks(execute=True):
        area = services.risk_area_lift(
            actor=cdc, area=area, expected_version=2, lifted_on=D(2022, 5, 15), source_notice="解除"
        )
    assert (area.lifted_at, area.level, area.source_notice, area.version) == (D(2022, 5, 15), "medium", "解除", 3)
    assert _periods(area) == [("high", D(2022, 5, 1), D(2022, 5, 8)), ("medium", D(2022, 5, 8), D(2022, 5, 15))]
    [(changes, _actor)] = area_changes
    assert [(c.area_id, c.kind, c.level, c.period_id) for c in changes] == [(area.pk, "lifted", "medium", None)]
    assert list(RiskArea.objects.in_force_on(D(2022, 5, 14))) == [area]
    assert list(RiskArea.objects.in_force_on(D(2022, 5, 15))) == []


def test_lifting_on_or_before_the_day_the_level_started_is_refused(city, cdc):
    area = _create(cdc)
    for day in (D(2022, 4, 30), D(2022, 5, 1)):
        with pytest.raises(ValidationError) as caught:
            services.risk_area_lift(actor=cdc, area=area, expected_version=1, lifted_on=day)
        assert list(caught.value.message_dict) == ["lifted_on"]


def test_lifting_twice_is_refused(city, cdc):
    area = _create(cdc)
    services.risk_area_lift(actor=cdc, area=area, expected_version=1, lifted_on=D(2022, 5, 9))
    with pytest.raises(ValidationError) as caught:
        services.risk_area_lift(actor=cdc, area=area, expected_version=2, lifted_on=D(2022, 5, 10))
    assert list(caught.value.message_dict) == ["lifted_on"]


# --- corrections -----------------------------------------------------------------------------------------


def test_correcting_the_place_reparses_it_and_the_periods_follow(
    city, cdc, area_changes, django_capture_on_commit_callbacks
):
    area = _create(cdc, place="火星县某村")
    assert area.needs_review
    with django_capture_on_commit_callbacks(execute=True):
        area = services.risk_area_update(
            actor=cdc, area=area, expected_version=1, data={"place": "天津市津南区辛庄镇某村"}
        )
    assert (area.place, area.division_code, area.scope_text, area.needs_review, area.version) == (
        "天津市津南区辛庄镇某村",
        "120112",
        "辛庄镇某村",
        False,
        2,
    )
    assert list(area.periods.values_list("division_code", "scope_text")) == [("120112", "辛庄镇某村")]
    [(changes, _actor)] = area_changes
    assert [(c.kind, c.level, c.period_id) for c in changes] == [("edited", "high", area.periods.get().pk)]


def test_setting_the_code_of_an_unrecognised_place_keeps_the_place_text(city, cdc):
    area = _create(cdc, place="某某县某村")
    area = services.risk_area_update(actor=cdc, area=area, expected_version=1, data={"division_code": "632701"})
    assert (area.place, area.division_code, area.scope_text, area.needs_review) == (
        "某某县某村",
        "632701",
        "某某县某村",
        False,
    )


def test_a_correction_that_collides_with_another_listed_area_is_refused(city, cdc):
    _create(cdc, place="北京市丰台区花乡地区")
    other = _create(cdc, place="北京市丰台区卢沟桥街道")
    with pytest.raises(ValidationError) as caught:
        services.risk_area_update(actor=cdc, area=other, expected_version=1, data={"place": "北京市丰台区花乡地区"})
    assert list(caught.value.message_dict) == ["place"]


def test_update_refuses_level_and_day_fields(city, cdc):
    area = _create(cdc)
    with pytest.raises(ValidationError) as caught:
        services.risk_area_update(
            actor=cdc, area=area, expected_version=1, data={"level": "low", "lifted_at": D(2022, 6, 1)}
        )
    assert set(caught.value.message_dict) == {"level", "lifted_at"}


def test_an_update_without_changes_writes_nothing(city, cdc, area_changes, django_capture_on_commit_callbacks):
    area = _create(cdc)
    with django_capture_on_commit_callbacks(execute=True):
        same = services.risk_area_update(actor=cdc, area=area, expected_version=1, data={"place": area.place})
    assert same.version == 1 and area_changes == []


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("high", "high"),
        ("High risk", "high"),
        ("高", "high"),
        ("高风险地区", "high"),
        ("MEDIUM", "medium"),
        ("中风险", "medium"),
        ("低", "low"),
        ("low-risk area", "low"),
    ],
)
def test_parse_level_reads_the_ways_levels_are_written(given, expected):
    assert services.parse_level(given) == expected


@pytest.mark.parametrize("given", ["", "severe", "极高", None])
def test_parse_level_refuses_unknown_levels(given):
    with pytest.raises(ValueError):
        services.parse_level(given)


def test_correcting_only_the_notice_reevaluates_nobody(city, cdc, area_changes, django_capture_on_commit_callbacks):
    area = _create(cdc)
    with django_capture_on_commit_callbacks(execute=True):
        area = services.risk_area_update(actor=cdc, area=area, expected_version=1, data={"source_notice": "更正"})
    assert (area.source_notice, area.version) == ("更正", 2)
    assert area_changes == []
    assert AuditEvent.objects.filter(object_id=str(area.pk), action=AuditAction.UPDATE).count() == 1
