"""Re-evaluating arrivals when the risk-area list or the policy changes.

A new or raised area can only concern arrivals whose travel touched its county (or was given only as the city or
province above it), inside the look-back window: those are found with one indexed query on ``place_code``, then
matched and evaluated in memory in chunks, and only the arrivals whose measure changes are written.
A new edition concerns every arrival inside the window of days since it took effect.
"""

from __future__ import annotations

import datetime
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from firstline.accounts.models import User
from firstline.core.dates import local_today
from firstline.policy import assign
from firstline.riskareas.hooks import AreaChange
from firstline.riskareas.models import RiskArea, RiskLevel
from firstline.screening.imports.services import ArrivalImporter, PersonRef, Prepared, Target
from firstline.screening.matching import TravelStay
from firstline.screening.models import (
    Arrival,
    MatchStatus,
    Reevaluation,
    ReevaluationStatus,
    TravelItem,
    TravelMatch,
)
from firstline.screening.services import CleanArrival, Registrar, active_measure

log = logging.getLogger(__name__)
CHUNK = 2000


def window_start(today: datetime.date, registrar: Registrar) -> datetime.date:
    longest = max((r.lookback_days or 0 for e in registrar.book.editions for r in e.rules.values()), default=0)
    return today - datetime.timedelta(days=max(longest, settings.REEVALUATION_WINDOW_DAYS))


def arrivals_touching(area_ids: Sequence[int], *, since: datetime.date) -> list[int]:
    """Arrivals since ``since`` whose travel lies in, above, or in the same county as these areas."""
    codes = set(
        RiskArea.objects.filter(pk__in=area_ids).exclude(division_code="").values_list("division_code", flat=True)
    )
    if not codes:
        return []
    condition = Q()
    for code in codes:
        condition |= Q(place_code__startswith=code[:6]) if len(code) >= 6 else Q(place_code__startswith=code)
        condition |= Q(place_code__in=[code[:n] for n in (2, 4) if n < len(code)])
    ids = (
        TravelItem.objects.filter(condition, arrival__arrival_date__gte=since)
        .values_list("arrival_id", flat=True)
        .distinct()
    )
    return sorted(set(ids))


def arrivals_since(since: datetime.date) -> list[int]:
    return list(Arrival.objects.filter(arrival_date__gte=since).order_by("pk").values_list("pk", flat=True))


def reevaluate(
    arrival_ids: Sequence[int],
    *,
    actor: User | None,
    run: Reevaluation | None = None,
    today: datetime.date | None = None,
) -> dict[str, Any]:
    """Re-match and re-evaluate these arrivals; write only what changes. Returns the change list."""
    registrar = Registrar(actor=actor, source="reevaluation", today=today or local_today())
    store = ArrivalImporter(actor=actor, job=None, registrar=registrar)
    counts: Counter[tuple[str, str]] = Counter()
    by_path: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    changed: list[list[Any]] = []
    for start in range(0, len(arrival_ids), CHUNK):
        chunk = arrival_ids[start : start + CHUNK]
        with transaction.atomic():
            for arrival, change, measure_type in _chunk(chunk, registrar, actor, store):
                if change in (assign.Change.UNCHANGED, assign.Change.NONE):
                    continue
                counts[(change, measure_type)] += 1
                by_path[(change, measure_type)][arrival.path[:9]] += 1
                if len(changed) < 10000:
                    changed.append([arrival.pk, change, measure_type])
        if run is not None:
            Reevaluation.objects.filter(pk=run.pk).update(rows_done=min(len(arrival_ids), start + CHUNK))
    summary = [
        {"change": change, "measure": measure, "count": count, "by_township": dict(by_path[(change, measure)])}
        for (change, measure), count in counts.most_common()
    ]
    return {"checked": len(arrival_ids), "summary": summary, "changed": changed}


