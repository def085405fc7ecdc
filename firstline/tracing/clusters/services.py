"""Writes of transmission clusters: the whole set recomputed from the counted exposures, written set-based.

``clusters_recompute`` reads the exposure pairs with a plain cursor (no model instance per row), finds the
components in Python (``compute``), and hands the (person, key) table to the database, which computes each
cluster's figures and each member's row by joins. Only the difference is written: clusters are kept by key (their
ids, and so their addresses, stay stable), changed ones updated, vanished ones deleted; member rows whose cluster,
role, classification or path changed are replaced (one comparing join finds them; deleted by id, inserted by COPY
or executemany; the first run is one INSERT … SELECT). A run with nothing changed writes nothing. The same SQL runs
on PostgreSQL and SQLite. Recomputations are serialised by an advisory lock on PostgreSQL.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from firstline.core import bulk
from firstline.people.models import Person
from firstline.policy.selectors import edition_book
from firstline.tracing.clusters import compute
from firstline.tracing.models import (
    COUNTED_STATUSES,
    Case,
    Classification,
    Cluster,
    ClusterMember,
    Contact,
    ContactStatus,
    Exposure,
    MemberRole,
)

CHUNK = 5000
# Serialises recomputations on PostgreSQL (two at once would both insert the same new keys).
ADVISORY_LOCK_ID = 0x464C434C  # "FLCL"
CLUSTER_FIELDS = ("label", "size", "case_count", "exposure_count", "first_date", "last_date", "active", "path")
KEY_TABLE = "_cluster_key"
MEMBER_FIELDS = ("person_id", "cluster_id", "role", "classification", "path")


@dataclass(frozen=True)
class ClusterReport:
    clusters: int
    members: int
    created: int
    updated: int
    deleted: int
    members_written: int
    members_deleted: int
    seconds: float
    stages: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "clusters": self.clusters,
            "members": self.members,
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "members_written": self.members_written,
            "members_deleted": self.members_deleted,
            "seconds": round(self.seconds, 3),
            "stages": dict(self.stages),
        }


class Stopwatch:
    """Seconds per stage, for the report (the benchmark prints them)."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages[stage] = round(now - self._last, 3)
        self._last = now


def day_start(day: datetime.date) -> datetime.datetime:
    """Local midnight at the start of ``day`` (aware)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def active_end_intervals(*, today: datetime.date) -> list[tuple[datetime.datetime, datetime.datetime | None]]:
    """[from, until) instants of exposure ends that make a cluster active today (the editions' follow-up)."""
    book = edition_book()
    longest = max([compute.FALLBACK_FOLLOW_UP_DAYS, *(compute.follow_up_days(e) for e in book.editions)])

    def follow_up_on(day: datetime.date) -> int:
        return compute.follow_up_days(book.in_force_on(day))

    return [
        (day_start(first), day_start(last + compute.ONE_DAY) if last is not None else None)
        for first, last in compute.active_end_dates(follow_up_on, today=today, longest=longest)
    ]


def _as_date(value: Any) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))


def _local_date(value: Any, tz: datetime.tzinfo) -> datetime.date:
    """The local day of an instant read by a plain cursor (SQLite gives UTC text)."""
    if not isinstance(value, datetime.datetime):
        parsed = parse_datetime(str(value))
        if parsed is None:
            raise ValueError(f"not a datetime: {value!r}")
        value = parsed
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.astimezone(tz).date()


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _names() -> dict[str, str]:
    """Quoted table and column names for the SQL below (from the models, never from input)."""
    q = connection.ops.quote_name

    def table(model: Any) -> str:
        return q(model._meta.db_table)

    def col(model: Any, name: str) -> str:
        return q(model._meta.get_field(name).column)

    return {
        "exposure": table(Exposure),
        "e_source": col(Exposure, "source"),
        "e_start": col(Exposure, "start"),
        "e_end": col(Exposure, "end"),
        "e_status": col(Exposure, "status"),
        "person": table(Person),
        "p_path": col(Person, "path"),
        "case": table(Case),
        "c_person": col(Case, "person"),
        "c_class": col(Case, "classification"),
        "contact": table(Contact),
        "t_person": col(Contact, "person"),
        "t_kind": col(Contact, "kind"),
        "t_status": col(Contact, "status"),
        "cluster": table(Cluster),
        "member": table(ClusterMember),
        "keys": q(KEY_TABLE),
    }


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_ID])
            # Large joins and aggregates below: keep them in memory and skip JIT compilation (costs more than it saves).
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("SET LOCAL jit = off")


