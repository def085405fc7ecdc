"""Imported exposure lists: everyone on a list (a train car's passengers, a banquet's guests …) was exposed to one
source case over one span of time.

``exposures_import`` reads the file (``firstline.core.spreadsheets``: header found under any title rows, columns
by Chinese or English names), finds each listed person by ID number (type and number) or, without one, by phone,
registers the people not known yet, and records one exposure per person with origin "imported". A dry run reports
every row (who was found, who is new, what was imported before) and every error naming the row and the field; the
real run is all-or-nothing in one transaction and refuses a file with errors. Each exposure carries the key
``imp:<source>:<person>:<start>``, so importing the same list again (or a corrected copy) adds nothing twice.
"""

from __future__ import annotations

import datetime
import hashlib
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from firstline.accounts.models import User
from firstline.accounts.roles import Perm
from firstline.core import audit, identity, spreadsheets
from firstline.core.models import AuditAction
from firstline.core.scoping import scope_of
from firstline.people.models import IdType, Person
from firstline.people.services import clean_person_fields
from firstline.tracing import services
from firstline.tracing.models import COUNTED_STATUSES, Case, Exposure, ExposureOrigin

# A list is read and checked while the uploader waits: beyond this, split it (or use the API).
MAX_ROWS = 5000

SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "旅客姓名", "乘客姓名", "name", "full name", "passenger"),
    "id_type": ("证件类型", "证件种类", "id type"),
    "id_number": ("证件号码", "身份证号", "身份证号码", "身份证", "证件号", "id number", "id no"),
    "phone": ("手机", "手机号", "手机号码", "电话", "联系电话", "电话号码", "联系方式", "phone", "mobile"),
    "seat": ("座位", "座位号", "座号", "席位", "铺位", "seat no"),
    "car": ("车厢", "车厢号", "coach"),
}

FIELD_LABELS = {
    "name": gettext_lazy("Name"),
    "id_type": gettext_lazy("ID type"),
    "id_number": gettext_lazy("ID number"),
    "phone": gettext_lazy("Phone"),
    "seat": gettext_lazy("Seat"),
    "car": gettext_lazy("Car"),
    "person": gettext_lazy("Person"),
}

# Document names seen in lists → ID type (compared after NFKC, without spaces, case-folded).
_ID_TYPE_TEXT = {
    "": IdType.RESIDENT,
    "身份证": IdType.RESIDENT,
    "居民身份证": IdType.RESIDENT,
    "二代身份证": IdType.RESIDENT,
    "resident": IdType.RESIDENT,
    "residentid": IdType.RESIDENT,
    "护照": IdType.PASSPORT,
    "passport": IdType.PASSPORT,
    "港澳台居民居住证": IdType.HMT_PERMIT,
    "hmtpermit": IdType.HMT_PERMIT,
    "hmt_permit": IdType.HMT_PERMIT,
    "其他": IdType.OTHER,
    "其它": IdType.OTHER,
    "other": IdType.OTHER,
}


class RowStatus:
    EXISTING = "existing"  # a registered person: an exposure will be recorded
    NEW = "new"  # not registered: registered, then exposed
    ALREADY = "already"  # this exposure was imported before: nothing to add
    DUPLICATE = "duplicate"  # the same person further up the list
    ERROR = "error"


@dataclass
class ImportRow:
    number: int
    name: str = ""
    id_type: str = ""
    id_number: str = ""
    phone: str = ""
    seat: str = ""
    status: str = ""
    person: Person | None = None
    duplicate_of: int | None = None
    # (field label, message) pairs.
    errors: list[tuple[str, str]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class ImportReport:
    filename: str
    sha256: str
    dry_run: bool
    rows: list[ImportRow] = field(default_factory=list)
    # Problems with the whole file (unreadable, no usable columns, too long).
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    header_row: int | None = None
    columns: list[str] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)
    committed: bool = False
    exposures_created: int = 0
    persons_created: int = 0
    derivation: services.Derivation = field(default_factory=services.Derivation)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(row.status == RowStatus.ERROR for row in self.rows)

    @property
    def error_rows(self) -> list[ImportRow]:
        return [row for row in self.rows if row.status == RowStatus.ERROR]

    @property
    def importable(self) -> int:
        """Rows that make a new exposure."""
        return self.count(RowStatus.EXISTING) + self.count(RowStatus.NEW)

    def count(self, status: str) -> int:
        return sum(1 for row in self.rows if row.status == status)


