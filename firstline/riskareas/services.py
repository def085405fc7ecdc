"""Writes on the risk-area list: add an area, change its level, lift it, correct it, load a file of areas.

Every write keeps the level history (``RiskAreaPeriod``, half-open day ranges) exact and tells the listeners of
``riskareas.hooks`` what changed, so screening re-evaluates the arrivals concerned once the transaction commits.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from firstline.accounts.models import User
from firstline.accounts.roles import Perm
from firstline.core import audit, context
from firstline.core.concurrency import versioned_update
from firstline.core.models import AuditAction, AuditEvent
from firstline.core.scoping import require
from firstline.core.spreadsheets import parse_day
from firstline.regions.models import CODE_LENGTHS
from firstline.riskareas.hooks import AreaChange, areas_changed
from firstline.riskareas.models import LEVEL_RANK, Place, RiskArea, RiskAreaPeriod, RiskLevel
from firstline.riskareas.places import normalize_scope, parse_place

EDITABLE_FIELDS = ("place", "division_code", "scope_text", "source_notice")
_PLACE_MAX = RiskArea._meta.get_field("place").max_length or 200
_SCOPE_MAX = RiskArea._meta.get_field("scope_text").max_length or 200
_NOTICE_MAX = RiskArea._meta.get_field("source_notice").max_length or 300
_CHUNK = 500  # rows per IN (...) list and per bulk statement: far below every database's parameter limit

# Level names as written in notices and spreadsheets.
_LEVEL_NAMES: dict[str, str] = {
    "high": RiskLevel.HIGH,
    "h": RiskLevel.HIGH,
    "高": RiskLevel.HIGH,
    "高风险": RiskLevel.HIGH,
    "高风险地区": RiskLevel.HIGH,
    "高风险区": RiskLevel.HIGH,
    "medium": RiskLevel.MEDIUM,
    "middle": RiskLevel.MEDIUM,
    "m": RiskLevel.MEDIUM,
    "中": RiskLevel.MEDIUM,
    "中风险": RiskLevel.MEDIUM,
    "中风险地区": RiskLevel.MEDIUM,
    "中风险区": RiskLevel.MEDIUM,
    "low": RiskLevel.LOW,
    "l": RiskLevel.LOW,
    "低": RiskLevel.LOW,
    "低风险": RiskLevel.LOW,
    "低风险地区": RiskLevel.LOW,
    "低风险区": RiskLevel.LOW,
}


# --- small parsers shared by pages, the API and the loader ---------------------------------------------------


def parse_level(value: Any) -> str:
    """``high``/``medium``/``low`` from what a person types (高/中风险/High risk …); ValueError if unknown."""
    text = re.sub(r"[\s_-]+", "", str(value or "")).lower()
    for suffix in ("areas", "area", "level", "risk"):
        text = text.removesuffix(suffix)
    level = _LEVEL_NAMES.get(text)
    if level is None:
        raise ValueError(_("Use high, medium or low (高/中/低)."))
    return str(level)


def clean_division_code(value: Any) -> str:
    """A division code as digits (2/4/6/9/12 of them); spreadsheet numbers like 110105.0 are accepted."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = re.sub(r"\s+", "", str(value))
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    if not text:
        return ""
    if not text.isascii() or not text.isdigit() or len(text) not in CODE_LENGTHS:
        raise ValueError(_("A division code has 2, 4, 6, 9 or 12 digits."))
    return text


def clean_place_text(value: Any) -> str:
    """The place as given, with surrounding and repeated whitespace removed."""
    return " ".join(str(value or "").split())


def _limit(value: str, size: int) -> str:
    return value[:size]


# --- the parse cache -----------------------------------------------------------------------------------------


def _place_from_parse(text: str) -> Place:
    parsed = parse_place(text)
    return Place(
        text=text,
        normalized=_limit(parsed.normalized or "", 200),
        code=_limit(parsed.code or "", 12),
        level=_limit(parsed.level or "", 12),
        province=_limit(parsed.province or "", 40),
        prefecture=_limit(parsed.prefecture or "", 40),
        county=_limit(parsed.county or "", 40),
        remainder=_limit(parsed.remainder or "", 200),
    )


