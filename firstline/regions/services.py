"""Writes on divisions, grids, buildings and households."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from firstline.core import audit, identity
from firstline.core.concurrency import versioned_update
from firstline.core.models import AuditAction
from firstline.core.scoping import require, scope_of
from firstline.regions.models import (
    VILLAGE_LEVELS,
    Building,
    Division,
    Grid,
    GridKind,
    Household,
    ancestor_codes,
    validate_division,
)

DIVISION_COLUMNS = ("code", "name", "level", "parent_code")


@dataclass
class DivisionLoadReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def _require(actor: Any, permission: str) -> None:
    """Loads and commands run with ``actor`` None (the system); a person needs the permission."""
    if actor is not None:
        require(actor, permission)


def divisions_load(*, actor: Any, source: Path | io.TextIOBase, dry_run: bool = False) -> DivisionLoadReport:
    """Load divisions from CSV (code,name,level,parent_code): all rows or none.

    Rows may come in any order; a parent may be in the file or already stored. Every bad row is reported
    with its line number and reason, and then nothing is written.
    """
    _require(actor, "division.manage")
    handle = open(source, encoding="utf-8-sig", newline="") if isinstance(source, Path) else source  # noqa: SIM115
    try:
        reader = csv.DictReader(handle)
        header = tuple(reader.fieldnames or ())
        if header[: len(DIVISION_COLUMNS)] != DIVISION_COLUMNS:
            return DivisionLoadReport(
                errors=[
                    _("line 1: the columns must be %(cols)s, found %(found)s")
                    % {"cols": ",".join(DIVISION_COLUMNS), "found": ",".join(header)}
                ]
            )
        rows = [(index, row) for index, row in enumerate(reader, start=2)]
    finally:
        if isinstance(source, Path):
            handle.close()
    report = DivisionLoadReport()
    parsed: dict[str, dict[str, str]] = {}
    for line, row in rows:
        code = (row.get("code") or "").strip()
        level = (row.get("level") or "").strip()
        parent = (row.get("parent_code") or "").strip()
        name = identity.normalize_name(row.get("name") or "")
        try:
            if not name:
                raise ValidationError({"name": [_("The name is empty.")]})
            validate_division(code, level, parent or None)
        except ValidationError as exc:
            for field_name, messages in exc.message_dict.items():
                report.errors.append(
                    _("line %(line)d, %(field)s: %(msg)s")
                    % {"line": line, "field": field_name, "msg": "; ".join(messages)}
                )
            continue
        if code in parsed:
            report.errors.append(_("line %(line)d, code: %(code)s appears twice") % {"line": line, "code": code})
            continue
        parsed[code] = {"name": name, "level": level, "parent": parent, "line": str(line)}
    existing = {
        d.code: d for d in Division.objects.filter(code__in=set(parsed) | {p["parent"] for p in parsed.values()})
    }
    for data in parsed.values():
        if data["parent"] and data["parent"] not in parsed and data["parent"] not in existing:
            report.errors.append(
                _("line %(line)s, parent_code: %(parent)s is neither in the file nor stored")
                % {"line": data["line"], "parent": data["parent"]}
            )
    if report.errors or dry_run:
        return report
    with transaction.atomic():
        # Parents first: codes are prefixes, so shorter codes sort first.
        for code in sorted(parsed, key=lambda c: (len(c), c)):
            data = parsed[code]
            current = existing.get(code)
            if current is None:
                division = Division.objects.create(
                    code=code, name=data["name"], level=data["level"], parent_id=data["parent"] or None
                )
                existing[code] = division
                report.created += 1
                audit.record(
                    actor=actor,
                    action=AuditAction.CREATE,
                    instance=division,
                    changes={"name": [None, division.name], "level": [None, division.level]},
                )
            elif (current.name, current.level, current.parent_id or "") != (
                data["name"],
                data["level"],
                data["parent"],
            ):
                before = audit.snapshot(current)
                current.name, current.level, current.parent_id = (
                    data["name"],
                    data["level"],
                    data["parent"] or None,
                )
                current.save(update_fields=["name", "level", "parent", "updated_at"])
                report.updated += 1
                audit.record(
                    actor=actor,
                    action=AuditAction.UPDATE,
                    instance=current,
                    changes=audit.diff(before, audit.snapshot(current)),
                )
            else:
                report.unchanged += 1
    return report


@transaction.atomic
def grid_create(
    *,
    actor: Any,
    division: Division,
    number: int,
    name: str,
    kind: str = GridKind.COMPREHENSIVE,
    institution: str = "",
    synthetic: bool = False,
) -> Grid:
    """A grid under a village/community; its code extends the division's (``632701001001-G003``)."""
    _require(actor, "responsibility.manage")
    if division.level not in VILLAGE_LEVELS:
        raise ValidationError({"division": [_("Grids are drawn inside a village or community.")]})
    if actor is not None and not scope_of(actor).covers_path(division.code):
        raise PermissionDenied(_("This division is outside your jurisdiction."))
    if not 1 <= number <= 999:
        raise ValidationError({"number": [_("A grid number is between 1 and 999.")]})
    code = f"{division.code}-G{number:03d}"
    if Grid.objects.filter(code=code).exists():
        raise ValidationError({"number": [_("Grid %(code)s already exists.") % {"code": code}]})
    grid = Grid.objects.create(
        code=code,
        path=code,
        name=name,
        division=division,
        kind=kind,
        institution=institution,
        synthetic=synthetic,
    )
    audit.record(actor=actor, action=AuditAction.CREATE, instance=grid, changes=audit.diff({}, audit.snapshot(grid)))
    return grid


@transaction.atomic
def household_create(
    *, actor: Any, grid: Grid, number: int, address: str, building: Building | None = None
) -> Household:
    _require(actor, "household.change")
    if actor is not None and not scope_of(actor).covers_path(grid.path):
        raise PermissionDenied(_("This grid is outside your jurisdiction."))
    address = identity.normalize_address(address)
    if not address:
        raise ValidationError({"address": [_("The address is required.")]})
    code = f"{grid.code}-H{number:04d}"
    household = Household.objects.create(code=code, path=grid.path, grid=grid, building=building, address=address)
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        instance=household,
        changes=audit.diff({}, audit.snapshot(household)),
    )
    return household


@transaction.atomic
def household_assign_responsible(
    *, actor: Any, household: Household, responsible: Any, expected_version: int
) -> Household:
    """分片包干: name the cadre or party member who covers a household (None clears it)."""
    _require(actor, "responsibility.manage")
    if responsible is not None:
        user_model = get_user_model()
        in_jurisdiction = (
            user_model.objects.filter(pk=responsible.pk, memberships__active=True)
            .filter(memberships__path__in=_ancestor_paths(household.path))
            .exists()
        )
        if not in_jurisdiction:
            raise ValidationError({"responsible": [_("Choose someone who works in this grid, village or township.")]})
    before = audit.snapshot(household)
    household = versioned_update(household, expected_version=expected_version, values={"responsible": responsible})
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=household,
        changes=audit.diff(before, audit.snapshot(household)),
    )
    return household


def _ancestor_paths(path: str) -> list[str]:
    """The path itself and every jurisdiction path above it (grid → village → township → county …)."""
    paths = [path] if "-" in path else []
    return paths + ancestor_codes(path)[::-1]


def city_code() -> str:
    return str(settings.FIRSTLINE_CITY_CODE)
