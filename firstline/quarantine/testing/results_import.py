"""Import of lab result lists (CSV or xlsx): ID number, sampling time, result, lab; tube barcode and name optional.

The list goes through the screening import machinery as the kind ``lab_results`` (``register`` adds it): upload →
header row found with Chinese/English synonyms → column mapping → dry run with row errors → import (all rows or
nothing by default, or the valid rows) → summary and error workbook, with progress. ``import_file`` runs a file on
disk at once (the benchmark's entry point).

A row's result lands on the person's sampling the way ``services.match_sampling`` finds it: by tube barcode, else
the person's scheduled sampling of the sampling day, else an unscheduled one taken that day; when none matches an
unscheduled sampling is added (where the person is placed). The same values again change nothing, so importing a
file twice changes nothing the second time. Rows are checked against the state before the import (a row never
matches a sampling another row of the same file added or changed).

Two paths, one outcome (a test runs both on PostgreSQL and compares):

* PostgreSQL: the parsed rows are COPYed into a temporary table; persons and samplings are resolved with a few
  set-based joins on indexed columns (persons by (id_type, id_number) — with the type in the join PostgreSQL uses
  the unique index, not the trigram one on the number —, samplings by tube, (person, due date) and (person,
  sampled at)); the new and changed samplings and the audit rows are written with one statement each.
* other databases (SQLite): the rows are resolved in chunks with the ORM and written with bulk statements.

Either way the rare results that set something off (positive → suspected case and CDC task; invalid → repeat
sampling) then go through ``services.after_result`` one by one, in the same transaction.

Audit: every sampling an import writes names its job (``import_job``, ``result_source`` "import"); the job keeps the
file, who ran it and the summary, and has its own audit event. A result that replaces an earlier one also gets an
audit event of its own with before and after. A first result is not audited row by row: at 100,000 rows an audit
row per sampling cost as much as writing the samplings themselves, and it would repeat what the job records.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from firstline.accounts.models import User
from firstline.accounts.roles import Perm
from firstline.core import bulk, identity, spreadsheets
from firstline.core.context import current as request_context
from firstline.core.dates import local_today
from firstline.core.models import AuditAction, AuditEvent
from firstline.core.scoping import scope_of
from firstline.people.models import IdType, Person
from firstline.quarantine.models import (
    Placement,
    PlacementStatus,
    ResultSource,
    Sampling,
    SamplingStatus,
    TestResult,
)
from firstline.quarantine.testing import services
from firstline.screening import columns
from firstline.screening.imports import services as imports
from firstline.screening.imports.services import ImportFailed, RowError
from firstline.screening.models import ImportJob, ImportKind, ImportMode

# Canonical field → header texts seen in lab lists (compared with spreadsheets.header_key).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "id_number": (
        "身份证号",
        "身份证号码",
        "身份证",
        "证件号码",
        "证件号",
        "受检者证件号",
        "id_number",
        "id number",
        "id no",
    ),
    "id_type": ("证件类型", "证件种类", "id_type", "id type"),
    "name": ("姓名", "受检者姓名", "被采样人", "名字", "name"),
    "sampled_at": ("采样时间", "采样日期", "采集时间", "采样时刻", "sampled_at", "sampling time", "sample time"),
    "result": ("检测结果", "核酸检测结果", "核酸结果", "结果", "result", "test result"),
    "lab": ("检测机构", "检测单位", "检测实验室", "实验室", "lab", "laboratory"),
    "tube_code": (
        "试管编码",
        "试管条码",
        "试管编号",
        "采样管编号",
        "管码",
        "条码",
        "样本编号",
        "tube_code",
        "tube",
        "barcode",
    ),
    "result_at": ("报告时间", "检测时间", "结果时间", "出结果时间", "result_at", "result time", "reported at"),
}
REQUIRED = ("id_number", "sampled_at", "result", "lab")
LABELS: dict[str, Any] = {
    "id_number": gettext_lazy("ID number"),
    "id_type": gettext_lazy("ID type"),
    "name": gettext_lazy("Name"),
    "sampled_at": gettext_lazy("Sampling time"),
    "result": gettext_lazy("Result"),
    "lab": gettext_lazy("Laboratory"),
    "tube_code": gettext_lazy("Tube barcode"),
    "result_at": gettext_lazy("Result time"),
}
# Cell value (columns.value_key form) → stored result.
RESULT_VALUES: dict[str, str] = {
    **dict.fromkeys(("阴性", "阴", "阴性(-)", "(-)", "-", "未检出", "negative", "neg", "n"), TestResult.NEGATIVE.value),
    **dict.fromkeys(("阳性", "阳", "阳性(+)", "(+)", "+", "检出", "positive", "pos", "p"), TestResult.POSITIVE.value),
    **dict.fromkeys(
        ("无效", "复检", "需复检", "重采", "需重采", "invalid", "invalid-repeat", "repeat"), TestResult.INVALID.value
    ),
}
CHUNK_ROWS = 2000
PROGRESS_EVERY = 5000
_RE_RESIDENT_18 = re.compile(r"[1-7][0-9]{16}[0-9Xx]", re.ASCII)


def register() -> None:
    """Make lab-result lists a kind of import (idempotent; called at start-up)."""
    imports.register_importer(
        imports.ImportSpec(
            kind=ImportKind.LAB_RESULTS,
            synonyms=SYNONYMS,
            required=REQUIRED,
            labels=LABELS,
            permission=Perm.RESULT_ENTER,
            importer=lambda actor, job, today: ResultImporter(actor=actor, job=job, today=today),
            home="quarantine:results_import",
            home_label=gettext_lazy("Lab results"),
            nav_active="samplings",
            figures=(
                (gettext_lazy("unscheduled samplings added"), "samplings_added"),
                (gettext_lazy("positive results (suspected cases, CDC alerted)"), "positives"),
                (gettext_lazy("repeat samplings scheduled"), "repeats"),
            ),
        )
    )


def import_file(*, actor: User, path: Path, filename: str, dry_run: bool, valid_only: bool = False) -> dict[str, Any]:
    """Import (or check) a lab list on disk at once and return its summary: ``rows``, ``created`` (results recorded
    where there was none, also as ``imported``), ``updated``, ``unchanged``, ``rejected``, ``errors`` (row, field,
    reason), ``samplings_added``, ``positives``, ``repeats``, ``written`` and the job id as ``job``."""
    register()
    job, summary = imports.run_file(
        actor=actor,
        path=path,
        kind=ImportKind.LAB_RESULTS,
        dry_run=dry_run,
        valid_only=valid_only,
        filename=filename,
    )
    return summary.as_dict() | {"job": job.pk}


class StaleSamplings(Exception):
    """A sampling the import is about to update changed since it was read: nothing is written."""


@dataclass
class ResultSummary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    samplings_added: int = 0
    positives: int = 0
    repeats: int = 0
    cases_kept: int = 0
    errors: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "imported": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": [error.as_dict() for error in self.errors],
            "samplings_added": self.samplings_added,
            "positives": self.positives,
            "repeats": self.repeats,
            "cases_kept": self.cases_kept,
            "notes": self.notes,
            "written": self.written,
        }


class Parsed(NamedTuple):
    """A row that passed the cell checks (the staging table's columns, in order)."""

    number: int
    id_type: str
    id_number: str
    name: str
    sampled_at: datetime.datetime
    day: datetime.date
    result: str
    lab: str
    tube: str
    result_at: datetime.datetime | None


@dataclass
class Decision:
    """What a row does: ``sampling_id`` None → a new unscheduled sampling; ``same`` → nothing."""

    row: Parsed
    person_id: int
    person_path: str
    person_name: str
    sampling_id: int | None = None
    version: int = 0
    old_status: str = ""
    old_result: str = ""
    old_lab: str = ""
    old_tube: str = ""
    old_sampled_at: datetime.datetime | None = None
    path: str = ""
    case_id: int | None = None
    same: bool = False
    new_id: int | None = None


class ResultImporter:
    """One lab list, checked (dry run) or imported, as its job says."""

    def __init__(self, *, actor: User, job: ImportJob, today: datetime.date | None = None) -> None:
        self.actor = actor
        self.job = job
        self.dry_run = job.dry_run
        self.mode = job.mode
        self.mapping: dict[str, int] = {k: int(v) for k, v in job.mapping.items()}
        self.today = today or local_today()
        self.now = timezone.now()
        self.tz = timezone.get_current_timezone()
        self.summary = ResultSummary()
        self.rejected_rows: list[tuple[int, list[Any], str]] = []
        self.set_based = _set_based()
        self._late: dict[int, list[RowError]] = {}  # row → errors found when resolving (cells re-read at the end)
        self._moments: dict[Any, datetime.datetime | str] = {}
        self._results: dict[str, str | None] = {}
        self._tubes: dict[str, int] = {}
        self._keys: dict[tuple[str, str, datetime.date], int] = {}

    # ---- the run
    def run(self, rows: Iterable[tuple[int, list[Any]]], *, header_row: int = 1) -> ResultSummary:
        write = not self.dry_run
        try:
            with transaction.atomic():
                parsed = self._parse(rows, header_row=header_row)
                if self.set_based:
                    self._resolve_sql(parsed, write=write)
                    self._count_sql()
                else:
                    decisions = self._resolve_orm(parsed)
                    self._count(decisions)
                rejected = len(self.rejected_rows) + len(self._late)
                stop = self.mode == ImportMode.ALL_OR_NOTHING and rejected > 0
                if write and stop:
                    raise ImportFailed
                if write:
                    self._follow_up(self._write_sql() if self.set_based else self._write_orm(decisions))
                if self.set_based:
                    with connection.cursor() as cursor:
                        cursor.execute(f"DROP TABLE IF EXISTS {', '.join(_TEMP_TABLES)}")
                self.summary.written = write
        except ImportFailed:
            self.summary.written = False
        self._finish()
        return self.summary

    def _finish(self) -> None:
        """Errors in row order; the rejected rows' cells (re-read for rows refused while resolving)."""
        if self._late:
            for number, cells in imports._rows(Path(self.job.file.path), self.job.original_name):
                if number in self._late:
                    errors = self._late[number]
                    self.summary.errors.extend(errors)
                    self.rejected_rows.append((number, cells, "; ".join(f"{e.field}: {e.reason}" for e in errors)))
        self.summary.errors.sort(key=lambda e: e.row)
        self.rejected_rows.sort(key=lambda r: r[0])
        self.summary.rejected = len(self.rejected_rows)
        cache.set(imports.progress_key(self.job.pk), self.summary.rows, timeout=24 * 3600)
        if self.summary.cases_kept:
            self.summary.notes.append(
                _(
                    "%(n)s results changed from positive: their suspected cases stay open (the CDC excludes a case on "
                    "its page)."
                )
                % {"n": self.summary.cases_kept}
            )

    def _reject_late(self, number: int, name: str, reason: Any) -> None:
        self._late.setdefault(number, []).append(RowError(number, name, str(reason)))

    # ---- reading the cells
    def _moment(self, value: Any) -> datetime.datetime | str:
        """An aware datetime, or the reason it is not one (cached: lab lists repeat times)."""
        try:
            return self._moments[value]
        except KeyError:
            pass
        except TypeError:  # an unhashable cell
            return "not a date"
        found: datetime.datetime | str | None = None
        # The common "2022-07-18 08:30[:15]" without the general parser.
        if (
            isinstance(value, str)
            and len(value) in (16, 19)
            and value[4] == "-"
            and value[7] == "-"
            and value[10] in " T"
        ):
            try:
                found = datetime.datetime.fromisoformat(value).replace(tzinfo=self.tz)
            except ValueError:
                found = None
        if found is None:
            try:
                found = spreadsheets.parse_moment(value, tz=self.tz, today=self.today)
            except ValueError as exc:
                found = str(exc)
        if len(self._moments) < 200_000:
            self._moments[value] = found
        return found

    def _result(self, raw: str) -> str | None:
        try:
            return self._results[raw]
        except KeyError:
            found = self._results[raw] = RESULT_VALUES.get(columns.value_key(raw))
            return found

    def _id(self, raw: str, id_type: str) -> tuple[str, str]:
        # A well-formed resident ID is only upper-cased here: a wrong check digit finds no person, and the row's
        # error then says why (``_person_error``).
        if id_type == IdType.RESIDENT and len(raw) == 18 and _RE_RESIDENT_18.fullmatch(raw):
            return id_type, raw.upper()
        return identity.normalize_id_number(raw, id_type, today=self.today)

    def _parse(self, rows: Iterable[tuple[int, list[Any]]], *, header_row: int) -> Iterator[Parsed]:
        """The rows that pass the cell checks; the others are rejected here, with every reason."""
        now, summary, job_pk = self.now, self.summary, self.job.pk
        index = self.mapping
        at_id, at_time, at_result, at_lab = (index[name] for name in REQUIRED)
        at_type, at_name, at_tube, at_result_at = (index.get(n) for n in ("id_type", "name", "tube_code", "result_at"))
        width = max(index.values()) + 1
        padding = [""] * width
        text = _text
        resident = IdType.RESIDENT.value
        for number, cells in rows:  # wholly blank rows are already skipped by the reader
            if number <= header_row:
                continue
            if len(cells) < width:
                cells = [*cells, *padding[len(cells) :]]
            summary.rows += 1
            if summary.rows % PROGRESS_EVERY == 0:
                cache.set(imports.progress_key(job_pk), summary.rows, timeout=24 * 3600)
            errors: list[RowError] = []
            id_type = resident
            if at_type is not None and (raw_type := text(cells[at_type])):
                try:
                    id_type = columns.map_value(columns.ID_TYPE_VALUES, raw_type, field="id_type")
                except ValueError as exc:
                    errors.append(RowError(number, "id_type", str(exc)))
            id_number = ""
            try:
                id_type, id_number = self._id(text(cells[at_id]), id_type)
            except identity.IdentityError as exc:
                errors.append(RowError(number, "id_number", str(exc)))
            raw_time = cells[at_time]
            sampled_at = self._moment(raw_time.strip() if raw_time.__class__ is str else raw_time)
            if isinstance(sampled_at, str):
                errors.append(RowError(number, "sampled_at", sampled_at))
            elif sampled_at > now:
                errors.append(RowError(number, "sampled_at", _("The sampling time is in the future.")))
            raw_result = text(cells[at_result])
            result = self._result(raw_result)
            if result is None:
                what = _("unknown result %(value)r") % {"value": raw_result} if raw_result else _("no result")
                errors.append(RowError(number, "result", f"{what}; {_('allowed')}: {_ALLOWED_RESULTS}"))
            lab = text(cells[at_lab])
            if not lab:
                errors.append(RowError(number, "lab", _("Name the laboratory.")))
            else:
                lab = " ".join(lab.split()) if "  " in lab or "\t" in lab or "\n" in lab else lab
                if len(lab) > services.LAB_MAX:
                    errors.append(RowError(number, "lab", _("At most %(n)s characters.") % {"n": services.LAB_MAX}))
            tube = ""
            if at_tube is not None and (raw_tube := text(cells[at_tube])):
                tube = raw_tube.upper() if raw_tube.isascii() and raw_tube.isalnum() else services.clean_tube(raw_tube)
                if len(tube) > services.TUBE_MAX:
                    errors.append(RowError(number, "tube_code", _("A tube barcode has at most 40 characters.")))
            name = text(cells[at_name]) if at_name is not None else ""
            result_at: datetime.datetime | str | None = None
            if at_result_at is not None and (raw_at := cells[at_result_at]) not in (None, ""):
                result_at = self._moment(raw_at.strip() if isinstance(raw_at, str) else raw_at)
                if isinstance(result_at, str):
                    errors.append(RowError(number, "result_at", result_at))
                elif result_at > now:
                    errors.append(RowError(number, "result_at", _("The result time is in the future.")))
                elif isinstance(sampled_at, datetime.datetime) and result_at < sampled_at:
                    errors.append(RowError(number, "result_at", _("The result cannot come before the sampling.")))
            day = None
            if not errors:
                assert isinstance(sampled_at, datetime.datetime)
                day = sampled_at.date()  # moments are in the current time zone
                if tube:
                    earlier = self._tubes.setdefault(tube, number)
                    if earlier != number:
                        errors.append(RowError(number, "tube_code", _("Same tube as row %(row)s.") % {"row": earlier}))
                else:
                    earlier = self._keys.setdefault((id_type, id_number, day), number)
                    if earlier != number:
                        reason = _("Same person and sampling day as row %(row)s.") % {"row": earlier}
                        errors.append(RowError(number, "id_number", reason))
            if errors:
                summary.errors.extend(errors)
                self.rejected_rows.append((number, cells, "; ".join(f"{e.field}: {e.reason}" for e in errors)))
                continue
            assert isinstance(sampled_at, datetime.datetime) and result is not None and day is not None
            yield Parsed(
                number,
                id_type,
                id_number,
                name,
                sampled_at,
                day,
                result,
                lab,
                tube,
                result_at if isinstance(result_at, datetime.datetime) else None,
            )

    def _person_error(self, number: int, id_type: str, id_number: str) -> None:
        """No (visible) person: the precise reason when the ID number itself is wrong."""
        try:
            identity.normalize_id_number(id_number, id_type, today=self.today)
        except identity.IdentityError as exc:
            self._reject_late(number, "id_number", str(exc))
            return
        self._reject_late(number, "id_number", _("No person with this ID number in your jurisdiction."))

    def _name_differs(self, name: str, person_name: str) -> bool:
        return bool(name) and name != person_name and identity.normalize_name(name) != person_name

    # ---- resolving and writing with the ORM (SQLite)
    def _resolve_orm(self, parsed: Iterable[Parsed]) -> list[Decision]:
        """Every row resolved against the samplings as they were before the import (read in chunks)."""
        decisions: list[Decision] = []
        tube_owner: dict[int, int] = {}
        chunk: list[Parsed] = []
        for row in parsed:
            chunk.append(row)
            if len(chunk) >= CHUNK_ROWS:
                decisions += self._resolve_chunk(chunk, tube_owner)
                chunk = []
        if chunk:
            decisions += self._resolve_chunk(chunk, tube_owner)
        return self._check(decisions, tube_owner)

    def _resolve_chunk(self, chunk: list[Parsed], tube_owner: dict[int, int]) -> list[Decision]:
        keys = {(r.id_type, r.id_number) for r in chunk}
        found: dict[tuple[str, str], int] = {}
        rows = Person.objects.filter(
            id_type__in={t for t, _n in keys}, id_number__in={n for _t, n in keys}
        ).values_list("id_type", "id_number", "id", "merged_into_id")
        for id_type, id_number, pk, merged_into in rows:
            if (id_type, id_number) in keys:
                found[(id_type, id_number)] = merged_into or pk
        people = {
            pk: (path, name)
            for pk, path, name in Person.objects.visible_to(self.actor)
            .filter(pk__in=set(found.values()))
            .values_list("id", "path", "name")
        }
        tubes = {r.tube for r in chunk if r.tube}
        by_tube = {s["tube_code"]: s for s in Sampling.objects.filter(tube_code__in=tubes).values(*_SAMPLING_VALUES)}
        days = {r.day for r in chunk}
        live = (
            Sampling.objects.filter(person_id__in=set(people)).exclude(status=SamplingStatus.CANCELLED).order_by("id")
        )
        by_day: dict[tuple[int, datetime.date], list[dict[str, Any]]] = {}
        for s in live.filter(due_date__in=days).values(*_SAMPLING_VALUES):
            by_day.setdefault((s["person_id"], s["due_date"]), []).append(s)
        start, end = services.day_bounds(min(days))[0], services.day_bounds(max(days))[1]
        unscheduled: dict[tuple[int, datetime.date], list[dict[str, Any]]] = {}
        for s in live.filter(due_date__isnull=True, sampled_at__gte=start, sampled_at__lt=end).values(
            *_SAMPLING_VALUES
        ):
            day = timezone.localtime(s["sampled_at"], self.tz).date()
            unscheduled.setdefault((s["person_id"], day), []).append(s)

        def fits(s: dict[str, Any], tube: str) -> bool:
            return not tube or s["tube_code"] in ("", tube)

        decisions = []
        for row in chunk:
            person_id = found.get((row.id_type, row.id_number))
            if person_id is None or person_id not in people:
                self._person_error(row.number, row.id_type, row.id_number)
                continue
            path, name = people[person_id]
            decision = Decision(row, person_id, path, name)
            match = by_tube.get(row.tube) if row.tube else None
            if match is not None:
                tube_owner[row.number] = match["person_id"]
            else:
                candidates = [s for s in by_day.get((person_id, row.day), []) if fits(s, row.tube)]
                candidates = candidates or [s for s in unscheduled.get((person_id, row.day), []) if fits(s, row.tube)]
                match = candidates[0] if candidates else None
            if match is not None:
                decision.sampling_id = match["id"]
                decision.version = match["version"]
                decision.old_status = match["status"]
                decision.old_result = match["result"]
                decision.old_lab = match["lab"]
                decision.old_tube = match["tube_code"]
                decision.old_sampled_at = match["sampled_at"]
                decision.path = match["path"]
                decision.case_id = match["case_id"]
            decision.same = _same(decision)
            decisions.append(decision)
        return decisions

    def _check(self, decisions: list[Decision], tube_owner: dict[int, int]) -> list[Decision]:
        """Rules a row can only break once resolved (the SQL path applies the same ones, in the same order): the
        name, another person's tube, two rows for one sampling, two rows adding one person's day."""
        kept: list[Decision] = []
        by_sampling: dict[int, int] = {}
        new_days: dict[tuple[int, datetime.date], int] = {}
        for decision in sorted(decisions, key=lambda d: d.row.number):
            row = decision.row
            if self._name_differs(row.name, decision.person_name):
                self._reject_late(row.number, "name", _NAME_DIFFERS)
                continue
            owner = tube_owner.get(row.number)
            if owner is not None and owner != decision.person_id:
                self._reject_late(row.number, "tube_code", _TUBE_OF_ANOTHER)
                continue
            if decision.sampling_id is not None:
                earlier = by_sampling.setdefault(decision.sampling_id, row.number)
                if earlier != row.number:
                    self._reject_late(row.number, "sampled_at", _("Same sampling as row %(row)s.") % {"row": earlier})
                    continue
            elif not row.tube:
                earlier = new_days.setdefault((decision.person_id, row.day), row.number)
                if earlier != row.number:
                    reason = _("Same person and sampling day as row %(row)s.") % {"row": earlier}
                    self._reject_late(row.number, "id_number", reason)
                    continue
            kept.append(decision)
        return kept

    def _count(self, decisions: list[Decision]) -> None:
        summary = self.summary
        for d in decisions:
            result = d.row.result
            if d.same:
                summary.unchanged += 1
                continue
            summary.samplings_added += d.sampling_id is None
            if d.old_result:
                summary.updated += 1
            else:
                summary.created += 1
            summary.positives += result == TestResult.POSITIVE and d.old_result != TestResult.POSITIVE
            summary.repeats += result == TestResult.INVALID and d.old_result != TestResult.INVALID
            summary.cases_kept += bool(d.old_result == TestResult.POSITIVE and result != d.old_result and d.case_id)

    def _write_orm(self, decisions: list[Decision]) -> list[tuple[int, str]]:
        changed = [d for d in decisions if not d.same]
        new = [d for d in changed if d.sampling_id is None]
        placements = {
            p.person_id: p
            for p in Placement.objects.filter(
                person_id__in={d.person_id for d in new}, status=PlacementStatus.ACTIVE
            ).only("id", "person_id", "facility_id", "path", "site_path")
        }
        records = []
        for d, pk in zip(new, bulk.reserve_ids(Sampling, len(new)), strict=True):
            d.new_id = pk
            placement = placements.get(d.person_id)
            d.path = placement.path if placement else d.person_path
            records.append(
                {
                    "id": pk,
                    "version": 1,
                    "person_id": d.person_id,
                    "placement_id": placement.pk if placement else None,
                    "facility_id": placement.facility_id if placement else None,
                    "path": d.path,
                    "site_path": placement.site_path if placement else "",
                    "status": SamplingStatus.SAMPLED,
                    "sampled_at": d.row.sampled_at,
                    "tube_code": d.row.tube,
                    "result": d.row.result,
                    "result_at": d.row.result_at or self.now,
                    "lab": d.row.lab,
                    "result_source": ResultSource.IMPORT,
                    "import_job_id": self.job.pk,
                }
            )
        bulk.insert_dicts(Sampling, records, now=self.now)
        updates = [d for d in changed if d.sampling_id is not None]
        versions = dict(
            Sampling.objects.select_for_update()
            .filter(pk__in=[d.sampling_id for d in updates])
            .values_list("id", "version")
        )
        if any(versions.get(d.sampling_id or 0) != d.version for d in updates):
            raise StaleSamplings(_("Samplings changed while importing; run the import again."))
        fields = ["status", "sampled_at", "tube_code", "result", "lab", "result_at", "result_source"]
        bulk.update_rows(
            Sampling,
            [*fields, "import_job_id", "version", "updated_at"],
            [
                (
                    d.sampling_id,
                    SamplingStatus.SAMPLED,
                    d.old_sampled_at or d.row.sampled_at,
                    d.row.tube or d.old_tube,
                    d.row.result,
                    d.row.lab,
                    d.row.result_at or self.now,
                    ResultSource.IMPORT,
                    self.job.pk,
                    d.version + 1,
                    self.now,
                )
                for d in updates
            ],
        )
        content_type = ContentType.objects.get_for_model(Sampling)
        context = request_context()
        bulk.insert_dicts(
            AuditEvent,
            [
                {
                    "at": self.now,
                    "actor_id": self.actor.pk,
                    "actor_username": self.actor.username,
                    "ip": context.ip,
                    "action": AuditAction.UPDATE,
                    "content_type_id": content_type.pk,
                    "object_id": str(d.sampling_id),
                    "object_repr": f"{d.person_name} {d.row.day.isoformat()}"[:200],
                    "path": d.path,
                    "version": d.version + 1,
                    "changes": _changes(d),
                    "note": f"import {self.job.pk}",
                }
                for d in changed
                if d.old_result
            ],
            now=self.now,
        )
        return [
            (d.sampling_id or d.new_id or 0, d.old_result)
            for d in changed
            if d.row.result in _SETS_OFF and d.old_result != d.row.result
        ]

    # ---- resolving and writing with set-based SQL (PostgreSQL)
    def _resolve_sql(self, parsed: Iterable[Parsed], *, write: bool) -> None:
        """Stage the rows (COPY), resolve them in one statement, flag the rows that break a rule."""
        quote = connection.ops.quote_name
        people, samplings = quote(Person._meta.db_table), quote(Sampling._meta.db_table)
        tz = str(self.tz)
        with connection.cursor() as cursor:
            # ON COMMIT DROP ends them with the import's transaction; a caller's outer transaction (tests) may
            # hold several imports, hence the drop first.
            cursor.execute(f"DROP TABLE IF EXISTS {', '.join(_TEMP_TABLES)}")
            cursor.execute(
                "CREATE TEMP TABLE lab_rows (n integer, id_type text, id_number text, name text,"
                " sampled_at timestamptz, day date, result text, lab text, tube text, result_at timestamptz)"
                " ON COMMIT DROP"
            )
            with cursor.copy(f"COPY lab_rows ({', '.join(_STAGED)}) FROM STDIN (FORMAT BINARY)") as copy:  # type: ignore[attr-defined]
                copy.set_types(_STAGED_TYPES)
                for row in parsed:
                    copy.write_row(row)
            # Visible by path prefix; rows the prefixes miss get the full rule (site staff, task-based visibility)
            # in a second statement, only for them.
            prefixes = [_like_prefix(p) for p in scope_of(self.actor).paths]
            try:
                visible_sql, visible_params = Person.objects.visible_to(self.actor).values("id").query.sql_with_params()
            except EmptyResultSet:
                visible_sql, visible_params = "", ()
            new_id = "nextval(pg_get_serial_sequence(%s, 'id'))" if write else "NULL::bigint"
            cursor.execute(
                "CREATE TEMP TABLE lab_match ON COMMIT DROP AS"  # noqa: S608
                " SELECT r.*, COALESCE(t.id, p.id) AS person_id, COALESCE(t.path, p.path) AS person_path,"
                " COALESCE(t.name, p.name) AS person_name, COALESCE(COALESCE(t.path, p.path) LIKE ANY(%s), false)"
                " AS covered,"
                " s.person_id AS tube_person, s.id AS sampling_id, s.version, s.status AS old_status,"
                " s.result AS old_result, s.lab AS old_lab, s.tube_code AS old_tube, s.sampled_at AS old_sampled_at,"
                " s.case_id, s.path AS old_path,"
                " (s.id IS NOT NULL AND s.status = 'sampled' AND s.result = r.result AND s.lab = r.lab"
                "  AND (r.tube = '' OR s.tube_code = r.tube)) AS same,"
                f" CASE WHEN s.id IS NULL AND p.id IS NOT NULL THEN {new_id} END AS new_id,"
                " NULL::text AS problem, NULL::integer AS earlier"
                # One index probe per row (a hash join would read every person).
                f" FROM lab_rows r LEFT JOIN LATERAL (SELECT y.id, y.path, y.name, y.merged_into_id FROM {people} y"
                "  WHERE y.id_type = r.id_type AND y.id_number = r.id_number LIMIT 1) p ON true"
                # A merged-away record stands for the one it was merged into.
                f" LEFT JOIN {people} t ON t.id = p.merged_into_id"
                # The first of: the tube's sampling (whoever's), the scheduled one of the day, an unscheduled one
                # taken that day; the Append stops at the first row.
                " LEFT JOIN LATERAL ("
                f"  (SELECT {_MATCHED} FROM {samplings} x"
                "    WHERE r.tube <> '' AND x.tube_code = r.tube AND x.tube_code <> '')"
                "  UNION ALL"
                f"  (SELECT {_MATCHED} FROM {samplings} x"
                "    WHERE x.person_id = COALESCE(t.id, p.id) AND x.due_date = r.day"
                "    AND x.status <> 'cancelled' AND (r.tube = '' OR x.tube_code IN ('', r.tube)))"  # one at most
                "  UNION ALL"
                f"  (SELECT {_MATCHED} FROM {samplings} x"
                "    WHERE x.person_id = COALESCE(t.id, p.id) AND x.due_date IS NULL"
                "    AND x.status <> 'cancelled' AND x.sampled_at >= (r.day::timestamp AT TIME ZONE %s)"
                "    AND x.sampled_at < ((r.day + 1)::timestamp AT TIME ZONE %s)"
                "    AND (r.tube = '' OR x.tube_code IN ('', r.tube)) ORDER BY x.id LIMIT 1)"
                "  LIMIT 1) s ON true",
                [prefixes, *([Sampling._meta.db_table] if write else []), tz, tz],
            )
            # Temporary tables are never analysed automatically: without statistics the planner takes the 100,000
            # rows for 50 and updates the samplings by 100,000 primary-key probes in file order instead of a merge
            # join in id order (measured: the UPDATE took 2x as long).
            cursor.execute("ANALYZE lab_match")
            if visible_sql:
                cursor.execute(
                    "UPDATE lab_match SET covered = true"  # noqa: S608
                    f" WHERE NOT covered AND person_id IS NOT NULL AND person_id IN ({visible_sql})",
                    visible_params,
                )
            # The rules ``_check`` applies, in its order: person, name, tube of another person, then duplicates.
            cursor.execute(
                "UPDATE lab_match SET problem = CASE WHEN person_id IS NULL OR NOT covered THEN 'person'"
                " WHEN name <> '' AND name <> person_name THEN 'name'"
                " WHEN tube_person IS NOT NULL AND tube_person <> person_id THEN 'tube' END"
                " WHERE person_id IS NULL OR NOT covered OR (name <> '' AND name <> person_name)"
                " OR (tube_person IS NOT NULL AND tube_person <> person_id)"
            )
            cursor.execute("SELECT n, name, person_name FROM lab_match WHERE problem = 'name'")
            cleared = [n for n, name, person_name in cursor.fetchall() if not self._name_differs(name, person_name)]
            if cleared:
                cursor.execute("UPDATE lab_match SET problem = NULL WHERE n = ANY(%s)", [cleared])
            cursor.execute(
                "UPDATE lab_match m SET problem = d.problem, earlier = d.first FROM ("
                "  SELECT n, 'sampling' AS problem, first_value(n) OVER (PARTITION BY sampling_id ORDER BY n) AS first"
                "  FROM lab_match WHERE problem IS NULL AND sampling_id IS NOT NULL"
                "  UNION ALL"
                "  SELECT n, 'day', first_value(n) OVER (PARTITION BY person_id, day ORDER BY n)"
                "  FROM lab_match WHERE problem IS NULL AND sampling_id IS NULL AND tube = ''"
                " ) d WHERE m.n = d.n AND d.first <> d.n"
            )
            cursor.execute("SELECT n, problem, earlier, id_type, id_number FROM lab_match WHERE problem IS NOT NULL")
            problems = cursor.fetchall()
        for number, problem, earlier, id_type, id_number in problems:
            if problem == "person":
                self._person_error(number, id_type, id_number)
            elif problem == "name":
                self._reject_late(number, "name", _NAME_DIFFERS)
            elif problem == "tube":
                self._reject_late(number, "tube_code", _TUBE_OF_ANOTHER)
            elif problem == "sampling":
                self._reject_late(number, "sampled_at", _("Same sampling as row %(row)s.") % {"row": earlier})
            else:
                reason = _("Same person and sampling day as row %(row)s.") % {"row": earlier}
                self._reject_late(number, "id_number", reason)

    def _count_sql(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FILTER (WHERE same),"
                " count(*) FILTER (WHERE NOT same AND sampling_id IS NULL),"
                " count(*) FILTER (WHERE NOT same AND COALESCE(old_result, '') = ''),"
                " count(*) FILTER (WHERE NOT same AND COALESCE(old_result, '') <> ''),"
                " count(*) FILTER (WHERE NOT same AND result = 'positive' AND old_result IS DISTINCT FROM 'positive'),"
                " count(*) FILTER (WHERE NOT same AND result = 'invalid' AND old_result IS DISTINCT FROM 'invalid'),"
                " count(*) FILTER (WHERE NOT same AND old_result = 'positive' AND result <> 'positive'"
                "  AND case_id IS NOT NULL)"
                " FROM lab_match WHERE problem IS NULL"
            )
            row = cursor.fetchone()
        assert row is not None
        summary = self.summary
        (
            summary.unchanged,
            summary.samplings_added,
            summary.created,
            summary.updated,
            summary.positives,
            summary.repeats,
            summary.cases_kept,
        ) = row

    def _write_sql(self) -> list[tuple[int, str]]:
        """The new and changed samplings and their audit rows: a handful of statements whatever the size."""
        quote = connection.ops.quote_name
        samplings = quote(Sampling._meta.db_table)
        content_type = ContentType.objects.get_for_model(Sampling)
        context = request_context()
        values: dict[str, Any] = {
            "now": self.now,
            "job": self.job.pk,
            "actor": self.actor.pk,
            "username": self.actor.username,
            "ip": context.ip,
            "ct": content_type.pk,
            "note": f"import {self.job.pk}",
        }
        changed = "m.problem IS NULL AND NOT m.same"
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {samplings} (id, created_at, updated_at, version, person_id, measure_id, placement_id,"  # noqa: S608
                " facility_id, path, site_path, team_id, due_date, status, sampled_at, sampler_id, sampler_name,"
                " tube_code, result, result_at, lab, result_source, import_job_id, case_id, note)"
                " SELECT m.new_id, %(now)s, %(now)s, 1, m.person_id, NULL, pl.id, pl.facility_id,"
                " COALESCE(pl.path, m.person_path), COALESCE(pl.site_path, ''), NULL, NULL, 'sampled', m.sampled_at,"
                " NULL, '', m.tube, m.result, COALESCE(m.result_at, %(now)s), m.lab, 'import', %(job)s, NULL, ''"
                f" FROM lab_match m LEFT JOIN {quote(Placement._meta.db_table)} pl ON pl.person_id = m.person_id"
                f" AND pl.status = 'active' WHERE {changed} AND m.sampling_id IS NULL",
                values,
            )
            summary = self.summary
            expected = summary.created + summary.updated - summary.samplings_added  # changed existing samplings
            if expected:
                cursor.execute(
                    f"UPDATE {samplings} s SET status = 'sampled', sampled_at = COALESCE(s.sampled_at, m.sampled_at),"  # noqa: S608
                    " tube_code = CASE WHEN m.tube <> '' THEN m.tube ELSE s.tube_code END, result = m.result,"
                    " lab = m.lab, result_at = COALESCE(m.result_at, %(now)s), result_source = 'import',"
                    " import_job_id = %(job)s, version = s.version + 1, updated_at = %(now)s"
                    f" FROM lab_match m WHERE {changed} AND s.id = m.sampling_id AND s.version = m.version",
                    values,
                )
                if cursor.rowcount != expected:
                    raise StaleSamplings(_("Samplings changed while importing; run the import again."))
            # Results that replace an earlier one are audited one by one (the same changes ``_changes`` gives on
            # the other path); first results are recorded by the job (see the module's docstring).
            cursor.execute(
                f"INSERT INTO {quote(AuditEvent._meta.db_table)} (at, actor_id, actor_username, ip, action,"  # noqa: S608
                " content_type_id, object_id, object_repr, path, version, changes, note)"
                " SELECT %(now)s, %(actor)s, %(username)s, %(ip)s, 'update', %(ct)s, m.sampling_id::text,"
                " left(m.person_name || ' ' || m.day::text, 200), m.old_path, m.version + 1,"
                " jsonb_strip_nulls(jsonb_build_object("
                "  'status', CASE WHEN m.old_status <> 'sampled' THEN jsonb_build_array(m.old_status, 'sampled') END,"
                "  'result', CASE WHEN m.old_result <> m.result THEN jsonb_build_array(m.old_result, m.result) END,"
                "  'lab', CASE WHEN m.old_lab <> m.lab THEN jsonb_build_array(m.old_lab, m.lab) END,"
                "  'tube_code', CASE WHEN m.tube <> '' AND m.old_tube <> m.tube"
                "   THEN jsonb_build_array(m.old_tube, m.tube) END,"
                "  'sampled_at', CASE WHEN m.old_sampled_at IS NULL THEN jsonb_build_array(NULL, m.sampled_at) END)),"
                " %(note)s"
                f" FROM lab_match m WHERE {changed} AND m.old_result <> ''",
                values,
            )
            cursor.execute(
                "SELECT COALESCE(m.sampling_id, m.new_id), COALESCE(m.old_result, '') FROM lab_match m"  # noqa: S608
                f" WHERE {changed} AND m.result IN ('positive', 'invalid') AND m.old_result IS DISTINCT FROM m.result"
                " ORDER BY m.n"
            )
            return [(int(pk), previous) for pk, previous in cursor.fetchall()]

    # ---- what results set off
    def _follow_up(self, follow_ups: list[tuple[int, str]]) -> None:
        """Positives (case, CDC task) and invalid results (repeat sampling) through the services, one by one."""
        if not follow_ups:
            return
        samplings = Sampling.objects.select_related("person").in_bulk([pk for pk, _previous in follow_ups])
        for pk, previous in follow_ups:
            services.after_result(actor=self.actor, sampling=samplings[pk], previous=previous, today=self.today)


_NAME_DIFFERS = gettext_lazy("The name does not match the person with this ID number.")
_TUBE_OF_ANOTHER = gettext_lazy("This tube belongs to another person's sampling.")
_ALLOWED_RESULTS = "阴性/negative, 阳性/positive, 无效/invalid"
_SETS_OFF = (TestResult.POSITIVE, TestResult.INVALID)
_STAGED = ("n", "id_type", "id_number", "name", "sampled_at", "day", "result", "lab", "tube", "result_at")
_STAGED_TYPES = ("int4", "text", "text", "text", "timestamptz", "date", "text", "text", "text", "timestamptz")
_TEMP_TABLES = ("lab_rows", "lab_match")
_MATCHED = "x.id, x.person_id, x.version, x.status, x.result, x.lab, x.tube_code, x.sampled_at, x.case_id, x.path"
_SAMPLING_VALUES = (
    "id",
    "person_id",
    "due_date",
    "version",
    "status",
    "result",
    "lab",
    "tube_code",
    "sampled_at",
    "path",
    "case_id",
)


def _set_based() -> bool:
    """Whether this database takes the set-based SQL path (PostgreSQL)."""
    return bulk.is_postgresql()


def _text(value: Any) -> str:
    """``spreadsheets.cell_text`` with a shortcut for the usual plain text cell."""
    if value.__class__ is str:
        value = value.strip()
        if not value.startswith('="'):
            return value  # type: ignore[no-any-return]
    return spreadsheets.cell_text(value)


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _same(d: Decision) -> bool:
    row = d.row
    return (
        d.sampling_id is not None
        and d.old_status == SamplingStatus.SAMPLED
        and d.old_result == row.result
        and d.old_lab == row.lab
        and (not row.tube or d.old_tube == row.tube)
    )


def _changes(d: Decision) -> dict[str, list[Any]]:
    """The audit row's changes of a sampling whose result is replaced (the SQL path builds the same)."""
    row = d.row
    changes: dict[str, list[Any]] = {}
    if d.old_status != SamplingStatus.SAMPLED:
        changes["status"] = [d.old_status, SamplingStatus.SAMPLED.value]
    if d.old_result != row.result:
        changes["result"] = [d.old_result, row.result]
    if d.old_lab != row.lab:
        changes["lab"] = [d.old_lab, row.lab]
    if row.tube and d.old_tube != row.tube:
        changes["tube_code"] = [d.old_tube, row.tube]
    if d.old_sampled_at is None:
        changes["sampled_at"] = [None, row.sampled_at.isoformat()]
    return changes