def place_resolve(text: str) -> Place:
    """The parsed place for ``text``, parsing it only the first time it is seen."""
    key = _limit(clean_place_text(text), 200)
    existing = Place.objects.filter(text=key).first()
    if existing is not None:
        return existing
    place = _place_from_parse(key)
    try:
        with transaction.atomic():
            place.save()
    except IntegrityError:  # parsed and stored by a concurrent request in the meantime
        return Place.objects.get(text=key)
    return place


def _places_lookup(texts: Iterable[str]) -> tuple[dict[str, Place], list[Place]]:
    """Parsed places for many texts (one query per 500 known ones); the new ones are returned unsaved too."""
    keys = sorted({_limit(clean_place_text(t), 200) for t in texts} - {""})
    found: dict[str, Place] = {}
    for start in range(0, len(keys), _CHUNK):
        for place in Place.objects.filter(text__in=keys[start : start + _CHUNK]):
            found[place.text] = place
    new = [_place_from_parse(key) for key in keys if key not in found]
    found.update({place.text: place for place in new})
    return found, new


def places_parse(texts: Iterable[str]) -> dict[str, Place]:
    """Parsed places for many texts without storing the new ones (previews and dry runs)."""
    return _places_lookup(texts)[0]


def places_resolve(texts: Iterable[str]) -> dict[str, Place]:
    """Parsed places for many texts at once: one query for the known ones, one bulk insert for the new ones."""
    found, new = _places_lookup(texts)
    if new:
        Place.objects.bulk_create(new, batch_size=_CHUNK, ignore_conflicts=True)
    return found


# --- what an area is ---------------------------------------------------------------------------------------


def area_key(division_code: str, scope_text: str) -> tuple[str, str]:
    """Two listings name the same area when they have the same code and the same scope below it."""
    return division_code, normalize_scope(scope_text)


@dataclass(frozen=True)
class AreaPlace:
    place: str
    division_code: str
    scope_text: str
    needs_review: bool


def area_place_for(*, place: Place, place_text: str, division_code: str, scope_text: str | None) -> AreaPlace:
    """The code and the free text below it: a code typed by a person wins over the parsed one."""
    code = division_code or place.code
    if scope_text is None:
        # Below the county as parsed; a place that could not be parsed is kept whole as the scope.
        scope_text = place.remainder if place.code else place_text
    # Without a code, or a scope hanging under a province or a prefecture, a person has to look at it.
    needs_review = not code or (len(code) < 6 and bool(scope_text))
    return AreaPlace(place_text, code, _limit(scope_text, _SCOPE_MAX), needs_review)


def _clean_place_fields(
    *, place: Any, division_code: Any, scope_text: Any, source_notice: Any, scope_given: bool
) -> tuple[AreaPlace, str]:
    errors: dict[str, list[str]] = {}
    place_text = clean_place_text(place)
    if not place_text:
        errors.setdefault("place", []).append(_("The place is required."))
    elif len(place_text) > _PLACE_MAX:
        errors.setdefault("place", []).append(_("The place is longer than %(n)d characters.") % {"n": _PLACE_MAX})
    try:
        code = clean_division_code(division_code)
    except ValueError as exc:
        errors.setdefault("division_code", []).append(str(exc))
        code = ""
    scope = clean_place_text(scope_text) if scope_given else None
    if scope is not None and len(scope) > _SCOPE_MAX:
        errors.setdefault("scope_text", []).append(_("The scope is longer than %(n)d characters.") % {"n": _SCOPE_MAX})
    notice = clean_place_text(source_notice)
    if len(notice) > _NOTICE_MAX:
        errors.setdefault("source_notice", []).append(
            _("The source notice is longer than %(n)d characters.") % {"n": _NOTICE_MAX}
        )
    if errors:
        raise ValidationError(errors)
    resolved = place_resolve(place_text)
    return area_place_for(place=resolved, place_text=place_text, division_code=code, scope_text=scope), notice


def _clean_level(level: Any, field_name: str = "level") -> str:
    try:
        return parse_level(level)
    except ValueError as exc:
        raise ValidationError({field_name: [str(exc)]}) from exc


def _require_day(value: Any, field_name: str) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    if isinstance(value, datetime.date):
        return value
    if value in (None, ""):
        raise ValidationError({field_name: [_("The day is required.")]})
    try:
        return parse_day(value, today=timezone.localdate())
    except ValueError as exc:
        raise ValidationError(
            {field_name: [_("Not a day: “%(value)s”; write it as 2022-05-01.") % {"value": value}]}
        ) from exc