def _read(file: Any, filename: str | None) -> tuple[bytes, str]:
    if isinstance(file, str | Path):
        path = Path(file)
        return path.read_bytes(), filename or path.name
    if hasattr(file, "seek"):
        file.seek(0)
    data = b"".join(file.chunks()) if hasattr(file, "chunks") else file.read()
    return bytes(data), filename or Path(str(getattr(file, "name", "") or "list.csv")).name


def _source_person(actor: User, source: Case | Person | int) -> Person:
    if isinstance(source, Case):
        pk = source.person_id
    elif isinstance(source, Person):
        pk = source.pk
    else:
        pk = int(source)
    found = Person.objects.visible_to(actor).filter(pk=pk).first()
    if found is None and scope_of(actor).has(Perm.TRACE_ANY_SCOPE):
        found = Person.objects.filter(pk=pk).first()
    if found is None:
        raise ValidationError({"source": [_("No such person in your jurisdiction.")]})
    return found


def _new_person_path(actor: User, division: str) -> str:
    """Where people first met on the list are registered: the division chosen, else (the CDC traces across the
    city) the city, else the importer's own jurisdiction."""
    scope = scope_of(actor)
    division = (division or "").strip()
    if division:
        if not (scope.covers_path(division) or scope.has(Perm.TRACE_ANY_SCOPE)):
            raise ValidationError({"division": [_("This division is outside your jurisdiction.")]})
        return division
    if scope.has(Perm.TRACE_ANY_SCOPE) or not scope.paths:
        return str(settings.FIRSTLINE_CITY_CODE)
    return scope.paths[0]


def _placeholder_name() -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return _("Person on an imported list (to identify)")


def exposure_key(source_id: int, person_id: int, start: datetime.datetime) -> str:
    """The same person exposed to the same source from the same minute is one exposure, however often imported."""
    return f"imp:{source_id}:{person_id}:{start.astimezone(datetime.UTC):%Y%m%d%H%M}"


def _parse_row(number: int, picked: Mapping[str, Any]) -> ImportRow:
    text = {name: spreadsheets.cell_text(value) for name, value in picked.items()}
    row = ImportRow(
        number=number,
        name=text.get("name", ""),
        seat=" ".join(part for part in (text.get("car", ""), text.get("seat", "")) if part),
    )
    type_key = "".join(identity.clean_raw(text.get("id_type", "")).split()).casefold()
    id_type = _ID_TYPE_TEXT.get(type_key)
    raw_id, raw_phone = text.get("id_number", ""), text.get("phone", "")
    if id_type is None:
        row.errors.append((str(FIELD_LABELS["id_type"]), _("Unknown ID type “%(text)s”.") % {"text": text["id_type"]}))
        return row
    if not raw_id and not raw_phone:
        row.errors.append((str(FIELD_LABELS["id_number"]), _("Give an ID number or a phone number.")))
        return row
    try:
        values = clean_person_fields(
            name=row.name or _placeholder_name(),
            id_type=id_type if raw_id else IdType.OTHER,
            # Known only by phone: registered like a venue visitor, so the grid can identify them later.
            id_number=raw_id or f"TEL{identity.normalize_phone(raw_phone)}",
            phone=raw_phone,
        )
    except identity.IdentityError as exc:
        row.errors.append((str(FIELD_LABELS["phone"]), str(exc.message)))
        return row
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            for message in messages:
                row.errors.append((str(FIELD_LABELS.get(name, name)), message))
        return row
    row.values = values
    row.id_type, row.id_number, row.phone = values["id_type"], values["id_number"], values["phone"]
    return row


def _live(person: Person) -> Person:
    hops = 0
    while person.merged_into_id is not None and hops < 10:
        person = Person.objects.get(pk=person.merged_into_id)
        hops += 1
    return person


