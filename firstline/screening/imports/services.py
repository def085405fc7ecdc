"""Bulk import of arrival lists: upload → header mapping → dry run with row errors → import.

The upload, mapping, check and import steps (and their pages) serve other kinds of list too: each kind registers
an ``ImportSpec`` (its header synonyms, required fields, permission and importer) with ``register_importer``;
arrival lists are the kind registered here, lab results register from ``firstline.quarantine.testing``.

One pass over the rows, in chunks: each row is read, mapped, normalised and validated by the same ``Registrar``
that registers a single arrival; a chunk's persons, arrivals, travel, matches, measures, tasks and audit rows are
then written with a handful of bulk statements. In all-or-nothing mode the whole import is one transaction that
is rolled back if any row was rejected (the rows are still all checked, so the report lists every error); in
valid-only mode the rejected rows are left out and returned as an error workbook.

Idempotent: a person is found by ID (the database's unique constraint decides between two imports running at
once), an arrival by person + arrival date: the same file twice adds nothing.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from firstline.accounts.models import User
from firstline.accounts.roles import Perm
from firstline.accounts.selectors import officer_for
from firstline.core import audit, bulk, identity, spreadsheets
from firstline.core.context import current as request_context
from firstline.core.models import AuditAction, AuditEvent
from firstline.core.scoping import scope_of
from firstline.dispatch.models import OPEN_STATUSES, Task, TaskPriority, TaskStatus
from firstline.people.models import IdType, Person
from firstline.policy import assign, hooks
from firstline.policy.engine import Decision
from firstline.policy.models import Measure, MeasureStatus
from firstline.regions.models import Division, Household
from firstline.screening import columns
from firstline.screening.matching import TravelStay
from firstline.screening.models import (
    Arrival,
    ArrivalSource,
    ArrivalStatus,
    ColumnMapping,
    ImportJob,
    ImportKind,
    ImportMode,
    ImportStatus,
    MatchStatus,
    TravelItem,
    TravelMatch,
)
from firstline.screening.services import (
    ARRIVAL_FIELDS,
    URGENT_MEASURES,
    CleanArrival,
    Registrar,
    active_measure,
    follow_title,
    match_title,
    resolve_title,
    visit_title,
)

log = logging.getLogger(__name__)

FIELDS = tuple(columns.ARRIVAL_SYNONYMS)
REQUIRED = ("name", "id_number", "arrival_date")
MAX_ERRORS_KEPT = 20000
_VIA_SPLIT = re.compile(r"[、,，;；/→>＞\n]+|\s{2,}|-{1,2}>")


class ImportFailed(Exception):
    """Raised inside the import transaction to roll it back (all-or-nothing with rejected rows)."""


@dataclass
class RowError:
    row: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "reason": self.reason}


@dataclass
class Summary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    persons_created: int = 0
    unresolved: int = 0
    tasks: int = 0
    measures: Counter[str] = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)
    written: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": [error.as_dict() for error in self.errors],
            "persons_created": self.persons_created,
            "unresolved": self.unresolved,
            "tasks": self.tasks,
            "measures": dict(self.measures),
            "written": self.written,
        }


# -- kinds of list ----------------------------------------------------------------------------------------------


class ImportResult(Protocol):
    """What the shared steps (and pages) read of an importer's summary."""

    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    written: bool
    errors: list[RowError]

    def as_dict(self) -> dict[str, Any]: ...


class Importer(Protocol):
    """Runs one job over the sheet's rows (dry run or import, as the job says)."""

    rejected_rows: list[tuple[int, list[Any], str]]

    def run(self, rows: Iterable[tuple[int, list[Any]]], *, header_row: int = 1) -> ImportResult: ...


@dataclass(frozen=True)
class ImportSpec:
    """One kind of list the shared upload → mapping → check → import steps serve.

    ``synonyms``: field → header texts (the fields, in the order the mapping screen shows them); ``labels``: field →
    label; ``permission``: needed to upload, map, run and read jobs of this kind; ``importer``: (actor, job,
    today) → an ``Importer``; ``home``: url name of the kind's own page (where its jobs are listed);
    ``figures``: the kind's extra summary figures after an import, (label, summary key) pairs.
    """

    kind: str
    synonyms: Mapping[str, Sequence[str]]
    required: tuple[str, ...]
    labels: Mapping[str, Any]
    permission: str
    importer: Any  # Callable[[User, ImportJob, datetime.date | None], Importer]
    home: str
    home_label: Any
    nav_active: str
    figures: tuple[tuple[Any, str], ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.synonyms)


_specs: dict[str, ImportSpec] = {}


def register_importer(spec: ImportSpec) -> None:
    """Called once per kind at start-up (AppConfig.ready); registering a kind again replaces it."""
    _specs[spec.kind] = spec


def importer_for(kind: str) -> ImportSpec:
    """The spec of a kind of list; ``LookupError`` for a kind nobody registered (e.g. 协查 lists, which have
    their own pages)."""
    try:
        return _specs[kind]
    except KeyError:
        raise LookupError(f"no importer is registered for import kind {kind!r}") from None


# -- reading and mapping ----------------------------------------------------------------------------------------


def header_signature(headers: Sequence[str]) -> str:
    text = "|".join(identity.normalize_name(str(h)).lower() for h in headers)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _head_rows(path: Path, filename: str, limit: int = 12) -> list[list[Any]]:
    head: list[list[Any]] = []
    for _number, cells in _rows(path, filename):
        head.append(list(cells))
        if len(head) >= limit:
            break
    return head


def _rows(path: Path, filename: str) -> Iterator[tuple[int, list[Any]]]:
    """(spreadsheet row number, cells) for every row of the first sheet."""
    source = spreadsheets.open_rows(path, filename=filename)
    for row in source:
        yield row.number, row.cells


