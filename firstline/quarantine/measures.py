"""Placements follow measures: the governing measure of a person, a placement's dates, its scheduled samplings.

A person can hold several active measures at once (one for an arrival, one as a contact); the one that governs is
the strictest, then the one that ends last. When any measure of a placed person changes (``policy.hooks``), the
placement takes the governing measure's end as its due date and its samplings are rescheduled to the measure's test
days: a new exposure or a positive household member extends the stay per the policy, with the measure's
explanation, and nobody edits a date by hand.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from firstline.core import audit
from firstline.core.concurrency import versioned_update
from firstline.core.models import AuditAction
from firstline.policy.models import SEVERITY, Measure, MeasureStatus, MeasureType
from firstline.quarantine.models import (
    Placement,
    PlacementKind,
    PlacementPhase,
    PlacementStatus,
    Sampling,
    SamplingStatus,
)


def _overall_end(measure: Measure) -> datetime.date:
    return measure.follow_on_end or measure.end


def governing(measures: Iterable[Measure]) -> Measure | None:
    """The strictest active measure; among equals, the one that ends last (then the newest)."""
    candidates = [m for m in measures if m.status == MeasureStatus.ACTIVE and m.measure_type != MeasureType.NONE]
    if not candidates:
        return None
    return max(candidates, key=lambda m: (SEVERITY[MeasureType(m.measure_type)], m.end, _overall_end(m), m.pk or 0))


def governing_measures(person_ids: Iterable[int]) -> dict[int, Measure]:
    """person id → governing measure, one query."""
    by_person: dict[int, list[Measure]] = defaultdict(list)
    for measure in Measure.objects.filter(person_id__in=list(person_ids), status=MeasureStatus.ACTIVE):
        by_person[measure.person_id].append(measure)
    result = {}
    for person_id, measures in by_person.items():
        chosen = governing(measures)
        if chosen is not None:
            result[person_id] = chosen
    return result


def phase_dates(measure: Measure, phase: str) -> tuple[datetime.date, list[datetime.date]]:
    """(release due date, test days) of the measure's main part or of its follow-on."""
    if phase == PlacementPhase.FOLLOW_ON and measure.follow_on_end is not None:
        tests = measure.follow_on_test_dates
        return measure.follow_on_end, sorted(datetime.date.fromisoformat(d) for d in tests)
    return measure.end, sorted(datetime.date.fromisoformat(d) for d in measure.test_dates)


def schedule_samplings(placement: Placement, *, actor: Any = None) -> tuple[int, int]:
    """Make the placement's scheduled samplings match its measure's test days; returns (added, cancelled).

    Days before the placement began are not scheduled (they were the person's past); a sampled day is never
    touched; a scheduled day the measure no longer has is cancelled, a new one is added. Samplings that belong to
    no measure (a repeat after an invalid result, one asked for by hand) are left alone.
    """
    if placement.measure_id is None or placement.status != PlacementStatus.ACTIVE:
        return 0, 0
    measure = placement.measure
    assert measure is not None
    _due, days = phase_dates(measure, placement.phase)
    first = timezone.localtime(placement.start_at).date()
    wanted = {day for day in days if day >= first}
    existing = list(
        Sampling.objects.filter(person_id=placement.person_id, due_date__isnull=False).exclude(
            status=SamplingStatus.CANCELLED
        )
    )
    have = {s.due_date for s in existing}
    stale = [
        s
        for s in existing
        if s.status == SamplingStatus.SCHEDULED
        and s.measure_id is not None  # a repeat after an invalid result is not on any calendar: it stays
        and s.due_date not in wanted
        and s.due_date is not None
        and s.due_date >= first
    ]
    if stale:
        Sampling.objects.filter(pk__in=[s.pk for s in stale]).update(
            status=SamplingStatus.CANCELLED, note="measure changed", updated_at=timezone.now()
        )
        audit.record_many(
            actor=actor,
            action=AuditAction.UPDATE,
            instances=stale,
            changes=lambda s: {"status": [SamplingStatus.SCHEDULED, SamplingStatus.CANCELLED]},
        )
    # Samplings of this placement's days that an earlier placement of the person scheduled move over with them.
    moved = [
        s
        for s in existing
        if s.due_date in wanted and s.placement_id != placement.pk and s.status == SamplingStatus.SCHEDULED
    ]
    if moved:
        Sampling.objects.filter(pk__in=[s.pk for s in moved], status=SamplingStatus.SCHEDULED).update(
            placement=placement, facility_id=placement.facility_id, site_path=placement.site_path
        )
        was = {s.pk: (s.placement_id, s.facility_id) for s in moved}
        audit.record_many(
            actor=actor,
            action=AuditAction.UPDATE,
            instances=moved,
            changes=lambda s: {
                "placement": [was[s.pk][0], placement.pk],
                "facility": [was[s.pk][1], placement.facility_id],
            },
            note="moved to the new placement",
        )
    new = [
        Sampling(
            person_id=placement.person_id,
            measure_id=placement.measure_id,
            placement=placement,
            facility_id=placement.facility_id,
            path=placement.path,
            site_path=placement.site_path,
            due_date=day,
            status=SamplingStatus.SCHEDULED,
        )
        for day in sorted(wanted - have)
    ]
    if new:
        Sampling.objects.bulk_create(new)
        audit.record_many(
            actor=actor, action=AuditAction.CREATE, instances=new, changes=lambda s: audit.diff({}, audit.snapshot(s))
        )
    return len(new), len(stale)


def follow_measure(placement: Placement, measure: Measure | None, *, actor: Any = None) -> Placement:
    """Point an active placement at ``measure`` (the person's governing one) and move its dates with it."""
    if measure is None or placement.status != PlacementStatus.ACTIVE:
        return placement
    due, _days = phase_dates(measure, placement.phase)
    if placement.measure_id == measure.pk and placement.due_date == due:
        return placement
    before = audit.snapshot(placement, ["measure", "due_date"])
    placement = versioned_update(
        placement, expected_version=placement.version, values={"measure": measure, "due_date": due}
    )
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=placement,
        changes=audit.diff(before, audit.snapshot(placement, ["measure", "due_date"])),
        note="measure changed",
    )
    schedule_samplings(placement, actor=actor)
    return placement


def sync_persons(person_ids: list[int], actor: Any = None) -> int:
    """``policy.hooks`` listener: active placements of these people follow their governing measures."""
    placements = list(
        Placement.objects.filter(person_id__in=person_ids, status=PlacementStatus.ACTIVE).select_related("measure")
    )
    if not placements:
        return 0
    measures = governing_measures(p.person_id for p in placements)
    changed = 0
    with transaction.atomic():
        for placement in placements:
            measure = measures.get(placement.person_id)
            if measure is not None and (
                measure.pk != placement.measure_id or placement.due_date != phase_dates(measure, placement.phase)[0]
            ):
                follow_measure(placement, measure, actor=actor)
                changed += 1
    return changed


def expected_kind(measure: Measure, phase: str = PlacementPhase.MAIN) -> str | None:
    """Where the measure keeps a person: a site, home, or nowhere (tests only, self monitoring)."""
    measure_type = measure.follow_on_type if phase == PlacementPhase.FOLLOW_ON else measure.measure_type
    if measure_type == MeasureType.CENTRALISED_QUARANTINE:
        return PlacementKind.CENTRALISED
    if measure_type in (MeasureType.HOME_QUARANTINE, MeasureType.HOME_HEALTH_MONITORING):
        return PlacementKind.HOME
    return None