def _optional_day(value: Any, field_name: str) -> datetime.date | None:
    return None if value in (None, "") else _require_day(value, field_name)


def _same_area_in_force(key: tuple[str, str], *, on: datetime.date, exclude_pk: int | None = None) -> RiskArea | None:
    """An area with the same code and scope that is listed on ``on`` or later (not lifted by then)."""
    candidates = RiskArea.objects.filter(division_code=key[0]).exclude(lifted_at__lte=on)
    if exclude_pk is not None:
        candidates = candidates.exclude(pk=exclude_pk)
    for area in candidates.order_by("-effective_from", "-id"):
        if area_key(area.division_code, area.scope_text) == key:
            return area
    return None


def _duplicate_error(existing: RiskArea, field_name: str = "place") -> ValidationError:
    return ValidationError(
        {
            field_name: [
                _("This area is already listed: #%(id)s %(place)s, %(level)s since %(day)s.")
                % {
                    "id": existing.pk,
                    "place": existing.place,
                    "level": existing.get_level_display(),
                    "day": existing.effective_from.isoformat(),
                }
            ]
        }
    )


def _locked(area: RiskArea) -> RiskArea:
    return RiskArea.objects.select_for_update().get(pk=area.pk)


def _open_period(area: RiskArea) -> RiskAreaPeriod:
    period = (
        RiskAreaPeriod.objects.select_for_update()
        .filter(area=area, valid_until__isnull=True)
        .order_by("-valid_from", "-id")
        .first()
    )
    if period is None:  # every listed, unlifted area has one; a missing one is a data error to surface
        raise ValidationError(_("This area has no open level period; it cannot be changed here."))
    return period


def _changed(changes: list[AreaChange], actor: User | None) -> None:
    areas_changed(changes, actor=actor)


# --- one area at a time --------------------------------------------------------------------------------------


@transaction.atomic
def risk_area_create(
    *,
    actor: User,
    place: str,
    level: str,
    effective_from: datetime.date,
    division_code: str = "",
    scope_text: str = "",
    lifted_at: datetime.date | None = None,
    source_notice: str = "",
) -> RiskArea:
    """List an area at ``level`` from ``effective_from`` (optionally already lifted on ``lifted_at``).

    The place is parsed into a division code; a code given here wins. An area with the same code and scope
    that is still listed is refused, naming it. An empty ``scope_text`` means: what the parse left below the
    county.
    """
    require(actor, Perm.RISKAREA_EDIT)
    errors: dict[str, list[str]] = {}
    try:
        level = _clean_level(level)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        start = _require_day(effective_from, "effective_from")
    except ValidationError as exc:
        errors.update(exc.message_dict)
        start = None
    try:
        end = _optional_day(lifted_at, "lifted_at")
    except ValidationError as exc:
        errors.update(exc.message_dict)
        end = None
    if start is not None and end is not None and end <= start:
        errors["lifted_at"] = [_("The lifting day must be after the day the area was listed.")]
    try:
        values, notice = _clean_place_fields(
            place=place,
            division_code=division_code,
            scope_text=scope_text,
            source_notice=source_notice,
            scope_given=bool(scope_text),
        )
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
        values = None
    if errors or values is None or start is None:
        raise ValidationError(errors)
    existing = _same_area_in_force(area_key(values.division_code, values.scope_text), on=start)
    if existing is not None:
        raise _duplicate_error(existing)
    area = RiskArea.objects.create(
        place=values.place,
        division_code=values.division_code,
        scope_text=values.scope_text,
        level=level,
        effective_from=start,
        first_listed_on=start,
        lifted_at=end,
        source_notice=notice,
        needs_review=values.needs_review,
        created_by=actor,
    )
    period = RiskAreaPeriod.objects.create(
        area=area,
        level=level,
        valid_from=start,
        valid_until=end,
        division_code=area.division_code,
        scope_text=area.scope_text,
        source_notice=notice,
    )
    audit.record(actor=actor, action=AuditAction.CREATE, instance=area, changes=audit.diff({}, audit.snapshot(area)))
    _changed([AreaChange(area_id=area.pk, kind="created", level=level, period_id=period.pk)], actor)
    return area