@transaction.atomic
def import_upload(
    *, actor: User, upload: File, kind: str = ImportKind.ARRIVALS, size_limited: bool = True
) -> ImportJob:
    """Store an uploaded list, find its header row and map the columns (a saved mapping of the same layout wins).

    Web uploads are limited to IMPORT_MAX_UPLOAD_MB; a file given on the server's command line is not.
    """
    spec = importer_for(kind)
    scope = scope_of(actor)
    if not scope.has(spec.permission):
        raise PermissionDenied(_("Your role does not allow importing lists."))
    name = Path(upload.name or "upload").name
    size = upload.size or 0
    if size_limited and size > settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024:
        raise ValidationError(
            {"file": [_("The file is larger than %(mb)s MB.") % {"mb": settings.IMPORT_MAX_UPLOAD_MB}]}
        )
    job = ImportJob(kind=kind, original_name=name[:255], size=size, uploaded_by=actor, path=_root_path(actor))
    job.file.save(name, upload, save=False)
    path = Path(job.file.path)
    try:
        head = _head_rows(path, name)
    except spreadsheets.SpreadsheetError as exc:
        job.file.delete(save=False)
        raise ValidationError({"file": [str(exc)]}) from exc
    if not head:
        job.file.delete(save=False)
        raise ValidationError({"file": [_("The file is empty.")]})
    try:
        match = spreadsheets.detect_header(head, spec.synonyms)
    except spreadsheets.SpreadsheetError:
        # No recognisable header: the first row is taken as the header and the user maps every column.
        job.header_row, job.headers, job.mapping = 1, [spreadsheets.cell_text(c) for c in head[0]], {}
    else:
        job.header_row, job.headers, job.mapping = match.header_row, list(match.header), dict(match.columns)
    saved = ColumnMapping.objects.filter(owner=actor, signature=header_signature(job.headers)).first()
    if saved is not None:
        job.mapping = {k: int(v) for k, v in saved.mapping.items()}
    job.save()
    audit.record(actor=actor, action=AuditAction.CREATE, instance=job, changes=audit.diff({}, audit.snapshot(job)))
    return job


def _root_path(actor: User) -> str:
    paths = scope_of(actor).paths
    return paths[0] if len(paths) == 1 else ""


def import_set_mapping(*, actor: User, job: ImportJob, mapping: Mapping[str, Any], save_as: str = "") -> ImportJob:
    """Set which column holds which field (column indexes, 0-based); optionally save it for this layout."""
    if job.uploaded_by_id != actor.pk:
        raise PermissionDenied(_("Only the person who uploaded the file can map it."))
    spec = importer_for(job.kind)
    clean: dict[str, int] = {}
    errors: dict[str, list[Any]] = {}
    used: dict[int, str] = {}
    for name, value in mapping.items():
        if name not in spec.fields:
            errors.setdefault(name, []).append(_("Unknown field."))
            continue
        if value in ("", None):
            continue
        try:
            index = int(value)
        except (TypeError, ValueError):
            errors.setdefault(name, []).append(_("Choose a column."))
            continue
        if not 0 <= index < max(len(job.headers), 1):
            errors.setdefault(name, []).append(_("There is no such column."))
        elif index in used:
            errors.setdefault(name, []).append(
                _("This column is already mapped to %(other)s.") % {"other": used[index]}
            )
        else:
            used[index] = name
            clean[name] = index
    for name in spec.required:
        if name not in clean and name not in errors:
            errors.setdefault(name, []).append(_("Map a column to this required field."))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        before = audit.snapshot(job, ["mapping"])
        job.mapping = clean
        job.save(update_fields=["mapping", "updated_at"])
        audit.record(
            actor=actor, action=AuditAction.UPDATE, instance=job, changes=audit.diff(before, {"mapping": clean})
        )
        if save_as.strip():
            ColumnMapping.objects.update_or_create(
                owner=actor,
                signature=header_signature(job.headers),
                defaults={"name": save_as.strip()[:120], "headers": job.headers, "mapping": clean},
            )
    return job


def import_start(*, actor: User, job: ImportJob, dry_run: bool, mode: str = ImportMode.ALL_OR_NOTHING) -> ImportJob:
    """Queue the check (dry run) or the import; in the embedded default it runs at once."""
    if job.uploaded_by_id != actor.pk:
        raise PermissionDenied(_("Only the person who uploaded the file can run it."))
    if job.status in (ImportStatus.VALIDATING, ImportStatus.IMPORTING):
        raise ValidationError({"status": [_("This import is already running.")]})
    if job.status == ImportStatus.DONE and not job.dry_run:
        raise ValidationError({"status": [_("This file has already been imported. Upload it again to re-run.")]})
    missing = [name for name in importer_for(job.kind).required if name not in job.mapping]
    if missing:
        raise ValidationError({name: [_("Map a column to this required field.")] for name in missing})
    if mode not in ImportMode.values:
        raise ValidationError({"mode": [_("Unknown mode.")]})
    ImportJob.objects.filter(pk=job.pk).update(
        dry_run=dry_run,
        mode=mode,
        status=ImportStatus.VALIDATING if dry_run else ImportStatus.IMPORTING,
        rows_done=0,
        message="",
        started_at=timezone.now(),
        finished_at=None,
    )
    from firstline.screening.imports.tasks import run_import

    transaction.on_commit(lambda: run_import.delay(job.pk))
    job.refresh_from_db()
    return job


def progress_key(job_id: int) -> str:
    return f"import-progress:{job_id}"


def job_progress(job: ImportJob) -> tuple[int, int]:
    """(rows done, rows total): the running import reports through the cache, outside its transaction."""
    done = cache.get(progress_key(job.pk))
    return (int(done) if done is not None else job.rows_done), job.rows_total