def _match(rows: list[ImportRow], *, actor: User, source: Person, start: datetime.datetime) -> None:
    """Find each row's person (ID first, then phone), flag duplicates, self-exposure, out-of-scope and repeats."""
    ok = [row for row in rows if not row.errors]
    by_number: dict[tuple[str, str], Person] = {}
    for id_type in {row.id_type for row in ok}:
        numbers = [row.id_number for row in ok if row.id_type == id_type]
        for person in Person.objects.filter(id_type=id_type, id_number__in=numbers):
            by_number[(person.id_type, person.id_number)] = person
    phones = {row.phone for row in ok if row.phone and (row.id_type, row.id_number) not in by_number}
    by_phone: dict[str, Person] = {}
    if phones:
        for person in Person.objects.filter(phone__in=phones, merged_into__isnull=True).order_by("id"):
            by_phone.setdefault(person.phone, person)
    for row in ok:
        found = by_number.get((row.id_type, row.id_number))
        # The phone finds a person only for rows without an ID number of their own.
        if found is None and row.id_number.startswith("TEL") and row.id_type == IdType.OTHER:
            found = by_phone.get(row.phone)
        row.person = _live(found) if found is not None else None
    found_ids = {row.person.pk for row in ok if row.person is not None}
    if scope_of(actor).has(Perm.TRACE_ANY_SCOPE):
        visible = found_ids
    else:
        visible = set(Person.objects.visible_to(actor).filter(pk__in=found_ids).values_list("pk", flat=True))
    keys = {
        exposure_key(source.pk, row.person.pk, start): row
        for row in ok
        if row.person is not None and row.person.pk in visible
    }
    imported = set(Exposure.objects.filter(key__in=list(keys)).values_list("key", flat=True))
    seen: dict[Any, int] = {}
    for row in rows:
        if row.errors:
            row.status = RowStatus.ERROR
            continue
        listed = row.person
        if listed is not None and listed.pk == source.pk:
            row.errors.append((str(FIELD_LABELS["person"]), _("This is the source person.")))
        elif listed is not None and listed.pk not in visible:
            row.errors.append((str(FIELD_LABELS["person"]), _("No such person in your jurisdiction.")))
        if row.errors:
            row.status = RowStatus.ERROR
            continue
        identity_key: Any = listed.pk if listed is not None else (row.id_type, row.id_number)
        if identity_key in seen:
            row.status, row.duplicate_of = RowStatus.DUPLICATE, seen[identity_key]
            continue
        seen[identity_key] = row.number
        if listed is None:
            row.status = RowStatus.NEW
        elif exposure_key(source.pk, listed.pk, start) in imported:
            row.status = RowStatus.ALREADY
        else:
            row.status = RowStatus.EXISTING


def _evidence(base: str, row: ImportRow, filename: str) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        parts = [base.strip()] if base.strip() else []
        if row.seat:
            parts.append(_("seat %(seat)s") % {"seat": row.seat})
        parts.append(_("imported list %(file)s, row %(row)s") % {"file": filename, "row": row.number})
    return "; ".join(parts)[:4000]


def _window_warning(source: Person, start: datetime.datetime, end: datetime.datetime) -> str | None:
    case = Case.objects.filter(person=source).exclude(classification="excluded").first()
    if case is None:
        return _("The source person has no open case: these exposures make contacts only through a contact.")
    window_start, window_end = services.window_bounds(case)
    if end < window_start or start >= window_end:
        return _(
            "The span lies outside the case's infectious window (%(start)s – %(end)s): these exposures will make "
            "no close contacts."
        ) % {"start": case.infectious_from, "end": case.infectious_until}
    return None


def exposures_import(
    *,
    actor: User,
    source: Case | Person | int,
    file: Any,
    values: Mapping[str, Any],
    dry_run: bool,
    filename: str | None = None,
) -> ImportReport:
    """Check (``dry_run``) or import a list of people exposed to ``source`` over one span.

    ``values``: ``setting``, ``start``, ``end``, ``proximity``, ``protection``, ``evidence`` (as for
    ``services.exposure_create``) and ``division`` (where people not registered yet belong). ``file``: a path or
    an uploaded file. Raises PermissionDenied without the tracing permission and ValidationError for bad shared
    values; problems of the file and its rows are in the report. The real run writes nothing when any row fails.
    """
    if not scope_of(actor).has(Perm.TRACE_EDIT):
        raise PermissionDenied(_("Your role does not allow recording exposures."))
    source_person = _source_person(actor, source)
    shared = services.clean_exposure(values, now=timezone.now())
    path = _new_person_path(actor, str(values.get("division") or ""))
    content, name = _read(file, filename)
    report = ImportReport(filename=name, sha256=hashlib.sha256(content).hexdigest(), dry_run=dry_run)
    _read_rows(report, content, name)
    if report.errors:
        return report
    _match(report.rows, actor=actor, source=source_person, start=shared["start"])
    warning = _window_warning(source_person, shared["start"], shared["end"])
    if warning:
        report.warnings.append(warning)
    if dry_run or report.has_errors:
        return report
    _commit(report, actor=actor, source=source_person, shared=shared, path=path)
    return report


