"""Gaps of a post's roster: the covered hours with fewer people on shift than the post needs (sweep line)."""

from __future__ import annotations

import datetime

import pytest

from firstline.community.roster import coverage, selectors, services
from firstline.community.tests.roster_support import MONDAY, at, make_member_b, make_post, put_on

WEEK_START, WEEK_END = coverage.week_bounds(MONDAY)


def spans(opens: datetime.time, closes: datetime.time) -> list[coverage.Span]:
    return coverage.covered_spans(opens_at=opens, closes_at=closes, start=WEEK_START, end=WEEK_END)


# -- pure computation ---------------------------------------------------------------------------------------


def test_a_day_post_covers_its_hours_on_each_of_the_seven_days():
    result = spans(datetime.time(8), datetime.time(20))
    assert len(result) == 7
    assert result[0] == coverage.Span(at(0, 8), at(0, 20))
    assert result[6] == coverage.Span(at(6, 8), at(6, 20))


def test_a_night_post_runs_past_midnight_and_the_weeks_edges_cut_it():
    result = spans(datetime.time(20), datetime.time(8))
    # Sunday night's shift of the week before ends Monday 08:00; this Sunday's runs into next week.
    assert result[0] == coverage.Span(at(0, 0), at(0, 8))
    assert result[1] == coverage.Span(at(0, 20), at(1, 8))
    assert result[-1] == coverage.Span(at(6, 20), WEEK_END)
    assert len(result) == 8


def test_opening_and_closing_at_the_same_time_means_round_the_clock():
    assert spans(datetime.time(0), datetime.time(0)) == [coverage.Span(WEEK_START, WEEK_END)]


def test_hours_with_nobody_on_shift_are_gaps():
    day = [coverage.Span(at(0, 8), at(0, 20))]
    gaps = coverage.staffing_gaps(spans=day, shifts=[(at(0, 8), at(0, 12)), (at(0, 14), at(0, 20))], needed=1)
    assert [(g.start, g.end, g.staffed) for g in gaps] == [(at(0, 12), at(0, 14), 0)]
    assert gaps[0].hours == 2


def test_touching_shifts_hand_over_without_a_gap():
    day = [coverage.Span(at(0, 8), at(0, 20))]
    assert coverage.staffing_gaps(spans=day, shifts=[(at(0, 8), at(0, 14)), (at(0, 14), at(0, 20))], needed=1) == []


def test_a_post_needing_two_with_one_person_on_shift_is_short_all_day():
    day = [coverage.Span(at(0, 8), at(0, 20))]
    gaps = coverage.staffing_gaps(spans=day, shifts=[(at(0, 8), at(0, 20)), (at(0, 10), at(0, 12))], needed=2)
    assert [(g.start, g.end, g.staffed, g.needed) for g in gaps] == [
        (at(0, 8), at(0, 10), 1, 2),
        (at(0, 12), at(0, 20), 1, 2),
    ]
    assert gaps[0].missing == 1


def test_shifts_outside_the_covered_hours_do_not_count_and_do_not_create_gaps():
    day = [coverage.Span(at(0, 8), at(0, 20))]
    gaps = coverage.staffing_gaps(spans=day, shifts=[(at(0, 4), at(0, 9)), (at(0, 19), at(0, 23))], needed=1)
    assert [(g.start, g.end) for g in gaps] == [(at(0, 9), at(0, 19))]


def test_a_shift_begun_before_the_period_staffs_its_start():
    night = [coverage.Span(at(0, 0), at(0, 8))]
    assert coverage.staffing_gaps(spans=night, shifts=[(at(-1, 20), at(0, 8))], needed=1) == []


# -- the roster of a post -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_roster_lists_gaps_of_a_past_midnight_post(city, community):
    post = make_post(city, opens=datetime.time(20), closes=datetime.time(8))
    member_b = make_member_b(city)
    # Monday night fully covered by two touching shifts; Tuesday night half covered.
    put_on(city, post, community.member_a, at(0, 20), at(1, 2))
    put_on(city, post, member_b, at(1, 2), at(1, 8))
    put_on(city, post, community.member_a, at(1, 20), at(2, 2))
    week = selectors.roster_week(post, MONDAY + datetime.timedelta(days=3))
    assert week.monday == MONDAY
    starts = [(g.start, g.end) for g in week.gaps]
    assert (at(0, 0), at(0, 8)) in starts  # the night of Sunday → Monday
    assert (at(2, 2), at(2, 8)) in starts
    assert not any(g.start < at(1, 8) and at(0, 20) < g.end for g in week.gaps)
    # The grid: Monday 22:00 is staffed, Wednesday 03:00 short, Monday noon outside the hours.
    cells = dict(week.rows)
    assert cells[22][0].state == "ok" and cells[22][0].names == [city.person_a.name]
    assert cells[3][2].state == "gap"
    assert cells[12][0].state == "closed"


@pytest.mark.django_db
def test_cancelled_and_missed_shifts_leave_the_hours_uncovered(city, community):
    post = make_post(city)
    shift = put_on(city, post, community.member_a, at(0, 8), at(0, 20))
    services.shift_cancel(actor=city["township"], shift=shift)
    put_on(city, post, community.member_a, at(1, 8), at(1, 20))
    services.mark_missed(now=at(1, 21))
    week = selectors.roster_week(post, MONDAY)
    assert (at(0, 8), at(0, 20)) in [(g.start, g.end) for g in week.gaps]
    assert (at(1, 8), at(1, 20)) in [(g.start, g.end) for g in week.gaps]
    assert week.gap_hours == 7 * 12
