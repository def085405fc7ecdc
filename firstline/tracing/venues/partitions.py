"""Daily partitions of the check-in table on PostgreSQL (migration 0002 makes it ``PARTITION BY RANGE (start)``).

Why: check-ins are the largest table (10 million rows over two weeks in the benchmark) and live a fixed number of
days; dropping yesterday's-minus-28-days partition is instant and leaves no bloat, where a ``DELETE`` of a million
rows is slow, writes WAL for every row and needs a vacuum afterwards.

Day boundaries are Asia/Shanghai midnights, whatever ``TIME_ZONE`` says: partitions created under one boundary must
never overlap those created under another, so the boundary is fixed here rather than read from a setting that an
operator may change (China has one time zone and no daylight saving, so every partition is exactly 24 hours).

Rows whose day has no partition yet (a late or far-dated import, the maintenance task not having run) land in the
DEFAULT partition, so an insert never fails; ``ensure_partitions`` moves them into their day's partition when it
creates it. On SQLite none of this exists: every function here does nothing and the table is a plain table.
"""

from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

PARTITION_TZ = ZoneInfo("Asia/Shanghai")
TABLE = "tracing_checkin"
DEFAULT_PARTITION = f"{TABLE}_default"
_NAME = re.compile(rf"^{TABLE}_p(\d{{8}})$")
# pg_advisory_xact_lock key: two workers creating or dropping partitions at once take turns.
_LOCK_KEY = 0x636B696E  # "ckin"


def is_partitioned() -> bool:
    """True on PostgreSQL once migration 0002 has made the table partitioned."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return bool(row and row[0] == "p")


def local_day(moment: datetime.datetime) -> datetime.date:
    """The partition day a timestamp belongs to."""
    return moment.astimezone(PARTITION_TZ).date()


def day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[start, end) of a partition day as aware datetimes."""
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=PARTITION_TZ)
    return start, start + datetime.timedelta(days=1)


def partition_name(day: datetime.date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def _literal(moment: datetime.datetime) -> str:
    # Only datetimes built here reach SQL text (DDL takes no bind parameters): an ISO string with its offset.
    return "'" + moment.isoformat(sep=" ") + "'"


def existing_partitions() -> dict[datetime.date, str]:
    """The daily partitions that exist, by day (the DEFAULT partition is not listed)."""
    if not is_partitioned():
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    days: dict[datetime.date, str] = {}
    for name in names:
        match = _NAME.match(name)
        if match:
            days[datetime.datetime.strptime(match.group(1), "%Y%m%d").date()] = name
    return days


def _create_partition(cursor: CursorWrapper, day: datetime.date) -> None:
    """Create one day's partition; rows of that day waiting in the DEFAULT partition move into it."""
    start, end = day_bounds(day)
    name = partition_name(day)
    bounds = f"FROM ({_literal(start)}) TO ({_literal(end)})"
    cursor.execute(
        f'SELECT EXISTS (SELECT 1 FROM "{DEFAULT_PARTITION}" WHERE start >= %s AND start < %s)',  # noqa: S608
        [start, end],
    )
    row = cursor.fetchone()
    waiting = bool(row and row[0])
    if not waiting:
        cursor.execute(f'CREATE TABLE "{name}" PARTITION OF "{TABLE}" FOR VALUES {bounds}')
        return
    # PostgreSQL refuses to create a partition whose rows sit in the DEFAULT partition. Build the table alone,
    # move the rows in one statement, then attach it (attaching adds the indexes and foreign keys and re-checks
    # the DEFAULT partition, which no longer holds rows of that day). All in the caller's transaction.
    cursor.execute(f'CREATE TABLE "{name}" (LIKE "{TABLE}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
    cursor.execute(
        f'WITH moved AS (DELETE FROM "{DEFAULT_PARTITION}" WHERE start >= %s AND start < %s RETURNING *) '  # noqa: S608
        f'INSERT INTO "{name}" SELECT * FROM moved',
        [start, end],
    )
    cursor.execute(f'ALTER TABLE "{TABLE}" ATTACH PARTITION "{name}" FOR VALUES {bounds}')


def ensure_partitions(
    days_ahead: int = 7, *, days_back: int | None = None, today: datetime.date | None = None
) -> list[str]:
    """Create the missing daily partitions from ``today − days_back`` to ``today + days_ahead``; idempotent.

    ``days_back`` defaults to the retention period (older check-ins are refused anyway). Returns the names created.
    """
    if not is_partitioned():
        return []
    today = today or local_day(timezone.now())
    back = settings.CHECKIN_RETENTION_DAYS if days_back is None else days_back
    created: list[str] = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        have = existing_partitions()
        for offset in range(-back, days_ahead + 1):
            day = today + datetime.timedelta(days=offset)
            if day in have:
                continue
            _create_partition(cursor, day)
            created.append(partition_name(day))
    return created


def drop_partitions_before(day: datetime.date) -> list[str]:
    """Drop every daily partition of a day before ``day`` (their rows go with them); returns the names dropped."""
    if not is_partitioned():
        return []
    dropped: list[str] = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        # Rows written earlier in this same transaction leave deferred foreign-key checks that block a DROP: run
        # them now (a no-op for the purge task, whose transaction wrote nothing).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for partition_day, name in sorted(existing_partitions().items()):
            if partition_day < day:
                cursor.execute(f'DROP TABLE "{name}"')
                dropped.append(name)
    return dropped


def partition_exists(day: datetime.date) -> bool:
    return day in existing_partitions()