def execute(job: ImportJob, *, today: datetime.date | None = None) -> ImportResult:
    """Run a job (dry run or import) and store its summary and error workbook."""
    actor = job.uploaded_by
    path = Path(job.file.path)
    importer: Importer = importer_for(job.kind).importer(actor, job, today)
    try:
        summary = importer.run(_rows(path, job.original_name), header_row=job.header_row)
    except spreadsheets.SpreadsheetError as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED, message=str(exc), finished_at=timezone.now()
        )
        raise
    error_name = ""
    if summary.errors:
        error_name = _error_workbook(job, importer.rejected_rows)
    status = ImportStatus.VALIDATED if job.dry_run else ImportStatus.DONE
    message = ""
    if not job.dry_run and not summary.written:
        status = ImportStatus.FAILED
        message = _("Nothing was imported: %(n)s rows were rejected (all rows or nothing).") % {"n": summary.rejected}
    ImportJob.objects.filter(pk=job.pk).update(
        status=status,
        rows_total=summary.rows,
        rows_done=summary.rows,
        summary=summary.as_dict() | {"errors": [e.as_dict() for e in summary.errors[:MAX_ERRORS_KEPT]]},
        error_file=error_name,
        message=message,
        finished_at=timezone.now(),
    )
    cache.delete(progress_key(job.pk))
    audit.record(
        actor=actor,
        action=AuditAction.OTHER,
        instance=job,
        changes={"summary": [None, {k: v for k, v in summary.as_dict().items() if k != "errors"}]},
        note="import dry run" if job.dry_run else "import",
    )
    return summary


def _error_workbook(job: ImportJob, rejected: Sequence[tuple[int, list[Any], str]]) -> str:
    name = f"imports/errors/{job.pk}-{Path(job.original_name).stem}-errors.xlsx"
    storage = job.error_file.storage
    if storage.exists(name):
        storage.delete(name)
    target = Path(storage.path(name))
    target.parent.mkdir(parents=True, exist_ok=True)
    spreadsheets.write_error_workbook(target, header=[str(h) for h in job.headers], rows=rejected)
    return name


# -- the importer -----------------------------------------------------------------------------------------------


@dataclass
class Prepared:
    row: int
    clean: CleanArrival
    stays: list[TravelStay]
    key: tuple[str, str]


class Existing(NamedTuple):
    """An arrival already stored: compared fields (household first) and travel (place, from, to)."""

    pk: int
    values: tuple[Any, ...]
    travel: list[tuple[str, datetime.date, datetime.date]]


class HouseholdRef(NamedTuple):
    """What an import needs of a destination household (a city has hundreds of thousands: no model instances)."""

    pk: int
    code: str
    path: str
    grid_id: int
    responsible_id: int | None


class PersonRef(NamedTuple):
    pk: int
    name: str


@dataclass
class Target:
    """An arrival of the chunk being written: its row, ids, and the measure it has now (for updates)."""

    item: Prepared
    arrival_id: int
    person: PersonRef
    current: Measure | None
    updated: bool
    decided: dict[tuple[int, int], str] | None = None
    travel_ids: dict[int, int] = field(default_factory=dict)
    pending: int = 0
    measure_id: int | None = None
    measure_type: str = ""
    decision: Decision | None = None
    found: list[tuple[int, Any, str]] = field(default_factory=list)
    change: str = ""


class AddressBook:
    """Destination addresses → households (exact normalised address) or divisions (a division name inside it)."""

    def __init__(self, actor: User) -> None:
        scope = scope_of(actor)
        self.scope = scope
        households: dict[str, HouseholdRef | None] = {}
        rows = Household.objects.visible_to(actor).values_list(
            "id", "code", "path", "grid_id", "responsible_id", "address"
        )
        # Stored addresses are already normalised (regions.services.household_create): used as they are.
        for pk, code, path, grid_id, responsible_id, key in rows.iterator(chunk_size=10000):
            ref = HouseholdRef(pk, code, path, grid_id, responsible_id)
            households[key] = None if key in households else ref  # ambiguous addresses resolve to nothing
        self.households = households
        self.by_code = {h.code: h for h in households.values() if h is not None}
        city = settings.FIRSTLINE_CITY_CODE
        divisions = list(
            Division.objects.filter(code__startswith=city).exclude(code=city).only("code", "name", "level")
        )
        self.divisions = {d.code: d for d in divisions}
        # Longest names first, so 结古街道 wins over 结古.
        self.names = sorted(
            ((identity.normalize_address(d.name), d.code) for d in divisions if len(d.name) >= 2),
            key=lambda pair: -len(pair[0]),
        )

    def resolve(self, address: str) -> tuple[HouseholdRef | None, Division | None, str]:
        """(household, division, error): error names the division when it is outside the actor's scope."""
        text = identity.normalize_address(address)
        if not text:
            return None, None, ""
        household = self.households.get(text) or self.by_code.get(text.upper())
        if household is not None:
            return household, None, ""
        for name, code in self.names:
            if name and name in text:
                division = self.divisions[code]
                if self.scope.covers_path(code):
                    return None, division, ""
                return None, None, _("The address is in %(name)s, outside your jurisdiction.") % {"name": division.name}
        return None, None, ""