@transaction.atomic
def risk_area_change_level(
    *,
    actor: User,
    area: RiskArea,
    expected_version: int,
    level: str,
    effective_on: datetime.date,
    source_notice: str = "",
) -> RiskArea:
    """Raise or lower an area from ``effective_on``: the open period ends that day and a new one starts.

    A change on the very day the current level started corrects that period's level instead (no empty period).
    """
    require(actor, Perm.RISKAREA_EDIT)
    new_level = _clean_level(level)
    day = _require_day(effective_on, "effective_on")
    notice = clean_place_text(source_notice)[:_NOTICE_MAX]
    area = _locked(area)
    if area.lifted_at is not None:
        raise ValidationError({"level": [_("This area was lifted; list it again instead.")]})
    if new_level == area.level:
        raise ValidationError({"level": [_("The area is already at this level.")]})
    current = _open_period(area)
    if day < current.valid_from:
        raise ValidationError(
            {
                "effective_on": [
                    _("The area has been at its current level since %(day)s; a change cannot start before that.")
                    % {"day": current.valid_from.isoformat()}
                ]
            }
        )
    previous = area.level
    before = audit.snapshot(area)
    area = versioned_update(
        area,
        expected_version=expected_version,
        values={"level": new_level, "effective_from": day, "source_notice": notice or area.source_notice},
    )
    if day == current.valid_from:
        RiskAreaPeriod.objects.filter(pk=current.pk).update(
            level=new_level, source_notice=notice or current.source_notice, updated_at=timezone.now()
        )
        period = current
        note = _("level corrected on the day it started")
    else:
        RiskAreaPeriod.objects.filter(pk=current.pk).update(valid_until=day, updated_at=timezone.now())
        period = RiskAreaPeriod.objects.create(
            area=area,
            level=new_level,
            valid_from=day,
            division_code=area.division_code,
            scope_text=area.scope_text,
            source_notice=notice,
        )
        note = ""
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=area,
        changes=audit.diff(before, audit.snapshot(area)),
        note=note,
    )
    kind = "raised" if LEVEL_RANK[RiskLevel(new_level)] > LEVEL_RANK[RiskLevel(previous)] else "lowered"
    _changed(
        [AreaChange(area_id=area.pk, kind=kind, level=new_level, previous_level=previous, period_id=period.pk)],
        actor,
    )
    return area


@transaction.atomic
def risk_area_lift(
    *, actor: User, area: RiskArea, expected_version: int, lifted_on: datetime.date, source_notice: str = ""
) -> RiskArea:
    """Lift an area: not in force from ``lifted_on`` on (the open period ends that day)."""
    require(actor, Perm.RISKAREA_EDIT)
    day = _require_day(lifted_on, "lifted_on")
    notice = clean_place_text(source_notice)[:_NOTICE_MAX]
    area = _locked(area)
    if area.lifted_at is not None:
        raise ValidationError(
            {"lifted_on": [_("This area was already lifted on %(day)s.") % {"day": area.lifted_at.isoformat()}]}
        )
    current = _open_period(area)
    if day <= current.valid_from:
        raise ValidationError(
            {
                "lifted_on": [
                    _("The area has been at its current level since %(day)s; the lifting day must be later.")
                    % {"day": current.valid_from.isoformat()}
                ]
            }
        )
    before = audit.snapshot(area)
    area = versioned_update(
        area,
        expected_version=expected_version,
        values={"lifted_at": day, "source_notice": notice or area.source_notice},
    )
    RiskAreaPeriod.objects.filter(pk=current.pk).update(valid_until=day, updated_at=timezone.now())
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=area, changes=audit.diff(before, audit.snapshot(area))
    )
    _changed([AreaChange(area_id=area.pk, kind="lifted", level=area.level, previous_level=area.level)], actor)
    return area


