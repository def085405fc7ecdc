"""Writes of door-to-door campaigns (全覆盖入户排查): the campaign itself and the visit of each household."""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from firstline.accounts.models import User
from firstline.accounts.roles import Perm
from firstline.core import audit
from firstline.core.concurrency import versioned_update
from firstline.core.models import AuditAction
from firstline.core.scoping import require, scope_of
from firstline.dispatch.models import TaskPriority
from firstline.dispatch.services import task_create
from firstline.regions.models import Division, Household
from firstline.screening.models import Campaign, HouseholdVisit, VisitOutcome

CAMPAIGN_FIELDS = ("name", "division", "date_from", "date_to", "note")
# A count typed on a phone: anything above this is a slip of the thumb, not a household.
MAX_COUNT = 99
# Someone with symptoms is seen (and sampled) the same day, not within the default 24 hours.
TASK_KIND_SYMPTOMS = "campaign_symptoms"
TASK_KIND_RETURNEES = "campaign_returnees"


def _clean_campaign(
    *, actor: User, name: str, division: Division | None, date_from: Any, date_to: Any, note: str
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors.setdefault("name", []).append(_("The name is required."))
    if division is None:
        errors.setdefault("division", []).append(_("Choose the division the campaign covers."))
    elif not scope_of(actor).covers_path(division.code):
        errors.setdefault("division", []).append(_("This division is outside your jurisdiction."))
    if not isinstance(date_from, datetime.date):
        errors.setdefault("date_from", []).append(_("The first day is required."))
    if not isinstance(date_to, datetime.date):
        errors.setdefault("date_to", []).append(_("The last day is required."))
    elif isinstance(date_from, datetime.date) and date_to < date_from:
        errors.setdefault("date_to", []).append(_("The last day cannot be before the first day."))
    if errors:
        raise ValidationError(errors)
    assert division is not None
    return {
        "name": name[:120],
        "division": division,
        "path": division.code,
        "date_from": date_from,
        "date_to": date_to,
        "note": (note or "").strip(),
    }


@transaction.atomic
def campaign_create(
    *,
    actor: User,
    name: str,
    division: Division,
    date_from: datetime.date,
    date_to: datetime.date,
    note: str = "",
) -> Campaign:
    """Start a campaign over a division in the actor's jurisdiction: every household there is to be visited."""
    require(actor, Perm.CAMPAIGN_MANAGE)
    values = _clean_campaign(actor=actor, name=name, division=division, date_from=date_from, date_to=date_to, note=note)
    campaign = Campaign.objects.create(**values, created_by=actor)
    audit.record(
        actor=actor, action=AuditAction.CREATE, instance=campaign, changes=audit.diff({}, audit.snapshot(campaign))
    )
    return campaign


@transaction.atomic
def campaign_update(*, actor: User, campaign: Campaign, expected_version: int, data: dict[str, Any]) -> Campaign:
    """Change a campaign's fields (a PATCH: ``data`` holds only what changes), refusing a stale version.

    Campaigns of a division above the actor's (a village sees its township's) are visible but not theirs to edit.
    The division stays once visits exist: moving it would orphan them.
    """
    require(actor, Perm.CAMPAIGN_MANAGE)
    if not scope_of(actor).covers_path(campaign.path):
        raise PermissionDenied(_("This campaign is run by a jurisdiction above yours; ask its organisers."))
    unknown = set(data) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in sorted(unknown)})
    merged: dict[str, Any] = {field: getattr(campaign, field) for field in CAMPAIGN_FIELDS}
    merged.update(data)
    values = _clean_campaign(actor=actor, **merged)
    if values["path"] != campaign.path and HouseholdVisit.objects.filter(campaign=campaign).exists():
        raise ValidationError({"division": [_("The division cannot change once visits are recorded.")]})
    changed = {key: value for key, value in values.items() if getattr(campaign, key) != value}
    if not changed:
        return campaign
    before = audit.snapshot(campaign)
    campaign = versioned_update(campaign, expected_version=expected_version, values=changed)
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=campaign,
        changes=audit.diff(before, audit.snapshot(campaign)),
    )
    return campaign


def campaign_refusal(campaign: Campaign, *, today: datetime.date | None = None) -> str:
    """Why visits cannot be recorded in this campaign today ("" while it runs)."""
    today = today or timezone.localdate()
    if today < campaign.date_from:
        return _("The campaign starts on %(date)s; visits can be recorded from then.") % {
            "date": campaign.date_from.isoformat()
        }
    if today > campaign.date_to:
        return _("The campaign ended on %(date)s; visits can no longer be recorded.") % {
            "date": campaign.date_to.isoformat()
        }
    return ""


def arrival_form_base() -> str | None:
    """The arrival form's address (it takes ``?household=<code>``), or None while that page does not exist."""
    try:
        return reverse("screening:arrival_create")
    except NoReverseMatch:
        return None


def arrival_form_url(household: Household) -> str:
    """Where the returnees of a household are registered: the arrival form for it, or the household's page.

    The arrival form belongs to another part of screening; until its URL exists the household page is the link.
    """
    base = arrival_form_base()
    if base is None:
        return reverse("regions:household", args=[household.pk])
    return f"{base}?{urlencode({'household': household.code})}"


def _clean_count(errors: dict[str, list[str]], field: str, value: Any) -> int:
    try:
        number = int(value or 0)
    except (TypeError, ValueError):
        errors.setdefault(field, []).append(_("Give a whole number."))
        return 0
    if number < 0 or number > MAX_COUNT:
        errors.setdefault(field, []).append(_("Give a number from 0 to %(max)d.") % {"max": MAX_COUNT})
    return number


