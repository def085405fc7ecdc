"""Writes on policy editions and their measure rules: copy, edit, rule changes, publish.

Every write bumps the edition's ``version``/``updated_at`` (``selectors.edition_book`` refreshes its cache on
that) and is audited on the edition, so the edition's history lists its rule changes too. A change to a published
edition (and publishing one) tells ``hooks.edition_changed`` listeners, after commit, so arrivals are re-evaluated.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from firstline.accounts.models import User
from firstline.accounts.roles import Perm
from firstline.core import audit
from firstline.core.concurrency import versioned_update
from firstline.core.models import AuditAction
from firstline.core.scoping import require
from firstline.policy.hooks import edition_changed
from firstline.policy.models import (
    RISK_TRIGGERS,
    Anchor,
    EditionStatus,
    MeasureRule,
    MeasureType,
    PolicyEdition,
    Trigger,
)

EDITION_PARAMETERS = (
    "infectious_days_before",
    "window_from_last_negative",
    "min_tests_when_short",
    "min_test_gap_hours",
    "expired_as_low_risk",
    "lifting_shortens_measures",
    "early_release_allowed",
)
EDITION_FIELDS = ("name", "effective_from", "description", *EDITION_PARAMETERS)
RULE_FIELDS = (
    "measure",
    "duration_days",
    "lookback_days",
    "anchor",
    "test_days",
    "follow_on_measure",
    "follow_on_days",
    "follow_on_test_days",
    "stay_home_until_negative",
    "priority",
    "note",
)
# Bounds of the edition-wide numbers: wide enough for any real notice, narrow enough to catch typos.
_PARAMETER_BOUNDS = {
    "infectious_days_before": (0, 30),
    "min_tests_when_short": (0, 10),
    "min_test_gap_hours": (1, 24 * 7),
}
_MAX_DAYS = 365
_DAY_SEPARATORS = re.compile(r"[\s,，、;；]+")


def _unknown_fields(data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in sorted(unknown)})


def _as_date(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _as_int(value: Any) -> int | None:
    """An int from a number or text; None for empty; raises ValueError for anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return int(str(value).strip())


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def parse_day_numbers(value: Any) -> list[int]:
    """Day numbers from a list or from text such as ``"1,2,3,5,7"`` (also ``1、2`` or ``1 2``).

    Raises ValueError naming the first entry that is not a whole number; range checks are the caller's.
    """
    if value is None:
        return []
    items: list[Any]
    if isinstance(value, str):
        items = [part for part in _DAY_SEPARATORS.split(value.strip()) if part]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ValueError(value)
    numbers: list[int] = []
    for item in items:
        try:
            number = _as_int(item)
        except ValueError:
            number = None
        if number is None:
            raise ValueError(item)
        numbers.append(number)
    return numbers


def _check_days(
    raw: Any, *, field: str, limit: int | None, limit_field_label: str, errors: dict[str, list[str]]
) -> list[int]:
    """Validated, sorted day numbers 1..limit; errors name the bad entry."""
    try:
        numbers = parse_day_numbers(raw)
    except ValueError as exc:
        errors.setdefault(field, []).append(
            _("“%(value)s” is not a day number: give whole numbers such as 1,2,3,5,7.") % {"value": exc.args[0]}
        )
        return []
    seen: set[int] = set()
    for number in numbers:
        if number < 1:
            errors.setdefault(field, []).append(
                _("Day %(day)s is not possible: day 1 is the first day of the period.") % {"day": number}
            )
        elif limit is not None and number > limit:
            errors.setdefault(field, []).append(
                _("Day %(day)s is after the last day of the %(what)s (%(limit)s days).")
                % {"day": number, "what": limit_field_label, "limit": limit}
            )
        elif number in seen:
            errors.setdefault(field, []).append(_("Day %(day)s is listed twice.") % {"day": number})
        seen.add(number)
    return sorted(seen)