class ArrivalImporter:
    def __init__(
        self,
        *,
        actor: User | None,
        job: ImportJob | None,
        today: datetime.date | None = None,
        registrar: Registrar | None = None,
    ) -> None:
        """``actor`` None and a given ``registrar``: the re-evaluation job, which stores decisions, reads no rows."""
        self.actor = actor
        self.actor_id = getattr(actor, "pk", None)
        self.job = job
        self.dry_run = job.dry_run if job else True
        self.mode = job.mode if job else ImportMode.ALL_OR_NOTHING
        self.mapping: dict[str, int] = {k: int(v) for k, v in (job.mapping if job else {}).items()}
        self.registrar = registrar or Registrar(actor=actor, source=ArrivalSource.IMPORT, today=today)
        if actor is not None and registrar is None:  # reading rows: destination addresses to resolve
            self.addresses = AddressBook(actor)
        self.summary = Summary()
        self.rejected_rows: list[tuple[int, list[Any], str]] = []
        self.seen: dict[str, int] = {}
        self.arrival_ct = ContentType.objects.get_for_model(Arrival)
        self.chunk_size = settings.IMPORT_CHUNK_ROWS
        self.now = timezone.now()
        self._officers: dict[str, int | None] = {}
        self._last_progress = 0

    # ---- the pass over the rows
    def run(self, rows: Iterable[tuple[int, list[Any]]], *, header_row: int = 1) -> Summary:
        write = not self.dry_run
        try:
            with transaction.atomic():
                self._pass(rows, header_row=header_row, write=write)
                if write and self.mode == ImportMode.ALL_OR_NOTHING and self.summary.rejected:
                    raise ImportFailed
                self.summary.written = write
        except ImportFailed:
            self.summary.written = False
        return self.summary

    def _pass(self, rows: Iterable[tuple[int, list[Any]]], *, header_row: int, write: bool) -> None:
        chunk: list[Prepared] = []
        for number, cells in rows:
            if number <= header_row:
                continue
            if not any(spreadsheets.cell_text(c) for c in cells):
                continue  # blank lines are not rows
            self.summary.rows += 1
            prepared = self._prepare(number, cells)
            if prepared is not None:
                chunk.append(prepared)
            if len(chunk) >= self.chunk_size:
                self._flush(chunk, write=write and not self._stopped())
                chunk = []
        if chunk:
            self._flush(chunk, write=write and not self._stopped())
        self._report_progress(force=True)

    def _stopped(self) -> bool:
        """All-or-nothing and a row was rejected: keep checking, stop writing (it will be rolled back anyway)."""
        return self.mode == ImportMode.ALL_OR_NOTHING and self.summary.rejected > 0

    def _reject(self, number: int, cells: list[Any], errors: list[RowError]) -> None:
        self.summary.rejected += 1
        self.summary.errors.extend(errors)
        reason = "; ".join(f"{e.field}: {e.reason}" for e in errors)
        self.rejected_rows.append((number, cells, reason))

    def _cell(self, cells: list[Any], name: str) -> Any:
        index = self.mapping.get(name)
        if index is None or index >= len(cells):
            return None
        return cells[index]

    def _text(self, cells: list[Any], name: str) -> str:
        return spreadsheets.cell_text(self._cell(cells, name))

    def _prepare(self, number: int, cells: list[Any]) -> Prepared | None:
        errors: list[RowError] = []

        def fail(name: str, reason: Any) -> None:
            errors.append(RowError(number, name, str(reason)))

        data: dict[str, Any] = {}
        person = {
            "name": self._text(cells, "name"),
            "id_type": IdType.RESIDENT,
            "id_number": self._text(cells, "id_number"),
            "phone": self._text(cells, "phone"),
        }
        raw_type = self._text(cells, "id_type")
        if raw_type:
            try:
                person["id_type"] = columns.map_value(columns.ID_TYPE_VALUES, raw_type, field="id_type")
            except ValueError as exc:
                fail("id_type", exc)
        data["person"] = person
        for name in ("arrival_date", "date_from", "date_to"):
            value = self._cell(cells, name)
            if value in (None, ""):
                data[name] = None
                continue
            try:
                data[name] = spreadsheets.parse_day(value)
            except ValueError as exc:
                fail(name, exc)
                data[name] = None
        time_value = self._cell(cells, "arrival_time")
        if time_value not in (None, ""):
            try:
                data["arrival_time"] = spreadsheets.parse_moment(time_value, tz=timezone.get_current_timezone()).time()
            except ValueError as exc:
                fail("arrival_time", exc)
        test_value = self._cell(cells, "last_negative_test")
        if test_value not in (None, ""):
            try:
                data["last_negative_test_at"] = spreadsheets.parse_moment(
                    test_value, tz=timezone.get_current_timezone()
                )
            except ValueError as exc:
                fail("last_negative_test", exc)
        for name, table in (("transport", columns.TRANSPORT_VALUES), ("health_code", columns.HEALTH_CODE_VALUES)):
            raw = self._text(cells, name)
            if raw:
                try:
                    data[name] = columns.map_value(table, raw, field=name)
                except ValueError as exc:
                    fail(name, exc)
        doses = self._text(cells, "vaccine_doses")
        if doses:
            try:
                data["vaccine_doses"] = columns.parse_vaccine_doses(doses)
            except ValueError as exc:
                fail("vaccine_doses", exc)
        data["transport_no"] = self._text(cells, "transport_no")
        origin = self._text(cells, "origin")
        data["origin"] = origin
        arrival_date = data.get("arrival_date")
        travel = []
        if origin:
            travel.append(
                {"place": origin, "date_from": data.get("date_from"), "date_to": data.get("date_to") or arrival_date}
            )
        for place in _VIA_SPLIT.split(self._text(cells, "via")):
            if place.strip():
                travel.append({"place": place.strip(), "date_from": None, "date_to": arrival_date})
        data["travel"] = travel
        address = self._text(cells, "address")
        data["destination_address"] = address
        household, division, address_error = self.addresses.resolve(address)
        if address_error:
            fail("address", address_error)
        data["household"] = household
        data["division"] = division
        if not address_error and household is None and division is None:
            root = (
                self.registrar.scope.paths[0].split("-")[0]
                if self.registrar.scope and self.registrar.scope.paths
                else ""
            )
            data["division"] = self.addresses.divisions.get(root) or (
                Division.objects.filter(code=root).first() if root else None
            )
        if not errors:
            try:
                clean = self.registrar.clean(data)
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    fail(name.split(".")[0].split("[")[0] if name.startswith("travel") else name, messages[0])
            else:
                key = (clean.person["id_type"], clean.person["id_number"])
                day_key = f"{key[0]}|{key[1]}|{clean.arrival['arrival_date']}"  # compact: 1M of them are kept
                earlier = self.seen.get(day_key)
                if earlier is not None:
                    fail("id_number", _("Same person and arrival date as row %(row)s.") % {"row": earlier})
                else:
                    self.seen[day_key] = number
                    return Prepared(number, clean, self.registrar.stays(clean.travel), key)
        self._reject(number, cells, errors)
        return None

    def _report_progress(self, *, force: bool = False) -> None:
        if self.job is None:
            return
        if force or self.summary.rows - self._last_progress >= 1000:
            self._last_progress = self.summary.rows
            cache.set(progress_key(self.job.pk), self.summary.rows, timeout=24 * 3600)

    # ---- writing one chunk
    def _flush(self, chunk: list[Prepared], *, write: bool) -> None:
        self._report_progress()
        persons = self._persons({p.key for p in chunk})
        new_people = [p for p in chunk if p.key not in persons]
        if write and new_people:
            persons.update(self._create_persons(new_people))
        existing = self._arrivals(chunk, persons)
        to_create: list[tuple[Prepared, PersonRef]] = []
        to_update: list[tuple[Prepared, Existing]] = []
        for item in chunk:
            person = persons.get(item.key)
            current = existing.get((person.pk, item.clean.arrival["arrival_date"])) if person else None
            if current is None:
                self.summary.created += 1
                self.summary.unresolved += item.clean.household is None
                if write and person is not None:
                    to_create.append((item, person))
                continue
            if self._unchanged(current, item):
                self.summary.unchanged += 1
                continue
            self.summary.updated += 1
            self.summary.unresolved += item.clean.household is None
            if write:
                to_update.append((item, current))
        if not write:
            return
        targets = self._insert_arrivals(to_create)
        targets += self._update_arrivals(self._instances(to_update))
        self._evaluate(targets)

    def _instances(self, pairs: list[tuple[Prepared, Existing]]) -> list[tuple[Prepared, Arrival]]:
        if not pairs:
            return []
        stored = (
            Arrival.objects.filter(pk__in=[existing.pk for _item, existing in pairs])
            .select_related("measure", "person")
            .defer("measure__explanation")
            .in_bulk()
        )
        return [(item, stored[existing.pk]) for item, existing in pairs]

    def _persons(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], PersonRef]:
        numbers = {number for _t, number in keys}
        found: dict[tuple[str, str], PersonRef] = {}
        merged: dict[tuple[str, str], int] = {}
        # The ID type lets the unique (id_type, id_number) index answer; by number alone PostgreSQL picks the trigram
        # index for the equality, which took tens of seconds per chunk at a million persons.
        types = {id_type for id_type, _number in keys}
        rows = Person.objects.filter(id_type__in=types, id_number__in=numbers).values_list(
            "id", "id_type", "id_number", "name", "merged_into_id"
        )
        for pk, id_type, id_number, name, merged_into in rows:
            key = (id_type, id_number)
            if key in keys:
                found[key] = PersonRef(pk, name)
                if merged_into:
                    merged[key] = merged_into
        if merged:
            targets = dict(Person.objects.filter(pk__in=set(merged.values())).values_list("id", "name"))
            for key, target in merged.items():
                if target in targets:
                    found[key] = PersonRef(target, targets[target])
        return found

    def _create_persons(self, items: list[Prepared]) -> dict[tuple[str, str], PersonRef]:
        new: dict[tuple[str, str], dict[str, Any]] = {}
        for item in items:
            if item.key not in new:
                household = item.clean.household
                new[item.key] = {
                    **item.clean.person,
                    "household_id": household.pk if household else None,
                    "path": item.clean.path,
                    "version": 1,
                }
        ids = bulk.reserve_ids(Person, len(new))
        for pk, record in zip(ids, new.values(), strict=True):
            record["id"] = pk
        bulk.insert_dicts(Person, list(new.values()), ignore_conflicts=True, now=self.now)
        found = self._persons(set(new))
        # A person another import inserted a moment ago is found too (the unique constraint decided): ours are
        # the rows carrying the ids reserved here.
        reserved = set(ids)
        ours = [(key, ref) for key, ref in found.items() if ref.pk in reserved]
        self.summary.persons_created += len(ours)
        self._audit(
            Person,
            [(ref.pk, new[key]["path"], f"{ref.name}", 1, {"id_number": [None, "…"]}) for key, ref in ours],
            AuditAction.CREATE,
        )
        return found

    def _audit(
        self,
        model: type[Any],
        rows: Iterable[tuple[int, str, str, int | None, dict[str, Any]]],
        action: str,
    ) -> None:
        """One audit row per record: (pk, path, repr, version, changes)."""
        content_type = ContentType.objects.get_for_model(model)
        context = request_context()
        note = f"import {self.job.pk}" if self.job else "import"
        records = [
            {
                "at": self.now,
                "actor_id": self.actor_id,
                "actor_username": getattr(self.actor, "username", ""),
                "ip": context.ip,
                "action": str(action),
                "content_type_id": content_type.pk,
                "object_id": str(pk),
                "object_repr": text[:200],
                "path": path,
                "version": version,
                "changes": changes,
                "note": note,
            }
            for pk, path, text, version, changes in rows
        ]
        bulk.insert_dicts(AuditEvent, records, now=self.now)

    _COMPARED = ("household_id", *ARRIVAL_FIELDS)

    def _arrivals(
        self, chunk: list[Prepared], persons: Mapping[tuple[str, str], PersonRef]
    ) -> dict[tuple[int, datetime.date], Existing]:
        """The chunk's arrivals already stored, as plain values (model instances only for those that change)."""
        person_ids = {persons[p.key].pk for p in chunk if p.key in persons}
        if not person_ids:
            return {}
        days = {p.clean.arrival["arrival_date"] for p in chunk}
        rows = Arrival.objects.filter(person_id__in=person_ids, arrival_date__in=days).values_list(
            "pk", "person_id", "arrival_date", *self._COMPARED
        )
        found = {(row[1], row[2]): Existing(row[0], tuple(row[3:]), []) for row in rows}
        if found:
            by_pk = {existing.pk: existing for existing in found.values()}
            travel = TravelItem.objects.filter(arrival_id__in=list(by_pk)).order_by("arrival_id", "position")
            for arrival_id, place, first, last in travel.values_list(
                "arrival_id", "place_text", "date_from", "date_to"
            ):
                by_pk[arrival_id].travel.append((place, first, last))
        return found

    def _values(self, item: Prepared) -> dict[str, Any]:
        return {**item.clean.arrival, "household": item.clean.household, "path": item.clean.path}

    def _unchanged(self, existing: Existing, item: Prepared) -> bool:
        household = item.clean.household
        wanted = (household.pk if household else None, *(item.clean.arrival[name] for name in ARRIVAL_FIELDS))
        if existing.values != wanted:
            return False
        return existing.travel == [(t.place, t.date_from, t.date_to) for t in item.clean.travel]

    def _insert_arrivals(self, pairs: list[tuple[Prepared, PersonRef]]) -> list[Target]:
        if not pairs:
            return []
        ids = bulk.reserve_ids(Arrival, len(pairs))
        planned = [Target(item, pk, person, None, updated=False) for pk, (item, person) in zip(ids, pairs, strict=True)]
        # Decided before the insert, so each arrival row carries its measure and review flag (no second UPDATE).
        self._decide(planned)
        self._reserve_measures(planned)
        records = []
        for target in planned:
            item, person, pk = target.item, target.person, target.arrival_id
            household = item.clean.household
            records.append(
                {
                    **item.clean.arrival,
                    "id": pk,
                    "version": 1,
                    "person_id": person.pk,
                    "household_id": household.pk if household else None,
                    "path": item.clean.path,
                    "source": ArrivalSource.IMPORT,
                    "status": ArrivalStatus.VERIFIED,
                    "import_job_id": self.job.pk if self.job else None,
                    "registered_by_id": self.actor_id,
                    "verified_by_id": self.actor_id,
                    "verified_at": self.now,
                    "needs_review": any(not s.code for s in item.stays) or target.pending > 0,
                    "measure_id": target.measure_id,
                }
            )
        bulk.insert_dicts(Arrival, records, ignore_conflicts=True, now=self.now)
        inserted = set(Arrival.objects.filter(pk__in=ids).values_list("pk", flat=True))
        targets: list[Target] = []
        conflicts: list[tuple[Prepared, PersonRef]] = []
        for target in planned:
            if target.arrival_id in inserted:
                targets.append(target)
            else:
                conflicts.append((target.item, target.person))
        self._write_travel(targets)
        self._audit(
            Arrival,
            [
                (t.arrival_id, t.item.clean.path, f"{t.person.name} {t.item.clean.arrival['arrival_date']}", 1, {})
                for t in targets
            ],
            AuditAction.CREATE,
        )
        if conflicts:
            # Another import registered the same person and day first: ours updates theirs.
            self.summary.created -= len(conflicts)
            self.summary.updated += len(conflicts)
            stored = self._arrivals([item for item, _p in conflicts], {item.key: p for item, p in conflicts})
            updates = [(item, stored[(p.pk, item.clean.arrival["arrival_date"])]) for item, p in conflicts]
            targets += self._update_arrivals(self._instances(updates))
        return targets

    def _update_arrivals(self, pairs: list[tuple[Prepared, Arrival]]) -> list[Target]:
        if not pairs:
            return []
        changes: dict[int, dict[str, list[Any]]] = {}
        names = [n for n in self._values(pairs[0][0]) if n != "household"] + ["household", "version", "needs_review"]
        for item, arrival in pairs:
            before = audit.snapshot(arrival)
            for name, value in self._values(item).items():
                if name == "household":
                    arrival.household_id = value.pk if value is not None else None
                else:
                    setattr(arrival, name, value)
            arrival.version += 1
            arrival.needs_review = any(not s.code for s in item.stays)
            changes[arrival.pk] = audit.diff(before, audit.snapshot(arrival))
        attnames = [name + "_id" if name == "household" else name for name in names]
        bulk.update_rows(Arrival, attnames, [(a.pk, *(getattr(a, n) for n in attnames)) for _p, a in pairs])
        ids = [a.pk for _p, a in pairs]
        decided = {
            (arrival_id, position, period): status
            for arrival_id, position, period, status in TravelMatch.objects.filter(
                arrival_id__in=ids, status__in=[MatchStatus.CONFIRMED, MatchStatus.CLEARED]
            ).values_list("arrival_id", "travel__position", "period_id", "status")
        }
        TravelMatch.objects.filter(arrival_id__in=ids).delete()
        TravelItem.objects.filter(arrival_id__in=ids).delete()
        targets = []
        for item, arrival in pairs:
            current = active_measure(arrival)
            target = Target(item, arrival.pk, PersonRef(arrival.person_id, arrival.person.name), current, updated=True)
            target.decided = {(pos, period): st for (aid, pos, period), st in decided.items() if aid == arrival.pk}
            targets.append(target)
        self._write_travel(targets)
        self._audit(
            Arrival,
            [(a.pk, a.path, str(a), a.version, changes.get(a.pk, {})) for _p, a in pairs],
            AuditAction.UPDATE,
        )
        self._decide(targets)
        return targets

    def _write_travel(self, targets: list[Target]) -> None:
        count = sum(len(t.item.clean.travel) for t in targets)
        ids = iter(bulk.reserve_ids(TravelItem, count))
        records = []
        for target in targets:
            for position, (travel, stay) in enumerate(zip(target.item.clean.travel, target.item.stays, strict=True)):
                pk = next(ids)
                target.travel_ids[position] = pk
                records.append(
                    {
                        "id": pk,
                        "arrival_id": target.arrival_id,
                        "position": position,
                        "place_text": travel.place,
                        "place_code": stay.code,
                        "place_remainder": stay.remainder[:200],
                        "date_from": travel.date_from,
                        "date_to": travel.date_to,
                    }
                )
        bulk.insert_dicts(TravelItem, records, now=self.now)

    def _decide(self, targets: list[Target]) -> None:
        """Match and evaluate (no writes): the decision, its matches and what it does to the current measure."""
        for target in targets:
            item = target.item
            target.decision, target.found = self.registrar.decide(
                stays=item.stays,
                arrival_date=item.clean.arrival["arrival_date"],
                release_certificate=item.clean.arrival["release_certificate"],
                decided=target.decided,
            )
            target.pending = sum(status == MatchStatus.PENDING for _p, _h, status in target.found)
            target.change = assign.plan(target.current, target.decision, today=self.registrar.today)
            if target.change in (assign.Change.CREATED, assign.Change.REPLACED):
                target.measure_id = -1  # reserved below, in one statement for the chunk

    def _reserve_measures(self, targets: list[Target]) -> None:
        wanted = [t for t in targets if t.measure_id == -1]
        for target, pk in zip(wanted, bulk.reserve_ids(Measure, len(wanted)), strict=True):
            target.measure_id = pk

    def _evaluate(self, targets: list[Target]) -> None:
        """Store matches, measures and tasks for the chunk's written (and decided) arrivals."""
        if not targets:
            return
        matches: list[dict[str, Any]] = []
        measures: list[tuple[Target, Decision]] = []
        cancelled: list[Target] = []
        for target in targets:
            decision, found = target.decision, target.found
            assert decision is not None
            for position, hit, status in found:
                matches.append(
                    {
                        "arrival_id": target.arrival_id,
                        "travel_id": target.travel_ids[position],
                        "period_id": hit.period.id,
                        "area_id": hit.period.area_id,
                        "level": hit.period.level,
                        "kind": hit.kind,
                        "status": status,
                        "decided_by_id": None,
                        "decided_at": None,
                    }
                )
            if target.change in (assign.Change.CREATED, assign.Change.REPLACED):
                measures.append((target, decision))
                self.summary.measures[decision.measure] += 1
            elif target.change == assign.Change.CANCELLED:
                cancelled.append(target)
        bulk.insert_dicts(TravelMatch, matches, now=self.now)
        # New arrivals were inserted with needs_review and measure_id already set; updated ones get them here.
        pending_ids = [t.arrival_id for t in targets if t.pending and t.updated]
        if pending_ids:
            Arrival.objects.filter(pk__in=pending_ids).update(needs_review=True)
        self._reserve_measures(targets)
        records = []
        for target, decision in measures:
            pk = target.measure_id
            target.measure_type = decision.measure
            records.append(
                {
                    "id": pk,
                    "version": 1,
                    "person_id": target.person.pk,
                    "path": target.item.clean.path,
                    "edition_id": decision.edition.id if decision.edition else None,
                    "rule_id": decision.rule.id if decision.rule else None,
                    "trigger": decision.rule.trigger if decision.rule else "",
                    "measure_type": decision.measure,
                    "counted_from": decision.counted_from,
                    "start": decision.start,
                    "end": decision.end,
                    "test_dates": [d.isoformat() for d in decision.test_dates],
                    "follow_on_type": decision.follow_on,
                    "follow_on_start": decision.follow_on_start,
                    "follow_on_end": decision.follow_on_end,
                    "follow_on_test_dates": [d.isoformat() for d in decision.follow_on_test_dates],
                    "explanation": decision.explanation(),
                    "status": MeasureStatus.ACTIVE,
                    "content_type_id": self.arrival_ct.pk,
                    "object_id": str(target.arrival_id),
                    "superseded_by_id": None,
                    "created_by_id": self.actor_id,
                }
            )
        bulk.insert_dicts(Measure, records, now=self.now)
        bulk.update_column(Arrival, "measure_id", [(t.arrival_id, t.measure_id) for t, _d in measures if t.updated])
        superseded = []
        for target in [t for t, _d in measures] + cancelled:
            if target.current is not None:
                current = target.current
                current.status = MeasureStatus.SUPERSEDED if target.measure_id else MeasureStatus.CANCELLED
                current.superseded_by_id = target.measure_id
                current.version += 1
                superseded.append(current)
        if cancelled:
            bulk.update_column(Arrival, "measure_id", [(t.arrival_id, None) for t in cancelled])
        if superseded:
            bulk.update_rows(
                Measure,
                ["status", "superseded_by_id", "version"],
                [(m.pk, m.status, m.superseded_by_id, m.version) for m in superseded],
            )
        self._audit(
            Measure,
            [
                (
                    target.measure_id or 0,
                    target.item.clean.path,
                    f"{decision.measure} {decision.start}–{decision.end}",
                    1,
                    {},
                )
                for target, decision in measures
            ],
            AuditAction.CREATE,
        )
        if superseded:
            self._audit(
                Measure,
                [(m.pk, m.path, str(m), m.version, {"status": [MeasureStatus.ACTIVE, m.status]}) for m in superseded],
                AuditAction.UPDATE,
            )
        self._tasks(
            [t for t, _d in measures],
            [t for t in targets if t.pending],
            replaced=[t for t, _d in measures if t.current is not None] + cancelled,
        )
        hooks.measures_changed([t.person.pk for t, _d in measures] + [t.person.pk for t in cancelled], actor=self.actor)
        self._resolve_tasks([t for t in targets if t.item.clean.household is None])

    def _resolve_tasks(self, targets: list[Target]) -> None:
        """Arrivals whose address did not resolve: one task each for the officer of the queue they wait in."""
        if not targets:
            return
        open_tasks = set(
            Task.objects.filter(
                content_type=self.arrival_ct,
                object_id__in=[str(t.arrival_id) for t in targets],
                kind="arrival_resolve",
                status__in=OPEN_STATUSES,
            ).values_list("object_id", flat=True)
        )
        records = []
        for target in targets:
            if str(target.arrival_id) in open_tasks:
                continue
            path = target.item.clean.path
            if path not in self._officers:
                officer = officer_for(path)
                self._officers[path] = officer.pk if officer is not None else None
            officer_id = self._officers[path]
            if officer_id is None:
                continue  # nobody answers for that queue yet: it shows on the queue page
            records.append(
                {
                    "version": 1,
                    "title": resolve_title(target.person.name, target.item.clean.arrival["arrival_date"]),
                    "kind": "arrival_resolve",
                    "content_type_id": self.arrival_ct.pk,
                    "object_id": str(target.arrival_id),
                    "path": path,
                    "assignee_user_id": officer_id,
                    "assignee_grid_id": None,
                    "assignee_department_id": None,
                    "due_at": self.now + datetime.timedelta(hours=settings.TASK_DEFAULT_DUE_HOURS),
                    "priority": TaskPriority.HIGH if target.measure_id else TaskPriority.NORMAL,
                    "status": TaskStatus.OPEN,
                    "notes": "",
                    "created_by_id": None,
                    "escalation_level": 0,
                    "escalated_at": None,
                    "closed_at": None,
                }
            )
        bulk.insert_dicts(Task, records, now=self.now)
        self.summary.tasks += len(records)

    def _tasks(self, with_measure: list[Target], pending: list[Target], *, replaced: list[Target]) -> None:
        now = self.now
        if replaced:
            Task.objects.filter(
                content_type=self.arrival_ct,
                object_id__in=[str(t.arrival_id) for t in replaced],
                status__in=OPEN_STATUSES,
                kind__in=["arrival_visit", "arrival_follow_up"],
            ).update(status=TaskStatus.CANCELLED, closed_at=now, notes=_("Replaced: the measure changed."))
        open_match_tasks = set()
        if pending:
            open_match_tasks = set(
                Task.objects.filter(
                    content_type=self.arrival_ct,
                    object_id__in=[str(t.arrival_id) for t in pending],
                    kind="arrival_match",
                    status__in=OPEN_STATUSES,
                ).values_list("object_id", flat=True)
            )
        records: list[dict[str, Any]] = []

        def base(target: Target) -> dict[str, Any] | None:
            household = target.item.clean.household
            if household is None:
                return None
            return {
                "version": 1,
                "content_type_id": self.arrival_ct.pk,
                "object_id": str(target.arrival_id),
                "path": target.item.clean.path,
                "assignee_grid_id": household.grid_id,
                "assignee_user_id": household.responsible_id,
                "assignee_department_id": None,
                "status": TaskStatus.OPEN,
                "notes": "",
                "created_by_id": None,
                "escalation_level": 0,
                "escalated_at": None,
                "closed_at": None,
            }

        for target in with_measure:
            common = base(target)
            decision = target.decision
            if common is None or decision is None:
                continue
            urgent = decision.measure in URGENT_MEASURES
            name = target.person.name
            records.append(
                {
                    **common,
                    "title": visit_title(
                        name, target.item.clean.arrival["arrival_date"], decision.measure, decision.start, decision.end
                    ),
                    "kind": "arrival_visit",
                    "due_at": now
                    + datetime.timedelta(
                        hours=settings.TASK_URGENT_DUE_HOURS if urgent else settings.TASK_DEFAULT_DUE_HOURS
                    ),
                    "priority": TaskPriority.URGENT if urgent else TaskPriority.HIGH,
                }
            )
            end = decision.follow_on_end or decision.end
            assert end is not None
            records.append(
                {
                    **common,
                    "title": follow_title(name, end, [d.isoformat() for d in decision.test_dates]),
                    "kind": "arrival_follow_up",
                    "due_at": timezone.make_aware(datetime.datetime.combine(end, datetime.time(18, 0))),
                    "priority": TaskPriority.NORMAL,
                }
            )
        for target in pending:
            common = base(target)
            if common is None or str(target.arrival_id) in open_match_tasks:
                continue
            records.append(
                {
                    **common,
                    "title": match_title(target.person.name),
                    "kind": "arrival_match",
                    "due_at": now + datetime.timedelta(hours=settings.TASK_DEFAULT_DUE_HOURS),
                    "priority": TaskPriority.HIGH,
                }
            )
        bulk.insert_dicts(Task, records, now=now)
        self.summary.tasks += len(records)
        if records:
            audit.record(
                actor=None,
                action=AuditAction.CREATE,
                note=f"import {self.job.pk if self.job else ''}: {len(records)} tasks for grids",
            )