def _clean_visit(
    *,
    actor: User,
    campaign: Campaign,
    household: Household,
    outcome: str,
    visited_at: datetime.datetime | None,
    counts: dict[str, Any],
) -> tuple[datetime.datetime, dict[str, int]]:
    if not household.path.startswith(campaign.path):
        raise ValidationError({"household": [_("This household is outside the campaign's division.")]})
    if not Household.objects.visible_to(actor).filter(pk=household.pk).exists():
        raise ValidationError({"household": [_("This household is outside your jurisdiction.")]})
    refusal = campaign_refusal(campaign)
    if refusal:
        raise ValidationError({"campaign": [refusal]})
    errors: dict[str, list[str]] = {}
    if outcome not in VisitOutcome.values:
        errors["outcome"] = [_("Choose visited, nobody home or refused.")]
    now = timezone.now()
    visited_at = visited_at or now
    if timezone.is_naive(visited_at):
        visited_at = timezone.make_aware(visited_at)
    if visited_at > now + datetime.timedelta(minutes=5):  # a phone clock a little ahead is no reason to refuse
        errors["visited_at"] = [_("The visit time cannot be in the future.")]
    elif not campaign.date_from <= timezone.localdate(visited_at) <= campaign.date_to:
        errors["visited_at"] = [
            _("The visit time must fall within the campaign (%(from)s – %(to)s).")
            % {"from": campaign.date_from.isoformat(), "to": campaign.date_to.isoformat()}
        ]
    cleaned = {field: _clean_count(errors, field, value) for field, value in counts.items()}
    if errors:
        raise ValidationError(errors)
    return visited_at, cleaned


def _follow_up_tasks(
    *, visit: HouseholdVisit, household: Household, campaign: Campaign, new_symptoms: bool, new_returnees: bool
) -> None:
    """Tasks for the household's grid, raised by the system (a volunteer may record visits but not add tasks)."""
    if new_symptoms:
        task_create(
            actor=None,
            title=_("Symptoms found on a door-to-door visit: %(address)s") % {"address": household.address},
            kind=TASK_KIND_SYMPTOMS,
            related=household,
            assignee_grid=household.grid,
            due_at=timezone.now() + datetime.timedelta(hours=settings.TASK_URGENT_DUE_HOURS),
            priority=TaskPriority.URGENT,
            notes=_("Campaign “%(campaign)s”: someone in this household has symptoms. Arrange a test today.")
            % {"campaign": campaign.name},
        )
    if new_returnees:
        task_create(
            actor=None,
            title=_("Register the returnees found at %(address)s (%(count)d)")
            % {"address": household.address, "count": visit.returnees_found},
            kind=TASK_KIND_RETURNEES,
            related=household,
            assignee_grid=household.grid,
            priority=TaskPriority.HIGH,
            notes=_("Campaign “%(campaign)s” found %(count)d returnee(s) here. Register them: %(url)s")
            % {"campaign": campaign.name, "count": visit.returnees_found, "url": arrival_form_url(household)},
        )


@transaction.atomic
def visit_record(
    *,
    actor: User,
    campaign: Campaign,
    household: Household,
    outcome: str,
    visited_at: datetime.datetime | None = None,
    members_present: int = 0,
    returnees_found: int = 0,
    symptoms: bool = False,
    unvaccinated: int = 0,
    note: str = "",
    expected_version: int | None = None,
) -> HouseholdVisit:
    """Record a visit of a household while the campaign runs; a revisit updates the one row (history keeps each).

    ``expected_version`` (optional) makes a revisit refuse if someone else recorded one meanwhile. Symptoms newly
    found raise an urgent task for the household's grid; more returnees than before raise a registration task.
    """
    require(actor, Perm.VISIT_RECORD)
    visited_at, counts = _clean_visit(
        actor=actor,
        campaign=campaign,
        household=household,
        outcome=outcome,
        visited_at=visited_at,
        counts={
            "members_present": members_present,
            "returnees_found": returnees_found,
            "unvaccinated": unvaccinated,
        },
    )
    values: dict[str, Any] = {
        "path": household.path,
        "outcome": outcome,
        "visited_at": visited_at,
        "visited_by": actor,
        "symptoms": bool(symptoms),
        "note": (note or "").strip(),
        **counts,
    }
    existing = HouseholdVisit.objects.select_for_update().filter(campaign=campaign, household=household).first()
    if existing is None:
        try:
            with transaction.atomic():
                visit = HouseholdVisit.objects.create(campaign=campaign, household=household, **values)
        except IntegrityError:  # a teammate recorded the same household a moment ago: this is the revisit
            existing = HouseholdVisit.objects.select_for_update().get(campaign=campaign, household=household)
        else:
            audit.record(
                actor=actor, action=AuditAction.CREATE, instance=visit, changes=audit.diff({}, audit.snapshot(visit))
            )
    had_symptoms, had_returnees = False, 0
    if existing is not None:
        had_symptoms, had_returnees = existing.symptoms, existing.returnees_found
        before = audit.snapshot(existing)
        version = existing.version if expected_version is None else expected_version
        visit = versioned_update(existing, expected_version=version, values=values)
        audit.record(
            actor=actor, action=AuditAction.UPDATE, instance=visit, changes=audit.diff(before, audit.snapshot(visit))
        )
    new_symptoms = visit.symptoms and not had_symptoms
    new_returnees = visit.returnees_found > had_returnees
    if new_symptoms or new_returnees:
        transaction.on_commit(
            lambda: _follow_up_tasks(
                visit=visit,
                household=household,
                campaign=campaign,
                new_symptoms=new_symptoms,
                new_returnees=new_returnees,
            )
        )
    return visit