def _clean_edition_values(values: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    if "name" in values:
        cleaned["name"] = str(values["name"] or "").strip()
        if not cleaned["name"]:
            errors.setdefault("name", []).append(_("Give the edition a name."))
        elif len(cleaned["name"]) > 120:
            errors.setdefault("name", []).append(_("The name is longer than 120 characters."))
    if "effective_from" in values:
        day = _as_date(values["effective_from"])
        if day is None:
            errors.setdefault("effective_from", []).append(_("Give the date the edition takes effect (YYYY-MM-DD)."))
        cleaned["effective_from"] = day
    if "description" in values:
        cleaned["description"] = str(values["description"] or "").strip()
    for name, (low, high) in _PARAMETER_BOUNDS.items():
        if name not in values:
            continue
        try:
            number = _as_int(values[name])
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            errors.setdefault(name, []).append(
                _("Give a whole number from %(low)s to %(high)s.") % {"low": low, "high": high}
            )
        cleaned[name] = number
    for name in ("expired_as_low_risk", "lifting_shortens_measures", "early_release_allowed"):
        if name in values:
            cleaned[name] = _as_bool(values[name])
    return cleaned


def _published_clash(edition: PolicyEdition, effective_from: datetime.date) -> bool:
    return PolicyEdition.objects.published().filter(effective_from=effective_from).exclude(pk=edition.pk).exists()


def _clash_error(effective_from: datetime.date) -> ValidationError:
    return ValidationError(
        {
            "effective_from": [
                _("Another published edition already takes effect on %(day)s: choose another date.")
                % {"day": effective_from.isoformat()}
            ]
        }
    )


def _touch(edition: PolicyEdition) -> PolicyEdition:
    """Bump version and updated_at so the cached edition book and open edit forms notice the change."""
    PolicyEdition.objects.filter(pk=edition.pk).update(version=F("version") + 1, updated_at=timezone.now())
    edition.refresh_from_db()
    return edition


def _rule_values(rule: MeasureRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in RULE_FIELDS}


@transaction.atomic
def edition_copy(*, actor: User, edition: PolicyEdition, name: str, effective_from: Any) -> PolicyEdition:
    """A draft copy of ``edition`` (all rules and edition parameters) to edit and later publish."""
    require(actor, Perm.POLICY_EDIT)
    errors: dict[str, list[str]] = {}
    values = _clean_edition_values({"name": name, "effective_from": effective_from}, errors)
    if errors:
        raise ValidationError(errors)
    copy = PolicyEdition.objects.create(
        name=values["name"],
        effective_from=values["effective_from"],
        status=EditionStatus.DRAFT,
        description=edition.description,
        based_on=edition,
        created_by=actor,
        **{name: getattr(edition, name) for name in EDITION_PARAMETERS},
    )
    rules = [
        MeasureRule(edition=copy, trigger=rule.trigger, **_rule_values(rule))
        for rule in MeasureRule.objects.filter(edition=edition).order_by("trigger")
    ]
    MeasureRule.objects.bulk_create(rules)
    after = audit.snapshot(copy)
    after.update({f"{rule.trigger}.{k}": v for rule in rules for k, v in _rule_values(rule).items()})
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        instance=copy,
        changes=audit.diff({}, after),
        note=f"copied from edition #{edition.pk}",
    )
    return copy


@transaction.atomic
def edition_update(
    *, actor: User, edition: PolicyEdition, expected_version: int, data: dict[str, Any]
) -> PolicyEdition:
    """Change the name, date, description or edition-wide parameters; a published edition's listeners are told."""
    require(actor, Perm.POLICY_EDIT)
    _unknown_fields(data, EDITION_FIELDS)
    errors: dict[str, list[str]] = {}
    values = _clean_edition_values(data, errors)
    if errors:
        raise ValidationError(errors)
    if (
        edition.status == EditionStatus.PUBLISHED
        and "effective_from" in values
        and _published_clash(edition, values["effective_from"])
    ):
        raise _clash_error(values["effective_from"])
    before = audit.snapshot(edition)
    edition = versioned_update(edition, expected_version=expected_version, values=values)
    changes = audit.diff(before, audit.snapshot(edition))
    if changes:
        audit.record(actor=actor, action=AuditAction.UPDATE, instance=edition, changes=changes)
        if edition.status == EditionStatus.PUBLISHED:
            edition_changed(edition.pk, actor=actor)
    return edition


