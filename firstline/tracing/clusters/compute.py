"""Transmission clusters from plain data: connected components of persons over counted exposures.

Pure functions, no database: ``services.clusters_recompute`` loads tuples with raw cursors and writes the result.
A cluster is keyed by the smallest person id in it, so it keeps its identity (and its page's address) while it
grows; two clusters that merge keep the key of the one holding the smaller id.

Speed (100,000 persons, 300,000 exposures): Python touches only the exposure pairs. The union-find works on a
list indexed by person id when the ids are dense enough (no dict look-up per endpoint) and the root of each tree
is its smallest id (so the key falls out of the find); the figures per cluster and the members' rows are then
computed by the database from a temporary (person, key) table.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ONE_DAY = datetime.timedelta(days=1)
# Follow-up period when no edition in force has a close-contact rule (WHO: 14 days from the last exposure).
FALLBACK_FOLLOW_UP_DAYS = 14
CLOSE_CONTACT_TRIGGER = "close_contact"
# A list indexed by person id is used when it is at most this many times longer than the number of endpoints.
_DENSE_FACTOR = 4
_DENSE_MINIMUM = 1 << 18


def cluster_label(key: int) -> str:
    """Stable: derived from the key only, so a cluster's label never changes while it grows."""
    return f"C-{key}"


@dataclass(frozen=True, slots=True)
class ClusterStats:
    """The counted exposures of one component (every exposure's two persons fall in the same one)."""

    key: int
    first_date: datetime.date
    last_date: datetime.date
    exposures: int
    active: bool


@dataclass(frozen=True, slots=True)
class CaseInfo:
    """A person's non-excluded case."""

    case_id: int
    classification: str
    path: str
    report_date: datetime.date


@dataclass(slots=True)
class ClusterRow:
    key: int
    label: str
    size: int
    case_count: int
    exposure_count: int
    first_date: datetime.date
    last_date: datetime.date
    active: bool
    path: str

    def values(self) -> tuple[Any, ...]:
        return (
            self.label,
            self.size,
            self.case_count,
            self.exposure_count,
            self.first_date,
            self.last_date,
            self.active,
            self.path,
        )


def components(pairs: Sequence[tuple[int, int]], *, high: int | None = None) -> dict[int, int]:
    """Each person appearing in ``pairs`` → the smallest person id of its connected component.

    ``high`` (the largest id that may appear) saves a pass over the pairs when the caller knows it.
    """
    if not pairs:
        return {}
    if high is None:
        high = max(map(max, pairs))
    if high + 1 <= max(_DENSE_FACTOR * 2 * len(pairs), _DENSE_MINIMUM):
        return _components_dense(pairs, high)
    # Sparse ids (a long-lived database): number the persons first, then the same algorithm on the numbers.
    ids = sorted({x for pair in pairs for x in pair})
    number = {person: i for i, person in enumerate(ids)}
    numbered = [(number[a], number[b]) for a, b in pairs]
    dense = _components_dense(numbered, len(ids) - 1)
    return {ids[i]: ids[root] for i, root in dense.items()}


def _components_dense(pairs: Iterable[tuple[int, int]], high: int) -> dict[int, int]:
    # Invariant: parent[i] <= i, so every root is the smallest id of its tree and one forward pass resolves all.
    parent = list(range(high + 1))
    for a, b in pairs:
        ra = parent[a]
        while ra != parent[ra]:
            ra = parent[ra]
        rb = parent[b]
        while rb != parent[rb]:
            rb = parent[rb]
        if ra < rb:
            parent[rb] = parent[b] = parent[a] = ra
        elif rb < ra:
            parent[ra] = parent[a] = parent[b] = rb
        else:
            parent[a] = parent[b] = ra
    result: dict[int, int] = {}
    for i, p in enumerate(parent):
        if p != i:
            root = parent[p]
            parent[i] = root
            result[i] = root
            result[root] = root
    return result


def follow_up_days(edition: Any) -> int:
    """Days after an exposure during which a close contact is followed, under ``edition`` (an EditionSpec)."""
    rule = edition.rules.get(CLOSE_CONTACT_TRIGGER) if edition is not None else None
    if rule is None:
        return FALLBACK_FOLLOW_UP_DAYS
    return int(rule.duration_days) + int(rule.follow_on_days or 0)


def active_end_dates(
    follow_up_on: Callable[[datetime.date], int], *, today: datetime.date, longest: int
) -> list[tuple[datetime.date, datetime.date | None]]:
    """The end dates that make an exposure active, as [from, until] intervals (``until`` None: no limit).

    An exposure ending on day d is active when d + follow-up(d) ≥ today, the follow-up being that of the edition in
    force on d. Editions change the period, so the set need not be one interval; ``longest`` bounds the search.
    """
    intervals: list[tuple[datetime.date, datetime.date | None]] = []
    start: datetime.date | None = None
    day = today - datetime.timedelta(days=longest)
    while day < today:
        if day + datetime.timedelta(days=follow_up_on(day)) >= today:
            start = start or day
        elif start is not None:
            intervals.append((start, day - ONE_DAY))
            start = None
        day += ONE_DAY
    intervals.append((start or today, None))
    return intervals


def build(
    *,
    key_of: Mapping[int, int],
    stats: Iterable[ClusterStats],
    cases: Mapping[int, CaseInfo],
    key_paths: Mapping[int, str],
) -> dict[int, ClusterRow]:
    """The clusters by key: ``key_of`` (from ``components``) maps each person to its cluster's key, ``stats`` has
    the exposures' figures per key, ``cases`` the non-excluded cases by person, ``key_paths`` the path of each
    key's person. The cluster's path is its earliest reported case's, else its smallest person's.
    """
    sizes = Counter(key_of.values())
    clusters: dict[int, ClusterRow] = {}
    for row in stats:
        if row.key not in sizes:  # an exposure written between two reads: the next recompute takes it in
            continue
        clusters[row.key] = ClusterRow(
            key=row.key,
            label=cluster_label(row.key),
            size=sizes[row.key],
            case_count=0,
            exposure_count=row.exposures,
            first_date=row.first_date,
            last_date=row.last_date,
            active=row.active,
            path=key_paths.get(row.key, ""),
        )
    earliest: dict[int, tuple[datetime.date, int]] = {}
    for person_id, case in cases.items():
        key = key_of.get(person_id)
        cluster = clusters.get(key) if key is not None else None
        if cluster is None:
            continue
        cluster.case_count += 1
        order = (case.report_date, case.case_id)
        if cluster.key not in earliest or order < earliest[cluster.key]:
            earliest[cluster.key] = order
            cluster.path = case.path or cluster.path
    return clusters


def member_role(*, has_case: bool, contact_kind: str | None) -> str:
    """A member's role (the SQL of ``services`` applies the same rule set-based)."""
    if has_case:
        return "case"
    return contact_kind or "other"