def _read_pairs() -> list[tuple[int, int]]:
    """(source, exposed) of every counted exposure, through a plain cursor (measured: as fast as COPY or an
    aggregated array at 300,000 rows, and portable)."""
    counted = Exposure.objects.filter(status__in=COUNTED_STATUSES).order_by().values_list("source_id", "exposed_id")
    sql, params = counted.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _write_keys(key_of: dict[int, int], names: dict[str, str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {names['keys']}")
        cursor.execute(f"CREATE TEMPORARY TABLE {names['keys']} (person_id bigint PRIMARY KEY, cluster_key bigint)")
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {names['keys']} (person_id, cluster_key) FROM STDIN") as copy:  # type: ignore[attr-defined]
                copy.write("".join(f"{person}\t{key}\n" for person, key in key_of.items()))
        else:
            sql = f"INSERT INTO {names['keys']} (person_id, cluster_key) VALUES (%s, %s)"  # noqa: S608
            items = list(key_of.items())
            for chunk in _chunks(items):
                cursor.executemany(sql, chunk)
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {names['keys']}")  # temporary tables are never analysed automatically


def _read_stats(names: dict[str, str], *, today: datetime.date) -> list[compute.ClusterStats]:
    """Per cluster key: first start, last end, count and whether an exposure is still in its follow-up period."""
    adapt = connection.ops.adapt_datetimefield_value
    branches: list[str] = []
    params: list[Any] = []
    for since, until in active_end_intervals(today=today):
        if until is None:
            branches.append(f"e.{names['e_end']} >= %s")
            params.append(adapt(since))
        else:
            branches.append(f"(e.{names['e_end']} >= %s AND e.{names['e_end']} < %s)")
            params.extend([adapt(since), adapt(until)])
    statuses = [str(status) for status in COUNTED_STATUSES]
    sql = (
        f"SELECT k.cluster_key, MIN(e.{names['e_start']}), MAX(e.{names['e_end']}), COUNT(*),"  # noqa: S608
        f" SUM(CASE WHEN {' OR '.join(branches)} THEN 1 ELSE 0 END)"
        f" FROM {names['exposure']} e JOIN {names['keys']} k ON k.person_id = e.{names['e_source']}"
        f" WHERE e.{names['e_status']} IN ({', '.join(['%s'] * len(statuses))})"
        " GROUP BY k.cluster_key"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *statuses])
        rows = cursor.fetchall()
    tz = timezone.get_current_timezone()
    return [
        compute.ClusterStats(key, _local_date(first, tz), _local_date(last, tz), count, bool(active))
        for key, first, last, count, active in rows
    ]


def _read_cases() -> dict[int, compute.CaseInfo]:
    rows = (
        Case.objects.exclude(classification=Classification.EXCLUDED)
        .order_by()
        .values_list("person_id", "id", "classification", "path", "report_date")
    )
    return {
        person_id: compute.CaseInfo(case_id, classification, path, _as_date(report_date))
        for person_id, case_id, classification, path, report_date in rows
    }


def _key_paths(names: dict[str, str]) -> dict[int, str]:
    sql = (
        f"SELECT p.id, p.{names['p_path']} FROM {names['person']} p"  # noqa: S608
        f" WHERE p.id IN (SELECT cluster_key FROM {names['keys']})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(cursor.fetchall())


def _write_clusters(clusters: dict[int, compute.ClusterRow], *, now: datetime.datetime) -> tuple[int, int, list[int]]:
    """Insert new keys, update changed ones; returns (created, updated, ids of vanished clusters)."""
    existing = {
        row[1]: row
        for row in Cluster.objects.order_by().values_list("id", "key", *CLUSTER_FIELDS).iterator(chunk_size=CHUNK)
    }
    new_keys = [key for key in clusters if key not in existing]
    ids = dict(zip(new_keys, bulk.reserve_ids(Cluster, len(new_keys)), strict=True))
    changed: list[tuple[Any, ...]] = []
    for key, cluster in clusters.items():
        old = existing.get(key)
        if old is not None and tuple(old[2:]) != cluster.values():
            changed.append((old[0], *cluster.values(), now))
    bulk.bulk_insert(
        Cluster,
        ("id", "key", *CLUSTER_FIELDS, "created_at", "updated_at"),
        [(ids[key], key, *clusters[key].values(), now, now) for key in new_keys],
    )
    if changed:
        bulk.update_rows(Cluster, (*CLUSTER_FIELDS, "updated_at"), changed)
    vanished = [row[0] for key, row in existing.items() if key not in clusters]
    return len(new_keys), len(changed), vanished


def _write_members(names: dict[str, str]) -> tuple[int, int]:
    """Replace the member rows that differ from the computed ones; returns (written, deleted)."""
    n = names
    role = (
        f"CASE WHEN cs.id IS NOT NULL THEN '{MemberRole.CASE.value}'"
        f" WHEN ct.{n['t_kind']} IS NOT NULL THEN ct.{n['t_kind']} ELSE '{MemberRole.OTHER.value}' END"
    )
    # Each computed member: its cluster (by key), role, the case's classification and the person's path.
    computed = (
        f"SELECT k.person_id AS person_id, c.id AS cluster_id, {role} AS role,"  # noqa: S608
        f" COALESCE(cs.{n['c_class']}, '') AS classification, p.{n['p_path']} AS path"
        f" FROM {n['keys']} k"
        f" JOIN {n['cluster']} c ON c.{connection.ops.quote_name('key')} = k.cluster_key"
        f" JOIN {n['person']} p ON p.id = k.person_id"
        f" LEFT JOIN {n['case']} cs ON cs.{n['c_person']} = k.person_id AND cs.{n['c_class']} <> %s"
        f" LEFT JOIN {n['contact']} ct ON ct.{n['t_person']} = k.person_id AND ct.{n['t_status']} = %s"
    )
    params = [str(Classification.EXCLUDED), str(ContactStatus.ACTIVE)]
    columns = ", ".join(MEMBER_FIELDS)
    with connection.cursor() as cursor:
        if not ClusterMember.objects.exists():
            # First run (or after a reset): nothing to compare with.
            cursor.execute(f"INSERT INTO {n['member']} ({columns}) {computed}", params)
            return int(cursor.rowcount), 0
        # One pass: the computed rows that are missing or differ, with the id of the row they replace.
        cursor.execute(
            f"SELECT m.id, w.person_id, w.cluster_id, w.role, w.classification, w.path FROM ({computed}) w"  # noqa: S608
            f" LEFT JOIN {n['member']} m ON m.person_id = w.person_id"
            " WHERE m.id IS NULL OR m.cluster_id <> w.cluster_id OR m.role <> w.role"
            " OR m.classification <> w.classification OR m.path <> w.path",
            params,
        )
        changed = cursor.fetchall()
        cursor.execute(
            f"SELECT m.id FROM {n['member']} m LEFT JOIN {n['keys']} k ON k.person_id = m.person_id"  # noqa: S608
            " WHERE k.person_id IS NULL"
        )
        stale = [row[0] for row in cursor.fetchall()]
    stale.extend(row[0] for row in changed if row[0] is not None)
    for chunk in _chunks(stale):
        ClusterMember.objects.filter(pk__in=chunk)._raw_delete(connection.alias)  # type: ignore[attr-defined]
    bulk.bulk_insert(
        ClusterMember, ("person_id", "cluster_id", "role", "classification", "path"), [r[1:] for r in changed]
    )
    return len(changed), len(stale)


@transaction.atomic
def clusters_recompute(*, now: datetime.datetime | None = None) -> ClusterReport:
    """Recompute every cluster from the counted exposures and write the difference (idempotent).

    ``now`` sets "today" for the active flag: a cluster is active while one of its exposures' end date plus the
    close-contact follow-up period (duration + follow-on) of the edition in force on that date has not passed.
    A system job: no audit row (clusters are derived data; the exposures they come from are audited where written).
    """
    started = time.perf_counter()
    watch = Stopwatch()
    now = now or timezone.now()
    today = timezone.localdate(now)
    names = _names()
    _lock()
    pairs = _read_pairs()
    watch.lap("read exposures")
    high = Person.objects.aggregate(high=Max("id"))["high"] if pairs else None
    key_of = compute.components(pairs, high=high)
    del pairs
    watch.lap("components")
    _write_keys(key_of, names)
    watch.lap("write keys")
    stats = _read_stats(names, today=today)
    watch.lap("figures per cluster")
    clusters = compute.build(key_of=key_of, stats=stats, cases=_read_cases(), key_paths=_key_paths(names))
    watch.lap("cases and paths")
    dropped = set(key_of.values()).difference(clusters)
    if dropped:  # keys without figures (an exposure written between two reads): the next recompute takes them in
        with connection.cursor() as cursor:
            for chunk in _chunks(sorted(dropped)):
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(f"DELETE FROM {names['keys']} WHERE cluster_key IN ({marks})", list(chunk))  # noqa: S608
    created, updated, vanished = _write_clusters(clusters, now=now)
    watch.lap("write clusters")
    written, deleted = _write_members(names)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {names['keys']}")
    watch.lap("write members")
    for chunk in _chunks(vanished):
        # Their members were moved or deleted above, so this deletes the cluster rows only.
        Cluster.objects.filter(pk__in=chunk).delete()
    watch.lap("delete vanished clusters")
    return ClusterReport(
        clusters=len(clusters),
        members=sum(cluster.size for cluster in clusters.values()),
        created=created,
        updated=updated,
        deleted=len(vanished),
        members_written=written,
        members_deleted=deleted,
        seconds=time.perf_counter() - started,
        stages=watch.stages,
    )