def _clean_rule(trigger: str, values: dict[str, Any]) -> dict[str, Any]:
    """Validate a rule's full set of values; every error names its field."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    real_measures = [m for m in MeasureType.values if m != MeasureType.NONE]
    measure = str(values.get("measure") or "")
    if measure not in real_measures:
        errors.setdefault("measure", []).append(
            _("Choose a measure; to require nothing for this trigger, delete the rule.")
        )
    cleaned["measure"] = measure

    def number(field: str, *, required: bool, low: int, high: int = _MAX_DAYS) -> int | None:
        try:
            value = _as_int(values.get(field))
        except ValueError:
            errors.setdefault(field, []).append(_("Give a whole number."))
            return None
        if value is None:
            if required:
                errors.setdefault(field, []).append(_("This field is required."))
            return None
        if not low <= value <= high:
            errors.setdefault(field, []).append(
                _("Give a whole number from %(low)s to %(high)s.") % {"low": low, "high": high}
            )
            return None
        return value

    duration = number("duration_days", required=True, low=1)
    cleaned["duration_days"] = duration
    is_risk = trigger in RISK_TRIGGERS
    lookback = number("lookback_days", required=False, low=1)
    if is_risk and lookback is None and "lookback_days" not in errors:
        errors["lookback_days"] = [_("Risk-area rules need a look-back: how many days back a stay counts.")]
    if not is_risk and lookback is not None:
        errors["lookback_days"] = [_("A look-back applies only to risk-area triggers.")]
    cleaned["lookback_days"] = lookback
    anchor = str(values.get("anchor") or "")
    if anchor not in Anchor.values:
        errors.setdefault("anchor", []).append(_("Choose where day 1 falls."))
    cleaned["anchor"] = anchor
    cleaned["test_days"] = _check_days(
        values.get("test_days"),
        field="test_days",
        limit=duration,
        limit_field_label=_("measure"),
        errors=errors,
    )
    follow_measure = str(values.get("follow_on_measure") or "")
    follow_days = number("follow_on_days", required=False, low=1)
    if follow_measure and follow_measure not in real_measures:
        errors.setdefault("follow_on_measure", []).append(_("Choose a follow-on measure, or none."))
    if follow_measure and follow_days is None and "follow_on_days" not in errors:
        errors.setdefault("follow_on_days", []).append(_("Give the follow-on measure's duration."))
    if follow_days is not None and not follow_measure:
        errors.setdefault("follow_on_measure", []).append(_("Choose the follow-on measure, or clear its duration."))
    cleaned["follow_on_measure"] = follow_measure
    cleaned["follow_on_days"] = follow_days if follow_measure else None
    follow_tests = _check_days(
        values.get("follow_on_test_days"),
        field="follow_on_test_days",
        limit=follow_days,
        limit_field_label=_("follow-on measure"),
        errors=errors,
    )
    if follow_tests and not follow_measure and "follow_on_test_days" not in errors:
        errors.setdefault("follow_on_test_days", []).append(_("Follow-on test days need a follow-on measure."))
    cleaned["follow_on_test_days"] = follow_tests
    cleaned["stay_home_until_negative"] = _as_bool(values.get("stay_home_until_negative"))
    priority: int | None
    try:
        priority = _as_int(values.get("priority"))
    except ValueError:
        priority = None
        errors.setdefault("priority", []).append(_("Give a whole number."))
    if priority is not None and not -1000 <= priority <= 1000:
        errors.setdefault("priority", []).append(
            _("Give a whole number from %(low)s to %(high)s.") % {"low": -1000, "high": 1000}
        )
    cleaned["priority"] = priority or 0
    cleaned["note"] = str(values.get("note") or "").strip()
    if len(cleaned["note"]) > 300:
        errors.setdefault("note", []).append(_("The note is longer than 300 characters."))
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def rule_save(*, actor: User, edition: PolicyEdition, trigger: str, data: dict[str, Any]) -> MeasureRule:
    """Create or change the rule for ``trigger`` in ``edition``; ``data`` may hold only the fields to change."""
    require(actor, Perm.POLICY_EDIT)
    if trigger not in Trigger.values:
        raise ValidationError({"trigger": [_("Unknown trigger “%(trigger)s”.") % {"trigger": trigger}]})
    _unknown_fields(data, RULE_FIELDS)
    # Serialise rule writes per edition (create races, version bumps).
    edition = PolicyEdition.objects.select_for_update().get(pk=edition.pk)
    rule = MeasureRule.objects.filter(edition=edition, trigger=trigger).first()
    before = _rule_values(rule) if rule is not None else {}
    merged = {**before, **data} if rule is not None else {"priority": 0, **data}
    values = _clean_rule(trigger, merged)
    if rule is None:
        rule = MeasureRule.objects.create(edition=edition, trigger=trigger, **values)
        action = AuditAction.CREATE
    else:
        for name, value in values.items():
            setattr(rule, name, value)
        rule.save(update_fields=list(values))
        action = AuditAction.UPDATE
    changes = audit.diff(
        {f"{trigger}.{k}": v for k, v in before.items()}, {f"{trigger}.{k}": v for k, v in values.items()}
    )
    if changes:
        edition = _touch(edition)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            instance=edition,
            changes=changes,
            note=f"rule {trigger} {'created' if action == AuditAction.CREATE else 'changed'}",
        )
        if edition.status == EditionStatus.PUBLISHED:
            edition_changed(edition.pk, actor=actor)
    return rule


@transaction.atomic
def rule_delete(*, actor: User, edition: PolicyEdition, trigger: str) -> None:
    """Remove the rule for ``trigger``: the edition then requires nothing for it."""
    require(actor, Perm.POLICY_EDIT)
    edition = PolicyEdition.objects.select_for_update().get(pk=edition.pk)
    rule = MeasureRule.objects.filter(edition=edition, trigger=trigger).first()
    if rule is None:
        raise ValidationError({"trigger": [_("This edition has no rule for this trigger.")]})
    before = {f"{trigger}.{k}": v for k, v in _rule_values(rule).items()}
    rule.delete()
    edition = _touch(edition)
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=edition,
        changes=audit.diff(before, {}),
        note=f"rule {trigger} deleted",
    )
    if edition.status == EditionStatus.PUBLISHED:
        edition_changed(edition.pk, actor=actor)


@transaction.atomic
def edition_publish(*, actor: User, edition: PolicyEdition, expected_version: int) -> PolicyEdition:
    """Put a draft in force from its date; arrivals from that date on are re-evaluated by the listeners."""
    require(actor, Perm.POLICY_EDIT)
    if edition.status != EditionStatus.DRAFT:
        raise ValidationError({"status": [_("This edition is already published.")]})
    if not MeasureRule.objects.filter(edition=edition).exists():
        raise ValidationError({"rules": [_("An edition without rules cannot be published: add at least one rule.")]})
    if _published_clash(edition, edition.effective_from):
        raise _clash_error(edition.effective_from)
    before = audit.snapshot(edition)
    edition = versioned_update(edition, expected_version=expected_version, values={"status": EditionStatus.PUBLISHED})
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=edition,
        changes=audit.diff(before, audit.snapshot(edition)),
        note="published",
    )
    edition_changed(edition.pk, actor=actor)
    return edition