def _read_rows(report: ImportReport, content: bytes, name: str) -> None:
    suffix = Path(name).suffix.lower()
    with tempfile.TemporaryDirectory() as folder:
        stored = Path(folder) / f"list{suffix}"
        stored.write_bytes(content)
        try:
            with spreadsheets.open_rows(stored, filename=name) as rows:
                header = spreadsheets.detect_header(rows.head(10), SYNONYMS)
                if not header.columns.keys() & {"id_number", "phone"}:
                    report.errors.append(_("The list needs a column of ID numbers (证件号码) or of phones (手机)."))
                    return
                report.header_row = header.header_row
                report.columns = [str(FIELD_LABELS[name]) for name in SYNONYMS if name in header.columns]
                report.unrecognised = [text for _column, text in header.unrecognised]
                for row in rows:
                    if row.number <= header.header_row:
                        continue
                    if len(report.rows) >= MAX_ROWS:
                        report.errors.append(
                            _("The list has more than %(n)s rows: split it into smaller files.") % {"n": MAX_ROWS}
                        )
                        return
                    report.rows.append(_parse_row(row.number, header.pick(row.cells)))
        except spreadsheets.SpreadsheetError as exc:
            report.errors.append(str(exc.message))
            return
    if not report.rows:
        report.errors.append(_("The list has no rows under its header."))


@transaction.atomic
def _commit(report: ImportReport, *, actor: User, source: Person, shared: dict[str, Any], path: str) -> None:
    new_rows = [row for row in report.rows if row.status == RowStatus.NEW]
    if new_rows:
        created = Person.objects.bulk_create([Person(path=path, **row.values) for row in new_rows])
        for row, person in zip(new_rows, created, strict=True):
            row.person = person
        audit.record_many(
            actor=actor,
            action=AuditAction.CREATE,
            instances=created,
            note=f"imported exposure list {report.filename}"[:1000],
            changes=lambda person: audit.diff({}, audit.snapshot(person)),
        )
        report.persons_created = len(created)
    status = services.status_for(ExposureOrigin.IMPORTED)
    rows = [row for row in report.rows if row.status in (RowStatus.NEW, RowStatus.EXISTING)]
    keys = {exposure_key(source.pk, row.person.pk, shared["start"]) for row in rows if row.person is not None}
    # Checked again inside the transaction: another upload of the same list may have committed meanwhile.
    taken = set(Exposure.objects.filter(key__in=list(keys)).values_list("key", flat=True))
    exposures = []
    for row in rows:
        listed = row.person
        assert listed is not None
        key = exposure_key(source.pk, listed.pk, shared["start"])
        if key in taken:
            row.status = RowStatus.ALREADY
            continue
        exposures.append(
            Exposure(
                source=source,
                exposed=listed,
                path=listed.path,
                origin=ExposureOrigin.IMPORTED,
                status=status,
                created_by=actor,
                key=key,
                **{**shared, "evidence": _evidence(shared.get("evidence", ""), row, report.filename)},
            )
        )
    stored = Exposure.objects.bulk_create(exposures)
    audit.record_many(
        actor=actor,
        action=AuditAction.CREATE,
        instances=stored,
        note=f"imported exposure list {report.filename} sha256={report.sha256[:16]}"[:1000],
        changes=lambda exposure: audit.diff({}, audit.snapshot(exposure)),
    )
    report.exposures_created = len(stored)
    report.committed = True
    if stored and status in COUNTED_STATUSES:
        report.derivation = services.derive(person_ids={e.exposed_id for e in stored}, actor=actor)
        services.recompute_clusters_later()