def run_file(
    *,
    actor: User,
    path: Path,
    kind: str,
    dry_run: bool,
    valid_only: bool,
    filename: str = "",
    today: datetime.date | None = None,
) -> tuple[ImportJob, ImportResult]:
    """A file on the server's disk, any kind: upload, auto-map, run at once (no queue). The command line and the
    benchmarks use it."""
    spec = importer_for(kind)
    with path.open("rb") as handle:
        job = import_upload(actor=actor, upload=File(handle, name=filename or path.name), kind=kind, size_limited=False)
    missing = [name for name in spec.required if name not in job.mapping]
    if missing:
        raise ValidationError({name: [_("No column was recognised for this required field.")] for name in missing})
    ImportJob.objects.filter(pk=job.pk).update(
        dry_run=dry_run,
        mode=ImportMode.VALID_ONLY if valid_only else ImportMode.ALL_OR_NOTHING,
        status=ImportStatus.VALIDATING if dry_run else ImportStatus.IMPORTING,
        started_at=timezone.now(),
    )
    job.refresh_from_db()
    summary = execute(job, today=today)
    job.refresh_from_db()
    return job, summary


def import_file(
    *, actor: User, path: Path, dry_run: bool, valid_only: bool, today: datetime.date | None = None
) -> tuple[ImportJob, Summary]:
    """The command-line path for arrival lists: upload from disk, auto-map, run at once (no queue)."""
    job, summary = run_file(
        actor=actor, path=path, kind=ImportKind.ARRIVALS, dry_run=dry_run, valid_only=valid_only, today=today
    )
    assert isinstance(summary, Summary)
    return job, summary