def _chunk(
    ids: Sequence[int], registrar: Registrar, actor: User | None, store: ArrivalImporter | None = None
) -> Iterable[tuple[Arrival, str, str]]:
    """Decide every arrival of the chunk in memory, then write the changes with the importer's set-based steps."""
    arrivals = list(
        Arrival.objects.filter(pk__in=ids)
        .select_related("measure", "person", "household")
        .defer("measure__explanation")
        .prefetch_related("travel")
        .order_by("pk")
    )
    decided: dict[int, dict[tuple[int, int], str]] = defaultdict(dict)
    existing: dict[int, set[tuple[int, int, str]]] = defaultdict(set)
    for arrival_id, position, period_id, status in TravelMatch.objects.filter(arrival_id__in=ids).values_list(
        "arrival_id", "travel__position", "period_id", "status"
    ):
        existing[arrival_id].add((position, period_id, status))
        if status in (MatchStatus.CONFIRMED, MatchStatus.CLEARED):
            decided[arrival_id][(position, period_id)] = status
    store = store or ArrivalImporter(actor=actor, job=None, registrar=registrar)
    targets: list[Target] = []
    results: list[tuple[Arrival, str, str]] = []
    for arrival in arrivals:
        travel = sorted(arrival.travel.all(), key=lambda t: t.position)
        stays = [TravelStay(t.place_text, t.place_code, t.place_remainder, t.date_from, t.date_to) for t in travel]
        item = Prepared(
            row=0,
            clean=CleanArrival(
                person={},
                arrival={"arrival_date": arrival.arrival_date, "release_certificate": arrival.release_certificate},
                travel=[],
                household=arrival.household,
                path=arrival.path,
            ),
            stays=stays,
            key=("", ""),
        )
        current = active_measure(arrival)
        target = Target(item, arrival.pk, PersonRef(arrival.person_id, arrival.person.name), current, updated=True)
        target.decided = decided.get(arrival.pk)
        target.travel_ids = {t.position: t.pk for t in travel}
        store._decide([target])
        assert target.decision is not None
        matches_changed = {(p, hit.period.id, st) for p, hit, st in target.found} != existing.get(arrival.pk, set())
        unchanged = target.change in (assign.Change.UNCHANGED, assign.Change.NONE, assign.Change.KEPT)
        if not unchanged or matches_changed:
            if unchanged:
                target.measure_id = None  # keep the measure; only the matches are rewritten
            targets.append(target)
        measure = target.decision.measure if not unchanged else (current.measure_type if current else "none")
        results.append((arrival, target.change, measure))
    if targets:
        TravelMatch.objects.filter(arrival_id__in=[t.arrival_id for t in targets]).delete()
        store._evaluate(targets)
    return results


def describe_areas(area_ids: Sequence[int], changes: Sequence[AreaChange] = ()) -> str:
    areas = list(RiskArea.objects.filter(pk__in=area_ids).values_list("place", "level")[:3])
    text = "、".join(f"{place} ({RiskLevel(level).label})" for place, level in areas)
    if len(area_ids) > 3:
        text += f" … (+{len(area_ids) - 3})"
    kinds = sorted({c.kind for c in changes})
    return f"{'/'.join(kinds) or 'changed'}: {text}"


def start_run(
    *, kind: str, reason: str, actor: User | None, area_ids: Sequence[int] = (), edition_id: int | None = None
) -> Reevaluation:
    run = Reevaluation.objects.create(
        kind=kind, reason=reason[:300], actor=actor, area_ids=list(area_ids), edition_id=edition_id
    )
    transaction.on_commit(lambda: run_reevaluation.delay(run.pk))
    return run


@shared_task(name="firstline.screening.run_reevaluation")
def run_reevaluation(run_id: int) -> None:
    """The background job: find the arrivals concerned, re-evaluate them, store the change list."""
    run = Reevaluation.objects.select_related("actor").get(pk=run_id)
    Reevaluation.objects.filter(pk=run_id).update(status=ReevaluationStatus.RUNNING)
    try:
        registrar = Registrar(actor=run.actor, source="reevaluation")
        since = window_start(registrar.today, registrar)
        ids = arrivals_touching(run.area_ids, since=since) if run.kind == "areas" else arrivals_since(since)
        Reevaluation.objects.filter(pk=run_id).update(rows_total=len(ids))
        result = reevaluate(ids, actor=run.actor, run=run)
    except Exception as exc:
        log.exception("re-evaluation %s failed", run_id)
        Reevaluation.objects.filter(pk=run_id).update(
            status=ReevaluationStatus.FAILED, message=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    Reevaluation.objects.filter(pk=run_id).update(
        status=ReevaluationStatus.DONE,
        summary=result["summary"],
        changed=result["changed"],
        rows_done=result["checked"],
        finished_at=timezone.now(),
    )


def on_areas_changed(changes: Sequence[AreaChange], actor: Any) -> None:
    """Listener for riskareas.hooks: any change may matter (a raise adds measures; a lift may end pending ones)."""
    ids = sorted({c.area_id for c in changes})
    start_run(kind="areas", reason=describe_areas(ids, changes), actor=actor, area_ids=ids)


def on_edition_changed(edition_id: int, actor: Any) -> None:
    from firstline.policy.models import PolicyEdition

    edition = PolicyEdition.objects.filter(pk=edition_id).first()
    start_run(kind="edition", reason=f"edition: {edition}", actor=actor, edition_id=edition_id)