@transaction.atomic
def risk_area_update(*, actor: User, area: RiskArea, expected_version: int, data: Mapping[str, Any]) -> RiskArea:
    """Correct an area's place, code, scope or source notice (levels and days change through their own services).

    A changed place is parsed again: its code and scope follow the parse unless given in ``data`` too.
    The copies on the level periods follow, so matching sees the correction.
    """
    require(actor, Perm.RISKAREA_EDIT)
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in sorted(unknown)})
    area = _locked(area)
    place_text = clean_place_text(data.get("place", area.place))
    place_changed = place_text != area.place
    code_given = "division_code" in data and clean_place_text(data["division_code"]) != area.division_code
    scope_given = "scope_text" in data and clean_place_text(data["scope_text"]) != area.scope_text
    if place_changed:
        code = data.get("division_code", "") if code_given else ""
        scope = data.get("scope_text") if scope_given else None
    else:
        code = data.get("division_code", area.division_code) if code_given else area.division_code
        scope = data.get("scope_text", area.scope_text) if scope_given else area.scope_text
    values, notice = _clean_place_fields(
        place=place_text,
        division_code=code,
        scope_text=scope,
        source_notice=data.get("source_notice", area.source_notice),
        scope_given=scope is not None,
    )
    if code_given and not values.division_code:
        # The code was cleared on purpose: keep it cleared, the area needs a person to look at it.
        values = AreaPlace(values.place, "", values.scope_text, True)
    new = {
        "place": values.place,
        "division_code": values.division_code,
        "scope_text": values.scope_text,
        "needs_review": values.needs_review,
        "source_notice": notice,
    }
    changed = {key: value for key, value in new.items() if getattr(area, key) != value}
    if not changed:
        return area
    key = area_key(values.division_code, values.scope_text)
    if key != area_key(area.division_code, area.scope_text) and area.lifted_at is None:
        existing = _same_area_in_force(key, on=area.effective_from, exclude_pk=area.pk)
        if existing is not None:
            raise _duplicate_error(existing, "division_code" if code_given else "place")
    before = audit.snapshot(area)
    area = versioned_update(area, expected_version=expected_version, values=changed)
    if {"division_code", "scope_text"} & set(changed):
        RiskAreaPeriod.objects.filter(area=area).update(
            division_code=area.division_code, scope_text=area.scope_text, updated_at=timezone.now()
        )
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=area, changes=audit.diff(before, audit.snapshot(area))
    )
    if {"division_code", "scope_text"} & set(changed):
        # Only what matching reads: a corrected spelling of the notice or the place text re-evaluates nobody.
        open_period = area.periods.filter(valid_until__isnull=True).order_by("-valid_from").first()
        change = AreaChange(
            area_id=area.pk,
            kind="edited",
            level=area.level,
            previous_level=area.level,
            period_id=open_period.pk if open_period else None,
        )
        _changed([change], actor)
    return area


# --- many areas at once (files, pasted notices) --------------------------------------------------------------