ARRIVAL_LABELS: dict[str, Any] = {
    "name": gettext_lazy("Name"),
    "id_type": gettext_lazy("ID type"),
    "id_number": gettext_lazy("ID number"),
    "phone": gettext_lazy("Phone"),
    "origin": gettext_lazy("Coming from"),
    "via": gettext_lazy("Via"),
    "arrival_date": gettext_lazy("Arrival date"),
    "arrival_time": gettext_lazy("Arrival time"),
    "transport": gettext_lazy("Transport"),
    "transport_no": gettext_lazy("Train / flight / plate"),
    "address": gettext_lazy("Address"),
    "health_code": gettext_lazy("Health code"),
    "vaccine_doses": gettext_lazy("Vaccine doses"),
    "last_negative_test": gettext_lazy("Last negative test"),
    "reason": gettext_lazy("Reason"),
    "date_from": gettext_lazy("In the place from"),
    "date_to": gettext_lazy("Left the place on"),
}

register_importer(
    ImportSpec(
        kind=ImportKind.ARRIVALS,
        synonyms=columns.ARRIVAL_SYNONYMS,
        required=REQUIRED,
        labels=ARRIVAL_LABELS,
        permission=Perm.IMPORT_RUN,
        importer=lambda actor, job, today: ArrivalImporter(actor=actor, job=job, today=today),
        home="screening:imports:list",
        home_label=gettext_lazy("Imports"),
        nav_active="imports",
        figures=(
            (gettext_lazy("new persons"), "persons_created"),
            (gettext_lazy("tasks for grids"), "tasks"),
            (gettext_lazy("addresses to resolve (township queue)"), "unresolved"),
        ),
    )
)
