"""The engine's explanation (a language-neutral dict) as sentences in the reader's language.

One sentence per fact: which edition and rule, the evidence, where day 1 falls and when the measure ends, what
was served before arrival, the test calendar, follow-on, notes and the alternatives that were less strict.
Explanations are stored with measures and read back years later, so every key is optional here.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from firstline.policy.engine import Decision
from firstline.policy.models import RISK_TRIGGERS, Anchor, Measure, MeasureType, Trigger
from firstline.riskareas.models import RiskLevel


def _label(choices: Any, code: Any) -> str:
    try:
        return str(choices(code).label)
    except ValueError:
        return str(code or "")


def measure_label(code: Any) -> str:
    """The measure's name in the active language (the code itself for an unknown one)."""
    return _label(MeasureType, code)


def trigger_label(code: Any) -> str:
    return _label(Trigger, code)


def anchor_label(code: Any) -> str:
    return _label(Anchor, code)


def level_label(code: Any) -> str:
    return _label(RiskLevel, code)


def _dates(values: Any) -> str:
    items = [str(v) for v in values or [] if v]
    return pgettext("list separator", ", ").join(items)


def _span(start: Any, end: Any) -> int | None:
    try:
        return (datetime.date.fromisoformat(str(end)) - datetime.date.fromisoformat(str(start))).days + 1
    except ValueError:
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _notes(explanation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(note.get("code")): note for note in _list(explanation.get("notes")) if isinstance(note, dict)}


