"""Writes on persons: create, update (optimistic locking), merge, duplicate dismissal, PII reveal."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from firstline.accounts.models import User
from firstline.accounts.roles import Perm
from firstline.core import audit, identity
from firstline.core.concurrency import versioned_update
from firstline.core.models import AuditAction
from firstline.core.scoping import require, scope_of
from firstline.people.models import DuplicateDismissal, IdType, Person
from firstline.regions.models import Division, Household

EDITABLE_FIELDS = ("name", "id_type", "id_number", "phone", "ethnicity", "household", "sex", "birth_date")


def clean_person_fields(
    *,
    name: str,
    id_type: str,
    id_number: str,
    phone: str = "",
    ethnicity: str = "",
    sex: str = "",
    birth_date: Any = None,
) -> dict[str, Any]:
    """Normalise and validate person fields; raise ValidationError naming each bad field.

    Resident IDs and HMT permits carry birth date and sex: those are derived, not typed.
    """
    # The local date (TIME_ZONE), not the server's: a baby born this morning in Yushu is not "born in the future".
    today = timezone.localdate()
    errors: dict[str, list[Any]] = {}
    values: dict[str, Any] = {"ethnicity": identity.normalize_name(ethnicity or "")[:20]}
    values["name"] = identity.normalize_name(name or "")
    if not values["name"]:
        errors.setdefault("name", []).append(_("The name is required."))
    try:
        values["id_type"], values["id_number"] = identity.normalize_id_number(
            id_number or "", id_type or IdType.RESIDENT, today=today
        )
    except identity.IdentityError as exc:
        errors.setdefault("id_number", []).append(exc.message)
    try:
        values["phone"] = identity.normalize_phone(phone or "")
    except identity.IdentityError as exc:
        errors.setdefault("phone", []).append(exc.message)
    if errors:
        raise ValidationError(errors)
    if values["id_type"] in (IdType.RESIDENT, IdType.HMT_PERMIT):  # HMT permits share the resident ID layout
        info = identity.parse_resident_id(values["id_number"], today=today)
        values["birth_date"], values["sex"] = info.birth_date, info.sex
    else:
        values["birth_date"], values["sex"] = birth_date or None, sex or ""
    values["name_pinyin"] = identity.name_pinyin(values["name"])[:200]
    values["name_initials"] = identity.name_initials(values["name"])[:50]
    return values


def _path_for(*, actor: User, household: Household | None, division: Division | None) -> str:
    scope = scope_of(actor)
    if household is not None:
        path = household.path
    elif division is not None:
        path = division.code
    else:
        raise ValidationError({"household": [_("Give a household, or at least the division the person lives in.")]})
    if not scope.covers_path(path):
        if household is None:
            raise ValidationError({"household": [_("Choose the person's household in your grid.")]})
        raise ValidationError({"household": [_("This household is outside your jurisdiction.")]})
    return path


def _duplicate_id_error(actor: User, id_type: str, id_number: str) -> ValidationError:
    existing = Person.objects.filter(id_type=id_type, id_number=id_number).first()
    if existing is not None and Person.objects.visible_to(actor).filter(pk=existing.pk).exists():
        return ValidationError(
            {"id_number": [_("This ID number is already registered (person #%(id)s).") % {"id": existing.pk}]}
        )
    # Out of scope: say only that it exists elsewhere, never who or where.
    return ValidationError(
        {"id_number": [_("This ID number is already registered in another jurisdiction; ask for a transfer.")]}
    )


@transaction.atomic
def person_create(
    *,
    actor: User,
    name: str,
    id_type: str,
    id_number: str,
    phone: str = "",
    ethnicity: str = "",
    sex: str = "",
    birth_date: Any = None,
    household: Household | None = None,
    division: Division | None = None,
) -> Person:
    """Register a person; the ID number must be new (one person per ID type and number)."""
    require(actor, Perm.PERSON_ADD)
    values = clean_person_fields(
        name=name,
        id_type=id_type,
        id_number=id_number,
        phone=phone,
        ethnicity=ethnicity,
        sex=sex,
        birth_date=birth_date,
    )
    path = _path_for(actor=actor, household=household, division=division)
    if Person.objects.filter(id_type=values["id_type"], id_number=values["id_number"]).exists():
        raise _duplicate_id_error(actor, values["id_type"], values["id_number"])
    try:
        with transaction.atomic():
            person = Person.objects.create(household=household, path=path, **values)
    except IntegrityError as exc:  # a concurrent registration of the same ID won the race
        raise _duplicate_id_error(actor, values["id_type"], values["id_number"]) from exc
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        instance=person,
        changes=audit.diff({}, audit.snapshot(person)),
    )
    return person


@transaction.atomic
def person_update(*, actor: User, person: Person, expected_version: int, data: dict[str, Any]) -> Person:
    """Change a person's fields if nobody else changed them since ``expected_version``.

    ``data`` holds only the fields being changed (a PATCH); the rest keep their stored values.
    """
    require(actor, Perm.PERSON_CHANGE)
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in sorted(unknown)})
    merged: dict[str, Any] = {
        "name": person.name,
        "id_type": person.id_type,
        "id_number": person.id_number,
        "phone": person.phone,
        "ethnicity": person.ethnicity,
        "sex": person.sex,
        "birth_date": person.birth_date,
    }
    merged.update({k: v for k, v in data.items() if k != "household"})
    values = clean_person_fields(**merged)
    if "household" in data:
        household = data["household"]
        values["household"] = household
        if household is not None:
            values["path"] = _path_for(actor=actor, household=household, division=None)
    if (values["id_type"], values["id_number"]) != (
        person.id_type,
        person.id_number,
    ) and Person.objects.filter(id_type=values["id_type"], id_number=values["id_number"]).exclude(
        pk=person.pk
    ).exists():
        raise _duplicate_id_error(actor, values["id_type"], values["id_number"])
    changed = {key: value for key, value in values.items() if getattr(person, key) != value}
    if not changed:
        return person
    before = audit.snapshot(person)
    person = versioned_update(person, expected_version=expected_version, values=changed)
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=person,
        changes=audit.diff(before, audit.snapshot(person)),
    )
    return person


def _linked_relations() -> list[Any]:
    """Every foreign key that points at Person from another model (later apps add arrivals, cases …)."""
    return [
        rel
        for rel in Person._meta.related_objects
        if rel.related_model is not Person and rel.related_model is not DuplicateDismissal and not rel.many_to_many
    ]


@transaction.atomic
def person_merge(*, actor: User, keep: Person, merge: Person) -> Person:
    """Merge ``merge`` into ``keep``: every linked record moves to ``keep``; ``merge`` stays as a tombstone.

    Blank fields of ``keep`` are filled from ``merge``. Both records get an audit event listing what moved.
    """
    require(actor, Perm.PERSON_MERGE)
    if keep.pk == merge.pk:
        raise ValidationError(_("A person cannot be merged with themselves."))
    keep = Person.objects.select_for_update().get(pk=keep.pk)
    merge = Person.objects.select_for_update().get(pk=merge.pk)
    if keep.merged_into_id or merge.merged_into_id:
        raise ValidationError(_("One of these records was already merged."))
    moved: dict[str, int] = {}
    for rel in _linked_relations():
        count = rel.related_model._default_manager.filter(**{rel.field.name: merge}).update(**{rel.field.name: keep})
        if count:
            moved[rel.related_model._meta.label] = count
    content_type = ContentType.objects.get_for_model(Person)
    for model in _generic_linkers():
        count = model._default_manager.filter(content_type=content_type, object_id=str(merge.pk)).update(
            object_id=str(keep.pk)
        )
        if count:
            moved[model._meta.label] = count
    before = audit.snapshot(keep)
    fill = {
        field: getattr(merge, field)
        for field in ("phone", "ethnicity", "birth_date", "sex", "household_id")
        if not getattr(keep, field) and getattr(merge, field)
    }
    if fill.get("household_id"):
        fill["path"] = merge.path
    if fill:
        keep = versioned_update(keep, expected_version=keep.version, values=fill)
    Person.objects.filter(pk=merge.pk).update(merged_into=keep, updated_at=timezone.now())
    merge.refresh_from_db()
    note = _("Merged person #%(merged)s into #%(kept)s; moved: %(moved)s") % {
        "merged": merge.pk,
        "kept": keep.pk,
        "moved": ", ".join(f"{k} × {v}" for k, v in moved.items()) or "-",
    }
    audit.record(
        actor=actor,
        action=AuditAction.MERGE,
        instance=keep,
        changes=audit.diff(before, audit.snapshot(keep)),
        note=note,
    )
    audit.record(
        actor=actor,
        action=AuditAction.MERGE,
        instance=merge,
        changes={"merged_into": [None, keep.pk]},
        note=note,
    )
    return keep


def _generic_linkers() -> list[Any]:
    """Models that point at any record through (content_type, object_id): tasks and similar; not the audit log."""
    from django.apps import apps

    from firstline.core.models import AuditEvent

    result = []
    for model in apps.get_models():
        if model is AuditEvent:
            continue
        names = {f.name for f in model._meta.get_fields()}
        if {"content_type", "object_id"} <= names:
            result.append(model)
    return result


@transaction.atomic
def duplicate_dismiss(*, actor: User, first: Person, second: Person) -> DuplicateDismissal:
    """Remember that two persons are different people, so the pair is never proposed again."""
    require(actor, Perm.PERSON_MERGE)
    low, high = sorted((first, second), key=lambda p: p.pk)
    dismissal, _created = DuplicateDismissal.objects.get_or_create(
        person_low=low, person_high=high, defaults={"dismissed_by": actor}
    )
    audit.record(actor=actor, action=AuditAction.OTHER, instance=low, note=f"not a duplicate of person #{high.pk}")
    return dismissal


@transaction.atomic
def pii_reveal(*, actor: User, person: Person) -> dict[str, str]:
    """Unmask one person's ID number and phone for a role that may reveal; the reveal is audited."""
    scope = scope_of(actor)
    if not (scope.has(Perm.PII_REVEAL) or scope.has(Perm.PII_FULL)):
        raise PermissionDenied(_("Your role may not see full personal data."))
    audit.record(actor=actor, action=AuditAction.REVEAL, instance=person, note="id_number, phone")
    return {"id_number": person.id_number, "phone": person.phone}