@dataclass
class LoadReport:
    """What a load did (or, for a dry run or a file with errors, would do); errors name row and field."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    # row number → "created" | "raised" | "lowered" | "lifted" | "unchanged", for previews
    outcomes: dict[int, str] = field(default_factory=dict)
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Row:
    row: int
    place: str
    division_code: str
    level: str
    effective_from: datetime.date
    lifted_at: datetime.date | None
    source_notice: str


@dataclass
class _Track:
    """One area as the load plans it: stored (``new`` False) or to be created."""

    area: RiskArea
    periods: list[RiskAreaPeriod]
    new: bool
    before: dict[str, Any] = field(default_factory=dict)
    dirty_periods: list[RiskAreaPeriod] = field(default_factory=list)
    changes: list[tuple[str, str, str, RiskAreaPeriod | None]] = field(default_factory=list)

    @property
    def open_period(self) -> RiskAreaPeriod | None:
        last = self.periods[-1] if self.periods else None
        return last if last is not None and last.valid_until is None else None

    def covers(self, level: str, day: datetime.date) -> bool:
        return any(
            p.level == level and p.valid_from <= day and (p.valid_until is None or day < p.valid_until)
            for p in self.periods
        )

    def touch(self) -> None:
        """Remember the stored values before the first planned change (for the audit diff)."""
        if not self.new and not self.before:
            self.before = audit.snapshot(self.area)

    def close_open(self, day: datetime.date) -> None:
        self.touch()
        period = self.open_period
        assert period is not None
        period.valid_until = day
        if period.pk is not None and period not in self.dirty_periods:
            self.dirty_periods.append(period)


class _RowError(Exception):
    def __init__(self, field_name: str, reason: str):
        super().__init__(reason)
        self.field_name = field_name
        self.reason = reason


def _cell(row: Mapping[str, Any], name: str) -> Any:
    value = row.get(name)
    return value.strip() if isinstance(value, str) else value


def _clean_rows(rows: Iterable[Mapping[str, Any]], default_notice: str, report: LoadReport) -> list[_Row]:
    cleaned: list[_Row] = []
    for index, raw in enumerate(rows, start=2):
        number = int(raw.get("row") or index)
        errors: list[tuple[str, str]] = []
        place = clean_place_text(_cell(raw, "place"))
        if not place:
            errors.append(("place", _("The place is required.")))
        elif len(place) > _PLACE_MAX:
            errors.append(("place", _("The place is longer than %(n)d characters.") % {"n": _PLACE_MAX}))
        try:
            code = clean_division_code(_cell(raw, "division_code"))
        except ValueError as exc:
            errors.append(("division_code", str(exc)))
            code = ""
        try:
            level = parse_level(_cell(raw, "level"))
        except ValueError as exc:
            errors.append(("level", str(exc)))
            level = ""
        start: datetime.date | None = None
        end: datetime.date | None = None
        try:
            start = _require_day(_cell(raw, "effective_from"), "effective_from")
        except ValidationError as exc:
            errors.append(("effective_from", "; ".join(exc.messages)))
        try:
            end = _optional_day(_cell(raw, "lifted_at"), "lifted_at")
        except ValidationError as exc:
            errors.append(("lifted_at", "; ".join(exc.messages)))
        if start is not None and end is not None and end <= start:
            errors.append(("lifted_at", _("The lifting day must be after the day the area was listed.")))
        notice = clean_place_text(_cell(raw, "source_notice") or default_notice)
        if len(notice) > _NOTICE_MAX:
            errors.append(
                ("source_notice", _("The source notice is longer than %(n)d characters.") % {"n": _NOTICE_MAX})
            )
        if errors:
            report.errors.extend({"row": number, "field": f, "reason": r} for f, r in errors)
            continue
        assert start is not None
        cleaned.append(_Row(number, place, code, level, start, end, notice))
    return cleaned


def _load_tracks(keys: set[tuple[str, str]], *, lock: bool) -> dict[tuple[str, str], list[_Track]]:
    """The stored areas of these keys with their periods: one query per 500 codes, plus one for the periods."""
    codes = sorted({code for code, _scope in keys})
    areas: list[RiskArea] = []
    for start in range(0, len(codes), _CHUNK):
        queryset = RiskArea.objects.filter(division_code__in=codes[start : start + _CHUNK])
        if lock:
            queryset = queryset.select_for_update()
        areas.extend(queryset.order_by("first_listed_on", "id"))
    periods: dict[int, list[RiskAreaPeriod]] = {}
    ids = [area.pk for area in areas]
    for start in range(0, len(ids), _CHUNK):
        for period in RiskAreaPeriod.objects.filter(area_id__in=ids[start : start + _CHUNK]).order_by(
            "valid_from", "id"
        ):
            periods.setdefault(period.area_id, []).append(period)
    tracks: dict[tuple[str, str], list[_Track]] = {}
    for area in areas:
        key = area_key(area.division_code, area.scope_text)
        if key in keys:
            tracks.setdefault(key, []).append(_Track(area=area, periods=periods.get(area.pk, []), new=False))
    return tracks


def _plan_row(row: _Row, key: tuple[str, str], values: AreaPlace, tracks: list[_Track], actor: User | None) -> str:
    """Apply one row to the planned state of its area; the outcome, or _RowError."""
    latest = tracks[-1] if tracks else None
    if latest is None or (latest.area.lifted_at is not None and row.effective_from >= latest.area.lifted_at):
        area = RiskArea(
            place=row.place,
            division_code=values.division_code,
            scope_text=values.scope_text,
            level=row.level,
            effective_from=row.effective_from,
            first_listed_on=row.effective_from,
            lifted_at=row.lifted_at,
            source_notice=row.source_notice,
            needs_review=values.needs_review,
            created_by=actor if isinstance(actor, User) else None,
        )
        period = RiskAreaPeriod(
            area=area,
            level=row.level,
            valid_from=row.effective_from,
            valid_until=row.lifted_at,
            division_code=values.division_code,
            scope_text=values.scope_text,
            source_notice=row.source_notice,
        )
        track = _Track(area=area, periods=[period], new=True)
        track.changes.append(("created", row.level, "", period))
        tracks.append(track)
        return "created"
    area = latest.area
    if area.lifted_at is not None:
        # The row starts before the area was lifted: it can only repeat what is stored.
        if any(t.covers(row.level, row.effective_from) for t in tracks):
            if row.lifted_at is None or any(t.area.lifted_at == row.lifted_at for t in tracks):
                return "unchanged"
            raise _RowError(
                "lifted_at", _("The area was already lifted on %(day)s.") % {"day": area.lifted_at.isoformat()}
            )
        raise _RowError(
            "effective_from",
            _("The area was lifted on %(day)s; a new listing must start on or after that day.")
            % {"day": area.lifted_at.isoformat()},
        )
    current = latest.open_period
    if current is None:
        raise _RowError("place", _("This area has no open level period; correct it on its page first."))
    outcome = "unchanged"
    if latest.covers(row.level, row.effective_from) or row.level == area.level:
        pass  # already listed at this level
    elif any(t.covers(row.level, row.effective_from) for t in tracks[:-1]):
        return "unchanged"  # a row about an earlier listing of the same place
    elif row.effective_from > current.valid_from:
        previous = area.level
        latest.close_open(row.effective_from)
        period = RiskAreaPeriod(
            area=area,
            level=row.level,
            valid_from=row.effective_from,
            division_code=area.division_code,
            scope_text=area.scope_text,
            source_notice=row.source_notice,
        )
        latest.periods.append(period)
        area.level, area.effective_from = row.level, row.effective_from
        area.source_notice = row.source_notice or area.source_notice
        outcome = "raised" if LEVEL_RANK[RiskLevel(row.level)] > LEVEL_RANK[RiskLevel(previous)] else "lowered"
        latest.changes.append((outcome, row.level, previous, period))
    elif row.effective_from == current.valid_from:
        raise _RowError(
            "level",
            _("The area is %(level)s from %(day)s; it cannot have two levels on one day.")
            % {"level": area.get_level_display(), "day": current.valid_from.isoformat()},
        )
    else:
        raise _RowError(
            "effective_from",
            _("The area has been %(level)s since %(day)s; a row cannot change its level before that day.")
            % {"level": area.get_level_display(), "day": current.valid_from.isoformat()},
        )
    if row.lifted_at is not None:
        current = latest.open_period
        assert current is not None
        if row.lifted_at <= current.valid_from:
            raise _RowError(
                "lifted_at",
                _("The area has been at its current level since %(day)s; the lifting day must be later.")
                % {"day": current.valid_from.isoformat()},
            )
        latest.close_open(row.lifted_at)
        area.lifted_at = row.lifted_at
        area.source_notice = row.source_notice or area.source_notice
        latest.changes.append(("lifted", area.level, area.level, None))
        outcome = "lifted" if outcome == "unchanged" else outcome
    return outcome


def _audit_events(actor: User | None, tracks: list[_Track]) -> list[AuditEvent]:
    """Audit rows of a load, built as ``audit.record`` builds them but inserted in bulk."""
    ctx = context.current()
    content_type = ContentType.objects.get_for_model(RiskArea, for_concrete_model=False)
    is_user = isinstance(actor, User)
    note = _("loaded from a file or notice")
    labels = {value: str(label) for value, label in RiskLevel.choices}  # str(area) per row is slow on lazy labels
    events = []
    for track in tracks:
        after = audit.snapshot(track.area)
        events.append(
            AuditEvent(
                actor=actor if is_user else None,
                actor_username=actor.username if is_user and actor is not None else "",
                ip=ctx.ip,
                action=AuditAction.CREATE if track.new else AuditAction.UPDATE,
                content_type=content_type,
                object_id=str(track.area.pk),
                object_repr=f"{track.area.place} ({labels[track.area.level]})"[:200],
                version=track.area.version,
                changes=audit.diff({} if track.new else track.before, after),
                note=note,
            )
        )
    return events


def risk_areas_load(
    *,
    actor: User | None,
    rows: Iterable[Mapping[str, Any]],
    dry_run: bool = False,
    source_notice: str = "",
) -> LoadReport:
    """Load areas from rows of ``place, division_code, level, effective_from, lifted_at[, source_notice]``.

    All rows or none: any bad row is reported (row number, field, reason) and nothing is written. Loading the
    same rows again changes nothing; a known area with another level is raised/lowered on ``effective_from``;
    ``lifted_at`` lifts it. ``actor`` None is the system (management command); a person needs the permission.
    Each row may carry its spreadsheet row number as ``row`` (header = 1); otherwise rows count from 2.
    """
    if actor is not None:
        require(actor, Perm.RISKAREA_EDIT)
    report = LoadReport()
    cleaned = _clean_rows(rows, clean_place_text(source_notice), report)
    with transaction.atomic():
        places, new_places = _places_lookup(row.place for row in cleaned)
        planned: list[tuple[_Row, tuple[str, str], AreaPlace]] = []
        for row in cleaned:
            values = area_place_for(
                place=places[_limit(row.place, 200)],
                place_text=row.place,
                division_code=row.division_code,
                scope_text=None,
            )
            planned.append((row, area_key(values.division_code, values.scope_text), values))
        tracks = _load_tracks({key for _row, key, _values in planned}, lock=not dry_run)
        # Oldest first, so a file holding an area's history (high, then medium, then lifted) replays it in order.
        for row, key, values in sorted(planned, key=lambda item: (item[0].effective_from, item[0].row)):
            try:
                outcome = _plan_row(row, key, values, tracks.setdefault(key, []), actor)
            except _RowError as exc:
                report.errors.append({"row": row.row, "field": exc.field_name, "reason": exc.reason})
                continue
            report.outcomes[row.row] = outcome
            if outcome == "created":
                report.created += 1
            elif outcome == "unchanged":
                report.unchanged += 1
            else:
                report.updated += 1
        report.errors.sort(key=lambda e: (e["row"], e["field"]))
        if report.errors or dry_run:
            return report
        _write_plan(actor, [t for group in tracks.values() for t in group], new_places)
        summary = _("Risk-area load: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.") % {
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
        }
        audit.record(actor=actor, action=AuditAction.OTHER, note=summary, object_repr="risk areas")
        report.written = True
    return report


def _write_plan(actor: User | None, tracks: list[_Track], new_places: list[Place]) -> None:
    now = timezone.now()
    if new_places:
        Place.objects.bulk_create(new_places, batch_size=_CHUNK, ignore_conflicts=True)
    created = [t for t in tracks if t.new]
    changed = [t for t in tracks if not t.new and t.changes]
    RiskArea.objects.bulk_create([t.area for t in created], batch_size=_CHUNK)
    new_periods = [p for t in created + changed for p in t.periods if p.pk is None]
    for period in new_periods:
        period.area_id = period.area.pk
    RiskAreaPeriod.objects.bulk_create(new_periods, batch_size=_CHUNK)
    # Grouped UPDATEs rather than bulk_update: a notice moves many areas to the same level on the same day, so
    # there are few distinct value sets, and a CASE per row is slow to build for thousands of rows.
    closing: dict[datetime.date | None, list[int]] = {}
    for track in changed:
        for period in track.dirty_periods:
            closing.setdefault(period.valid_until, []).append(period.pk)
    for until, period_ids in closing.items():
        for start in range(0, len(period_ids), _CHUNK):
            RiskAreaPeriod.objects.filter(pk__in=period_ids[start : start + _CHUNK]).update(
                valid_until=until, updated_at=now
            )
    groups: dict[tuple[Any, ...], list[int]] = {}
    for track in changed:
        area = track.area
        groups.setdefault((area.level, area.effective_from, area.lifted_at, area.source_notice), []).append(area.pk)
        area.version += 1  # as the UPDATE below does, for the audit rows
    for (level, effective_from, lifted_at, notice), area_ids in groups.items():
        for start in range(0, len(area_ids), _CHUNK):
            RiskArea.objects.filter(pk__in=area_ids[start : start + _CHUNK]).update(
                level=level,
                effective_from=effective_from,
                lifted_at=lifted_at,
                source_notice=notice,
                version=F("version") + 1,
                updated_at=now,
            )
    AuditEvent.objects.bulk_create(_audit_events(actor, created + changed), batch_size=_CHUNK)
    changes = [
        AreaChange(
            area_id=t.area.pk,
            kind=kind,
            level=level,
            previous_level=previous,
            period_id=period.pk if period is not None else None,
        )
        for t in created + changed
        for kind, level, previous, period in t.changes
    ]
    _changed(changes, actor)