def _evidence_lines(evidence: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    trigger = evidence.get("trigger")
    first, last = evidence.get("first_day"), evidence.get("last_day")
    if trigger in RISK_TRIGGERS:
        area = evidence.get("area_place") or evidence.get("travel_place") or ""
        stay = {"area": area, "trigger": capfirst(trigger_label(trigger)), "first_day": first, "last_day": last}
        if first and last and first != last:
            stay["days"] = _span(first, last)
            lines.append(
                (
                    _("Was in %(area)s from %(first_day)s to %(last_day)s (%(days)s days).")
                    if area
                    else _("%(trigger)s from %(first_day)s to %(last_day)s (%(days)s days).")
                )
                % stay
            )
        elif last:
            lines.append((_("Was in %(area)s on %(last_day)s.") if area else _("%(trigger)s on %(last_day)s.")) % stay)
        level, period_from = evidence.get("level"), evidence.get("period_from")
        area = capfirst(area or _("the area"))
        if level and period_from:
            if evidence.get("period_until"):
                lines.append(
                    _("%(area)s was listed as %(level)s from %(period_from)s to %(period_until)s.")
                    % {
                        "area": area,
                        "level": level_label(level),
                        "period_from": period_from,
                        "period_until": evidence["period_until"],
                    }
                )
            else:
                lines.append(
                    _("%(area)s has been listed as %(level)s since %(period_from)s.")
                    % {"area": area, "level": level_label(level), "period_from": period_from}
                )
        travel = evidence.get("travel_place")
        if travel and evidence.get("area_place") and travel != evidence["area_place"]:
            lines.append(_("Travel history as given: “%(place)s”.") % {"place": travel})
        return lines
    label = capfirst(trigger_label(trigger)) if trigger else _("Exposure")
    if first and last and first != last:
        lines.append(
            _("%(trigger)s: exposed from %(first_day)s to %(last_day)s.")
            % {"trigger": label, "first_day": first, "last_day": last}
        )
    elif last:
        lines.append(_("%(trigger)s: exposed on %(day)s.") % {"trigger": label, "day": last})
    if evidence.get("source_label"):
        lines.append(_("The exposure was to %(source)s.") % {"source": evidence["source_label"]})
    return lines


def _before_arrival(explanation: dict[str, Any]) -> bool:
    """Was the present-from day an arrival (risk areas) rather than the day a contact was reached?"""
    evidence = _dict(explanation.get("evidence"))
    rule = _dict(explanation.get("rule"))
    return evidence.get("trigger") in RISK_TRIGGERS or rule.get("anchor") in (Anchor.LEFT_AREA, Anchor.ARRIVAL)


def _considered_line(item: dict[str, Any]) -> str | None:
    trigger = trigger_label(item.get("trigger"))
    outcome = item.get("outcome")
    if outcome == "no_rule":
        return _("“%(trigger)s” was considered, but this edition has no rule for it.") % {"trigger": trigger}
    if outcome == "outside_lookback":
        return _("“%(trigger)s” was considered, but it ended on %(last_day)s, outside the look-back period.") % {
            "trigger": trigger,
            "last_day": item.get("last_day") or "?",
        }
    if outcome == "expired_with_certificate":
        return _(
            "“%(trigger)s” was considered, but its period ran out before arrival and a release certificate was shown."
        ) % {"trigger": trigger}
    if outcome == "less_strict":
        if item.get("end"):
            return _("“%(trigger)s” was also considered: %(measure)s until %(end)s, which is less strict.") % {
                "trigger": trigger,
                "measure": measure_label(item.get("measure")),
                "end": item["end"],
            }
        return _("“%(trigger)s” was also considered: %(measure)s, which is less strict.") % {
            "trigger": trigger,
            "measure": measure_label(item.get("measure")),
        }
    return None


def explanation_lines(explanation: dict[str, Any] | None) -> list[str]:
    """The explanation as sentences in the active language, one per fact."""
    explanation = _dict(explanation)
    if not explanation:
        return []
    lines: list[str] = []
    notes = _notes(explanation)
    measure = explanation.get("measure") or MeasureType.NONE
    edition = _dict(explanation.get("edition"))
    rule = _dict(explanation.get("rule"))
    evidence = _dict(explanation.get("evidence"))
    arrival = _before_arrival(explanation)

    if edition and rule:
        lines.append(
            _("Under “%(edition)s” (in force from %(effective_from)s), the rule for “%(trigger)s” applies.")
            % {
                "edition": edition.get("name", ""),
                "effective_from": edition.get("effective_from") or "?",
                "trigger": trigger_label(rule.get("trigger")),
            }
        )
    elif edition:
        lines.append(
            _("Edition in force: “%(edition)s” (from %(effective_from)s).")
            % {"edition": edition.get("name", ""), "effective_from": edition.get("effective_from") or "?"}
        )
    if evidence:
        lines.extend(_evidence_lines(evidence))

    expired = notes.get("period_expired")
    if expired:
        lines.append(
            _("The period for “%(trigger)s” ended on %(original_end)s, before arrival.")
            % {"trigger": trigger_label(expired.get("trigger")), "original_end": expired.get("original_end") or "?"}
        )
        if measure != MeasureType.NONE and rule.get("trigger") == Trigger.RISK_LOW:
            lines.append(_("The person is therefore managed as a low-risk arrival."))

    start, end, counted_from = explanation.get("start"), explanation.get("end"), explanation.get("counted_from")
    main = notes.get("main_part_served")
    if rule and counted_from and rule.get("duration_days"):
        lines.append(
            _("%(measure)s for %(days)s days, counted from %(counted_from)s (day 1: %(anchor)s), ending on %(end)s.")
            % {
                "measure": capfirst(measure_label(rule.get("measure") or measure)),
                "days": rule["duration_days"],
                "counted_from": counted_from,
                "anchor": anchor_label(rule.get("anchor")),
                "end": (main or {}).get("main_end") or end or "?",
            }
        )
    elif start and end:
        lines.append(
            _("%(measure)s from %(start)s to %(end)s.")
            % {"measure": capfirst(measure_label(measure)), "start": start, "end": end}
        )
    if main:
        template = (
            _("The %(main)s ended before arrival: what remains is %(measure)s from %(start)s to %(end)s.")
            if arrival
            else _(
                "The %(main)s ended before the person was reached: what remains is %(measure)s from %(start)s "
                "to %(end)s."
            )
        )
        lines.append(
            template
            % {
                "main": measure_label(main.get("main_measure")),
                "measure": measure_label(measure),
                "start": start or "?",
                "end": end or "?",
            }
        )
    served = notes.get("served_before_arrival")
    if served and not main:
        template = (
            _("%(days)s days of it had passed before arrival: only the remaining days are served, from %(start)s.")
            if arrival
            else _(
                "%(days)s days of it had passed before the person was reached: only the remaining days are "
                "served, from %(start)s."
            )
        )
        lines.append(template % {"days": served.get("days", "?"), "start": start or "?"})

    test_dates = _list(explanation.get("test_dates"))
    if test_dates:
        lines.append(_("Tests on %(dates)s.") % {"dates": _dates(test_dates)})
    elif measure != MeasureType.NONE and start:
        lines.append(_("No tests are scheduled."))
    skipped = _list(explanation.get("skipped_test_dates")) or _list(
        notes.get("tests_before_arrival_skipped", {}).get("dates")
    )
    if skipped:
        template = (
            _("Test days before arrival (%(dates)s) are not scheduled.")
            if arrival
            else _("Test days before the person was reached (%(dates)s) are not scheduled.")
        )
        lines.append(template % {"dates": _dates(skipped)})
    added = _list(explanation.get("added_test_dates")) or _list(
        notes.get("tests_added_short_remainder", {}).get("dates")
    )
    if added:
        lines.append(_("Too few test days remained, so tests were added on %(dates)s.") % {"dates": _dates(added)})

    follow_on = _dict(explanation.get("follow_on"))
    if follow_on.get("measure"):
        days = _span(follow_on.get("start"), follow_on.get("end"))
        follow_measure = measure_label(follow_on["measure"])
        if days:
            lines.append(
                _("Then %(measure)s for %(days)s days, from %(start)s to %(end)s.")
                % {"measure": follow_measure, "days": days, "start": follow_on["start"], "end": follow_on["end"]}
            )
        else:
            lines.append(_("Then %(measure)s.") % {"measure": follow_measure})
        if _list(follow_on.get("test_dates")):
            lines.append(
                _("Tests during %(measure)s on %(dates)s.")
                % {"measure": follow_measure, "dates": _dates(follow_on["test_dates"])}
            )

    if "stay_home_until_negative" in notes:
        lines.append(_("Stay at home until a negative result."))
    if "no_edition" in notes:
        lines.append(
            _("No published policy edition was in force on %(day)s, so no measure applies.")
            % {"day": notes["no_edition"].get("day") or "?"}
        )
    if "no_evidence" in notes:
        lines.append(_("No stay in a risk area and no exposure were found, so no measure applies."))
    if "no_rule_applies" in notes:
        lines.append(_("None of this edition's rules applies, so no measure is required."))
    if expired and measure == MeasureType.NONE:
        lines.append(_("No measure remains."))

    for item in _list(explanation.get("considered")):
        if isinstance(item, dict) and (line := _considered_line(item)):
            lines.append(line)
    if not lines and measure == MeasureType.NONE:
        lines.append(_("No measure."))
    return lines


# Sentences ending in full-width punctuation (Chinese) are joined without a space, others with one.
_FULL_WIDTH_ENDINGS = tuple("。！？；）」』”")


def explanation_text(explanation: dict[str, Any] | None) -> str:
    """The sentences joined into one paragraph."""
    text = ""
    for line in explanation_lines(explanation):
        if text and not text.endswith(_FULL_WIDTH_ENDINGS):
            text += " "
        text += line
    return text


def _iso(day: datetime.date | None) -> str | None:
    return day.isoformat() if day else None


def measure_payload(item: Decision | Measure | None) -> dict[str, Any]:
    """The measure as API data, for a stored Measure or an engine Decision (``type`` "none" when nothing applies).

    ``{"type", "start", "end", "test_dates", "follow_on": {"type", "start", "end", "test_dates"} | None,
    "explanation" (text in the active language), "explanation_detail" (the engine's dict)}``
    """
    if item is None:
        return {
            "type": MeasureType.NONE.value,
            "start": None,
            "end": None,
            "test_dates": [],
            "follow_on": None,
            "explanation": "",
            "explanation_detail": {},
        }
    if isinstance(item, Measure):
        detail = item.explanation if isinstance(item.explanation, dict) else {}
        follow_on = (
            {
                "type": item.follow_on_type,
                "start": _iso(item.follow_on_start),
                "end": _iso(item.follow_on_end),
                "test_dates": [str(d) for d in item.follow_on_test_dates or []],
            }
            if item.follow_on_type
            else None
        )
        return {
            "type": item.measure_type,
            "start": _iso(item.start),
            "end": _iso(item.end),
            "test_dates": [str(d) for d in item.test_dates or []],
            "follow_on": follow_on,
            "explanation": explanation_text(detail),
            "explanation_detail": detail,
        }
    detail = item.explanation()
    none = item.is_none
    return {
        "type": str(item.measure),
        "start": None if none else _iso(item.start),
        "end": None if none else _iso(item.end),
        "test_dates": [] if none else [d.isoformat() for d in item.test_dates],
        "follow_on": (
            {
                "type": item.follow_on,
                "start": _iso(item.follow_on_start),
                "end": _iso(item.follow_on_end),
                "test_dates": [d.isoformat() for d in item.follow_on_test_dates],
            }
            if item.follow_on and not none
            else None
        ),
        "explanation": explanation_text(detail),
        "explanation_detail": detail,
    }


def _day(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _day_set(values: Any) -> set[datetime.date]:
    return {d for d in (_day(v) for v in values or []) if d is not None}


MAX_CALENDAR_DAYS = 62


def calendar_rows(
    *,
    counted_from: Any,
    start: Any,
    end: Any,
    test_dates: Any = (),
    skipped_test_dates: Any = (),
    added_test_dates: Any = (),
    follow_on_start: Any = None,
    follow_on_end: Any = None,
    follow_on_test_dates: Any = (),
    today: datetime.date | None = None,
) -> list[dict[str, Any]]:
    """One row per day from day 1 to the end of the follow-on: day number, phase and tests (dates or ISO text).

    ``phase`` is "before" (served before arrival), "main" or "follow_on"; at most ``MAX_CALENDAR_DAYS`` rows.
    """
    first, main_start, main_end = _day(counted_from) or _day(start), _day(start), _day(end)
    if first is None or main_start is None or main_end is None:
        return []
    follow_first, follow_last = _day(follow_on_start), _day(follow_on_end)
    tests, skipped, added = _day_set(test_dates), _day_set(skipped_test_dates), _day_set(added_test_dates)
    follow_tests = _day_set(follow_on_test_dates)
    last = max(d for d in (main_end, follow_last, *tests, *follow_tests) if d is not None)
    rows: list[dict[str, Any]] = []
    day = min(first, main_start)
    while day <= last and len(rows) < MAX_CALENDAR_DAYS:
        if follow_first is not None and day >= follow_first:
            phase, number = "follow_on", (day - follow_first).days + 1
        elif day < main_start:
            phase, number = "before", (day - first).days + 1
        else:
            phase, number = "main", (day - first).days + 1
        rows.append(
            {
                "date": day,
                "day": number,
                "phase": phase,
                "test": day in tests or day in follow_tests,
                "skipped": day in skipped,
                "added": day in added,
                "today": day == today,
            }
        )
        day += datetime.timedelta(days=1)
    return rows


def calendar_for_explanation(
    explanation: dict[str, Any] | None, *, today: datetime.date | None = None
) -> list[dict[str, Any]]:
    explanation = _dict(explanation)
    follow_on = _dict(explanation.get("follow_on"))
    return calendar_rows(
        counted_from=explanation.get("counted_from"),
        start=explanation.get("start"),
        end=explanation.get("end"),
        test_dates=_list(explanation.get("test_dates")),
        skipped_test_dates=_list(explanation.get("skipped_test_dates")),
        added_test_dates=_list(explanation.get("added_test_dates")),
        follow_on_start=follow_on.get("start"),
        follow_on_end=follow_on.get("end"),
        follow_on_test_dates=_list(follow_on.get("test_dates")),
        today=today,
    )


def calendar_for_measure(measure: Measure, *, today: datetime.date | None = None) -> list[dict[str, Any]]:
    """The measure's stored dates (authoritative), with skipped/added tests from its explanation when present."""
    explanation = _dict(measure.explanation)
    return calendar_rows(
        counted_from=measure.counted_from,
        start=measure.start,
        end=measure.end,
        test_dates=measure.test_dates,
        skipped_test_dates=_list(explanation.get("skipped_test_dates")),
        added_test_dates=_list(explanation.get("added_test_dates")),
        follow_on_start=measure.follow_on_start,
        follow_on_end=measure.follow_on_end,
        follow_on_test_dates=measure.follow_on_test_dates,
        today=today,
    )


def next_test_date(measure: Measure, *, today: datetime.date) -> datetime.date | None:
    upcoming = [d for d in _day_set([*(measure.test_dates or []), *(measure.follow_on_test_dates or [])]) if d >= today]
    return min(upcoming, default=None)
