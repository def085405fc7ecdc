"""Writes of the party-member and volunteer work (八个带头): the registry, pledges, posts, the duty roster, being on
duty, and service entries. Every function is keyword-only, atomic and audited.

A person is never in two places at once: ``shift_create`` locks the member's row (``SELECT … FOR UPDATE``) before
looking for an overlapping shift, so two organisers adding shifts for the same member at the same moment are
serialised and the second sees the first's shift.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from firstline.accounts.models import User
from firstline.accounts.roles import Perm
from firstline.community.models import (
    Commitment,
    PledgeSignature,
    Post,
    PostKind,
    ServiceEntry,
    Shift,
    ShiftStatus,
    Volunteer,
    VolunteerKind,
)
from firstline.community.roster import coverage, selectors
from firstline.core import audit, identity
from firstline.core.concurrency import versioned_update
from firstline.core.dates import local_minute
from firstline.core.models import AuditAction
from firstline.core.scoping import require, scope_of
from firstline.people.models import Person

# The skills organisers most often look for; members may add their own in free text.
SKILL_CHOICES: list[tuple[str, Any]] = [
    ("medical", gettext_lazy("medical / nursing")),
    ("driving", gettext_lazy("driving")),
    ("tibetan", gettext_lazy("Tibetan–Chinese interpreting")),
    ("publicity", gettext_lazy("publicity and explaining policy")),
    ("data_entry", gettext_lazy("data entry / computers")),
    ("counselling", gettext_lazy("psychological counselling")),
    ("security", gettext_lazy("order keeping / security")),
    ("logistics", gettext_lazy("supplies and logistics")),
    ("sampling", gettext_lazy("sampling assistance")),
    ("elder_care", gettext_lazy("caring for the elderly")),
]
SKILL_LABELS = dict(SKILL_CHOICES)
MAX_SKILLS = 20
MAX_SKILL_LENGTH = 40

VOLUNTEER_FIELDS = ("kind", "party_branch", "skills", "availability", "phone", "area", "account", "active", "joined_on")
POST_FIELDS = ("name", "kind", "place", "area", "opens_at", "closes_at", "min_staff", "active")
MAX_MIN_STAFF = 99


def checkin_early() -> datetime.timedelta:
    """How long before a shift starts the member may check in (setting SHIFT_CHECKIN_EARLY_MINUTES)."""
    return datetime.timedelta(minutes=settings.SHIFT_CHECKIN_EARLY_MINUTES)


def shift_label(shift: Shift) -> str:
    """“<post>, <start>–<end>”: how a conflicting shift is named in a refusal."""
    end = timezone.localtime(shift.end)
    same_day = timezone.localtime(shift.start).date() == end.date()
    return _("%(post)s, %(start)s–%(end)s") % {
        "post": shift.post.name,
        "start": local_minute(shift.start),
        "end": end.strftime("%H:%M") if same_day else local_minute(shift.end),
    }


# -- the registry ---------------------------------------------------------------------------------------------


def clean_skills(values: Iterable[str]) -> list[str]:
    """Known skill codes and free-text skills, NFKC-normalised, stripped and de-duplicated, in the given order."""
    result: list[str] = []
    for raw in values:
        text = unicodedata.normalize("NFKC", str(raw or "")).strip()
        if not text:
            continue
        if len(text) > MAX_SKILL_LENGTH:
            raise ValidationError(
                {
                    "skills": [
                        _("A skill is at most %(n)d characters: %(skill)s") % {"n": MAX_SKILL_LENGTH, "skill": text}
                    ]
                }
            )
        if text not in result:
            result.append(text)
    if len(result) > MAX_SKILLS:
        raise ValidationError({"skills": [_("At most %(n)d skills.") % {"n": MAX_SKILLS}]})
    return result


def skill_label(skill: str) -> str:
    return str(SKILL_LABELS.get(skill, skill))


def _clean_volunteer(actor: User, values: dict[str, Any]) -> dict[str, Any]:
    """Validate the editable fields (``area`` a division or grid code; ``account`` a User or None)."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "kind" in values:
        if values["kind"] not in VolunteerKind.values:
            errors["kind"] = [_("Choose party member or volunteer.")]
        cleaned["kind"] = values["kind"]
    for name, limit in (("party_branch", 120), ("availability", 200)):
        if name in values:
            text = (values[name] or "").strip()
            if len(text) > limit:
                errors[name] = [_("At most %(n)d characters.") % {"n": limit}]
            cleaned[name] = text
    if values.get("kind") == VolunteerKind.PARTY_MEMBER and "party_branch" in cleaned and not cleaned["party_branch"]:
        errors.setdefault("party_branch", []).append(_("A party member's branch is required."))
    if "skills" in values:
        try:
            cleaned["skills"] = clean_skills(values["skills"] or [])
        except ValidationError as error:
            errors.update(error.message_dict)
    if "phone" in values:
        try:
            cleaned["phone"] = identity.normalize_phone(values["phone"] or "")
        except identity.IdentityError as exc:
            errors["phone"] = [str(exc.message)]
    if "area" in values:
        try:
            _division, cleaned["path"] = selectors.resolve_area(actor, values["area"])
        except ValidationError as error:
            errors.update(error.message_dict)
    if "account" in values:
        cleaned["user"] = values["account"]
    if "active" in values:
        cleaned["active"] = bool(values["active"])
    if "joined_on" in values:
        joined = values["joined_on"]
        if joined is not None and not isinstance(joined, datetime.date):
            errors["joined_on"] = [_("Enter a date.")]
        elif joined is not None and joined > timezone.localdate():
            errors["joined_on"] = [_("The date cannot be in the future.")]
        cleaned["joined_on"] = joined
    if errors:
        raise ValidationError(errors)
    return cleaned


def _account_taken(account: User | None, volunteer: Volunteer | None = None) -> None:
    if account is None:
        return
    taken = Volunteer.objects.filter(user=account)
    if volunteer is not None:
        taken = taken.exclude(pk=volunteer.pk)
    if taken.exists():
        raise ValidationError({"account": [_("This account is already linked to another member.")]})


@transaction.atomic
def volunteer_create(
    *,
    actor: User,
    person: Person,
    kind: str,
    area: str,
    party_branch: str = "",
    skills: Sequence[str] = (),
    availability: str = "",
    phone: str = "",
    account: User | None = None,
    active: bool = True,
    joined_on: datetime.date | None = None,
) -> Volunteer:
    """Register a person the actor sees as a party member or volunteer serving in ``area`` (division/grid code)."""
    require(actor, Perm.VOLUNTEER_MANAGE)
    if not Person.objects.visible_to(actor).filter(pk=person.pk).exists():
        raise ValidationError({"person": [_("This person is outside your jurisdiction.")]})
    values = _clean_volunteer(
        actor,
        {
            "kind": kind,
            "party_branch": party_branch,
            "skills": list(skills),
            "availability": availability,
            "phone": phone or person.phone,
            "area": area,
            "account": account,
            "active": active,
            "joined_on": joined_on,
        },
    )
    if Volunteer.objects.filter(person=person).exists():
        raise ValidationError({"person": [_("%(name)s is already registered as a member.") % {"name": person.name}]})
    _account_taken(account)
    try:
        with transaction.atomic():
            volunteer = Volunteer.objects.create(person=person, **values)
    except IntegrityError as exc:  # a concurrent registration of the same person or account
        raise ValidationError({"person": [_("This person or account was registered meanwhile.")]}) from exc
    audit.record(
        actor=actor, action=AuditAction.CREATE, instance=volunteer, changes=audit.diff({}, audit.snapshot(volunteer))
    )
    return volunteer


@transaction.atomic
def volunteer_update(*, actor: User, volunteer: Volunteer, expected_version: int, data: dict[str, Any]) -> Volunteer:
    """Change a member's fields (a PATCH: ``data`` holds only what changes), refusing a stale version."""
    require(actor, Perm.VOLUNTEER_MANAGE)
    if not scope_of(actor).covers_path(volunteer.path):
        raise PermissionDenied(_("This member serves outside your jurisdiction."))
    unknown = set(data) - set(VOLUNTEER_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in sorted(unknown)})
    merged = dict(data)
    if "kind" in data or "party_branch" in data:
        # The branch rule looks at both, whichever of them changes.
        merged = {"kind": volunteer.kind, "party_branch": volunteer.party_branch, **data}
    cleaned = _clean_volunteer(actor, merged)
    if "account" in data:
        _account_taken(data["account"], volunteer)
    changed = {key: value for key, value in cleaned.items() if getattr(volunteer, key) != value}
    if not changed:
        return volunteer
    before = audit.snapshot(volunteer)
    try:
        with transaction.atomic():
            volunteer = versioned_update(volunteer, expected_version=expected_version, values=changed)
    except IntegrityError as exc:
        raise ValidationError({"account": [_("This account is already linked to another member.")]}) from exc
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=volunteer,
        changes=audit.diff(before, audit.snapshot(volunteer)),
    )
    return volunteer


# -- pledges --------------------------------------------------------------------------------------------------


def can_edit_commitments(user: Any) -> bool:
    """The commitments' wording is the city's: organisers with a city-wide view, or data administrators."""
    scope = scope_of(user)
    return scope.has(Perm.VOLUNTEER_MANAGE) and (scope.has(Perm.CITY_SUMMARY) or scope.has(Perm.DIVISION_MANAGE))


@transaction.atomic
def commitment_update(*, actor: User, commitment: Commitment, title: str, text: str, active: bool) -> Commitment:
    """Reword a commitment (it is data); signatures keep pointing at it."""
    if not can_edit_commitments(actor):
        raise PermissionDenied(_("Only the city's organisers or data administrators change the commitments."))
    title, text = (title or "").strip(), (text or "").strip()
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = [_("The short title is required.")]
    elif len(title) > 60:
        errors["title"] = [_("At most %(n)d characters.") % {"n": 60}]
    if not text:
        errors["text"] = [_("The pledge text is required.")]
    if errors:
        raise ValidationError(errors)
    commitment = Commitment.objects.select_for_update().get(pk=commitment.pk)
    before = audit.snapshot(commitment)
    Commitment.objects.filter(pk=commitment.pk).update(title=title, text=text, active=bool(active))
    commitment.refresh_from_db()
    changes = audit.diff(before, audit.snapshot(commitment))
    if changes:
        audit.record(actor=actor, action=AuditAction.UPDATE, instance=commitment, changes=changes)
    return commitment


def _require_member_in_scope(actor: User, volunteer: Volunteer) -> None:
    require(actor, Perm.VOLUNTEER_MANAGE)
    if not Volunteer.objects.visible_to(actor).filter(pk=volunteer.pk).exists():
        raise PermissionDenied(_("This member is outside your jurisdiction."))


@transaction.atomic
def pledge_sign(
    *, actor: User, volunteer: Volunteer, commitments: Sequence[Commitment], signed_on: datetime.date
) -> list[PledgeSignature]:
    """Record the member's signature of these commitments on ``signed_on``; ones already signed are skipped.

    Refused when none is left to sign (each commitment is signed once per member).
    """
    _require_member_in_scope(actor, volunteer)
    if not isinstance(signed_on, datetime.date):
        raise ValidationError({"signed_on": [_("Enter the date of signing.")]})
    if signed_on > timezone.localdate():
        raise ValidationError({"signed_on": [_("The date cannot be in the future.")]})
    if not commitments:
        raise ValidationError({"commitments": [_("Choose at least one commitment.")]})
    inactive = [c for c in commitments if not c.active]
    if inactive:
        raise ValidationError({"commitments": [_("No longer in use: %(title)s") % {"title": inactive[0].title}]})
    Volunteer.objects.select_for_update().filter(pk=volunteer.pk).first()  # serialise signers of one member
    signed = dict(
        PledgeSignature.objects.filter(volunteer=volunteer, commitment__in=commitments).values_list(
            "commitment_id", "signed_on"
        )
    )
    fresh = [c for c in commitments if c.pk not in signed]
    if not fresh:
        first = commitments[0]
        raise ValidationError(
            {
                "commitments": [
                    _("Already signed: %(title)s (on %(day)s).")
                    % {"title": first.title, "day": signed[first.pk].isoformat()}
                ]
            }
        )
    PledgeSignature.objects.bulk_create(
        [PledgeSignature(volunteer=volunteer, commitment=c, signed_on=signed_on, recorded_by=actor) for c in fresh]
    )
    created = list(
        PledgeSignature.objects.filter(volunteer=volunteer, commitment__in=fresh).select_related("commitment")
    )
    for signature in created:
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            instance=signature,
            path=volunteer.path,
            changes=audit.diff({}, audit.snapshot(signature)),
        )
    return created


@transaction.atomic
def pledge_withdraw(*, actor: User, signature: PledgeSignature) -> None:
    """Remove a signature recorded by mistake (audited with what it said)."""
    _require_member_in_scope(actor, signature.volunteer)
    audit.record(
        actor=actor,
        action=AuditAction.DELETE,
        instance=signature,
        path=signature.volunteer.path,
        changes=audit.diff(audit.snapshot(signature), {}),
    )
    signature.delete()


# -- posts ----------------------------------------------------------------------------------------------------


def _clean_post(actor: User, values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    name = (values.get("name") or "").strip()
    if not name:
        errors["name"] = [_("The name is required.")]
    elif len(name) > 120:
        errors["name"] = [_("At most %(n)d characters.") % {"n": 120}]
    cleaned["name"] = name
    if values.get("kind") not in PostKind.values:
        errors["kind"] = [_("Choose the kind of post.")]
    cleaned["kind"] = values.get("kind")
    place = (values.get("place") or "").strip()
    if len(place) > 200:
        errors["place"] = [_("At most %(n)d characters.") % {"n": 200}]
    cleaned["place"] = place
    try:
        cleaned["division"], cleaned["path"] = selectors.resolve_area(actor, values.get("area") or "")
    except ValidationError as error:
        errors.update(error.message_dict)
    for name_ in ("opens_at", "closes_at"):
        if not isinstance(values.get(name_), datetime.time):
            errors[name_] = [_("Enter a time of day.")]
        cleaned[name_] = values.get(name_)
    min_staff = values.get("min_staff")
    if not isinstance(min_staff, int) or isinstance(min_staff, bool) or not 1 <= min_staff <= MAX_MIN_STAFF:
        errors["min_staff"] = [_("Between 1 and %(n)d people.") % {"n": MAX_MIN_STAFF}]
    cleaned["min_staff"] = min_staff
    cleaned["active"] = bool(values.get("active", True))
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def post_create(
    *,
    actor: User,
    name: str,
    kind: str,
    area: str,
    opens_at: datetime.time,
    closes_at: datetime.time,
    min_staff: int = 1,
    place: str = "",
    active: bool = True,
) -> Post:
    """A post (checkpoint, venue door …) in a division or grid of the actor's, with the daily hours to cover.

    Closing earlier than opening means past midnight; the same time means round the clock.
    """
    require(actor, Perm.VOLUNTEER_MANAGE)
    values = _clean_post(
        actor,
        {
            "name": name,
            "kind": kind,
            "area": area,
            "place": place,
            "opens_at": opens_at,
            "closes_at": closes_at,
            "min_staff": min_staff,
            "active": active,
        },
    )
    post = Post.objects.create(**values)
    audit.record(actor=actor, action=AuditAction.CREATE, instance=post, changes=audit.diff({}, audit.snapshot(post)))
    return post


@transaction.atomic
def post_update(*, actor: User, post: Post, expected_version: int, data: dict[str, Any]) -> Post:
    """Change a post (a PATCH), refusing a stale version. Its shifts move with it to a new area."""
    require(actor, Perm.VOLUNTEER_MANAGE)
    if not scope_of(actor).covers_path(post.path):
        raise PermissionDenied(_("This post is run outside your jurisdiction."))
    unknown = set(data) - set(POST_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in sorted(unknown)})
    merged = {
        "name": post.name,
        "kind": post.kind,
        "place": post.place,
        "area": post.path,
        "opens_at": post.opens_at,
        "closes_at": post.closes_at,
        "min_staff": post.min_staff,
        "active": post.active,
        **data,
    }
    values = _clean_post(actor, merged)
    changed = {key: value for key, value in values.items() if getattr(post, key) != value}
    if not changed:
        return post
    before = audit.snapshot(post)
    post = versioned_update(post, expected_version=expected_version, values=changed)
    if "path" in changed:
        Shift.objects.filter(post=post).update(path=post.path)
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=post, changes=audit.diff(before, audit.snapshot(post))
    )
    return post


# -- shifts ---------------------------------------------------------------------------------------------------


def _require_post_in_scope(actor: User, post: Post) -> None:
    require(actor, Perm.VOLUNTEER_MANAGE)
    if not scope_of(actor).covers_path(post.path):
        raise PermissionDenied(_("This post is run outside your jurisdiction."))


def conflicting_shift(
    volunteer: Volunteer, start: datetime.datetime, end: datetime.datetime, *, exclude: int | None = None
) -> Shift | None:
    """The member's first non-cancelled shift overlapping [start, end) anywhere (touching is no overlap)."""
    shifts = (
        Shift.objects.filter(volunteer=volunteer, start__lt=end, end__gt=start)
        .exclude(status=ShiftStatus.CANCELLED)
        .select_related("post")
        .order_by("start", "id")
    )
    if exclude is not None:
        shifts = shifts.exclude(pk=exclude)
    return shifts.first()


def _check_span(start: Any, end: Any) -> None:
    errors: dict[str, list[str]] = {}
    if not isinstance(start, datetime.datetime):
        errors["start"] = [_("Enter the start date and time.")]
    if not isinstance(end, datetime.datetime):
        errors["end"] = [_("Enter the end date and time.")]
    if errors:
        raise ValidationError(errors)
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValidationError({"start": [_("Give times with a time zone.")]})
    if end <= start:
        raise ValidationError({"end": [_("The shift must end after it starts.")]})
    if end - start > datetime.timedelta(hours=24):
        raise ValidationError({"end": [_("A shift lasts at most 24 hours.")]})


def _conflict_error(volunteer: Volunteer, other: Shift) -> ValidationError:
    return ValidationError(
        {
            "volunteer": [
                _("%(name)s is already on shift then: %(shift)s.")
                % {"name": volunteer.person.name, "shift": shift_label(other)}
            ]
        },
        code="shift_conflict",
    )


def _insert_shift(
    *,
    actor: User | None,
    post: Post,
    volunteer: Volunteer,
    start: datetime.datetime,
    end: datetime.datetime,
    note: str,
) -> Shift:
    """Lock the member, refuse an overlap, insert (the caller has checked permissions and the span)."""
    Volunteer.objects.select_for_update().filter(pk=volunteer.pk).first()
    other = conflicting_shift(volunteer, start, end)
    if other is not None:
        raise _conflict_error(volunteer, other)
    shift = Shift.objects.create(
        post=post, volunteer=volunteer, path=post.path, start=start, end=end, note=note[:200], created_by=actor
    )
    audit.record(actor=actor, action=AuditAction.CREATE, instance=shift, changes=audit.diff({}, audit.snapshot(shift)))
    return shift


@transaction.atomic
def shift_create(
    *,
    actor: User,
    post: Post,
    volunteer: Volunteer,
    start: datetime.datetime,
    end: datetime.datetime,
    note: str = "",
) -> Shift:
    """Put a member on a post from ``start`` to ``end``; refused (naming the other shift) if they are elsewhere."""
    _require_post_in_scope(actor, post)
    if not Volunteer.objects.visible_to(actor).filter(pk=volunteer.pk).exists():
        raise ValidationError({"volunteer": [_("This member is outside your jurisdiction.")]})
    if not volunteer.active:
        raise ValidationError({"volunteer": [_("%(name)s is not active.") % {"name": volunteer.person.name}]})
    if not post.active:
        raise ValidationError({"post": [_("This post is closed.")]})
    _check_span(start, end)
    return _insert_shift(actor=actor, post=post, volunteer=volunteer, start=start, end=end, note=note or "")


@transaction.atomic
def shift_cancel(*, actor: User, shift: Shift, reason: str = "") -> Shift:
    """Take a planned shift off the roster (it stays, struck through, in the history)."""
    _require_post_in_scope(actor, shift.post)
    current = Shift.objects.select_for_update().get(pk=shift.pk)
    if current.status != ShiftStatus.PLANNED:
        raise ValidationError(
            {
                "status": [
                    _("Only a planned shift can be cancelled; this one is %(status)s.")
                    % {"status": current.get_status_display()}
                ]
            }
        )
    before = audit.snapshot(current)
    note = f"{current.note} · {reason.strip()}".strip(" ·")[:200] if reason.strip() else current.note
    current = versioned_update(
        current, expected_version=current.version, values={"status": ShiftStatus.CANCELLED, "note": note}
    )
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=current, changes=audit.diff(before, audit.snapshot(current))
    )
    return current


def _own_shift(actor: User, shift: Shift) -> Shift:
    if shift.volunteer.user_id != actor.pk:
        raise PermissionDenied(_("Only the member on this shift checks in and out."))
    return Shift.objects.select_for_update().select_related("post").get(pk=shift.pk)


@transaction.atomic
def shift_check_in(*, actor: User, shift: Shift, now: datetime.datetime | None = None) -> Shift:
    """The member arrives on duty: allowed from SHIFT_CHECKIN_EARLY_MINUTES before the start until the end."""
    now = now or timezone.now()
    current = _own_shift(actor, shift)
    if current.status != ShiftStatus.PLANNED:
        raise ValidationError(
            {"status": [_("This shift is %(status)s: no check-in.") % {"status": current.get_status_display()}]}
        )
    opens = current.start - checkin_early()
    if now < opens:
        raise ValidationError({"status": [_("Check-in opens at %(time)s.") % {"time": local_minute(opens)}]})
    if now >= current.end:
        raise ValidationError({"status": [_("This shift ended at %(time)s.") % {"time": local_minute(current.end)}]})
    before = audit.snapshot(current)
    current = versioned_update(
        current, expected_version=current.version, values={"status": ShiftStatus.ON_DUTY, "checked_in_at": now}
    )
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=current, changes=audit.diff(before, audit.snapshot(current))
    )
    return current


@transaction.atomic
def shift_check_out(*, actor: User, shift: Shift, now: datetime.datetime | None = None) -> Shift:
    """The member leaves duty (after checking in): the shift is done and its hours count."""
    now = now or timezone.now()
    current = _own_shift(actor, shift)
    if current.status != ShiftStatus.ON_DUTY or current.checked_in_at is None:
        raise ValidationError(
            {"status": [_("Check in first: this shift is %(status)s.") % {"status": current.get_status_display()}]}
        )
    if now < current.checked_in_at:
        raise ValidationError({"status": [_("Check-out cannot be before check-in.")]})
    before = audit.snapshot(current)
    current = versioned_update(
        current, expected_version=current.version, values={"status": ShiftStatus.DONE, "checked_out_at": now}
    )
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=current, changes=audit.diff(before, audit.snapshot(current))
    )
    return current


def mark_missed(now: datetime.datetime | None = None) -> int:
    """Planned shifts that ended without a check-in become missed (run by beat). Returns how many."""
    now = now or timezone.now()
    marked = 0
    while True:
        with transaction.atomic():
            batch = list(
                Shift.objects.select_for_update(skip_locked=True)
                .filter(status=ShiftStatus.PLANNED, end__lte=now)
                .order_by("id")[:500]
            )
            if not batch:
                return marked
            Shift.objects.filter(pk__in=[s.pk for s in batch], status=ShiftStatus.PLANNED).update(
                status=ShiftStatus.MISSED, version=F("version") + 1, updated_at=timezone.now()
            )
            for shift in batch:
                shift.version += 1
            audit.record_many(
                actor=None,
                action=AuditAction.UPDATE,
                instances=batch,
                note="missed: no check-in before the end",
                changes=lambda _s: {"status": [ShiftStatus.PLANNED.value, ShiftStatus.MISSED.value]},
            )
            marked += len(batch)


@dataclass
class CopyReport:
    copied: list[Shift] = field(default_factory=list)
    skipped: list[tuple[Shift, str]] = field(default_factory=list)  # (last week's shift, why it was not copied)


@transaction.atomic
def roster_copy_week(*, actor: User, post: Post, week: datetime.date) -> CopyReport:
    """Copy the post's shifts of the week before ``week`` into it (one week later each).

    Cancelled shifts are not copied; a copy that would clash with the member's other shifts (or one already
    copied) is skipped and reported, as is a member no longer active.
    """
    _require_post_in_scope(actor, post)
    if not post.active:
        raise ValidationError({"post": [_("This post is closed.")]})
    monday = coverage.week_start(week)
    previous = selectors.week_shifts(post, monday - coverage.DAY * 7)
    report = CopyReport()
    for shift in previous:
        if shift.status == ShiftStatus.CANCELLED:
            continue
        start, end = shift.start + coverage.DAY * 7, shift.end + coverage.DAY * 7
        volunteer = shift.volunteer
        if not volunteer.active:
            report.skipped.append((shift, _("%(name)s is not active.") % {"name": volunteer.person.name}))
            continue
        try:
            with transaction.atomic():
                report.copied.append(
                    _insert_shift(actor=actor, post=post, volunteer=volunteer, start=start, end=end, note=shift.note)
                )
        except ValidationError as error:
            report.skipped.append((shift, " ".join(error.messages)))
    return report


# -- service entries ------------------------------------------------------------------------------------------


@transaction.atomic
def service_entry_add(
    *,
    actor: User,
    volunteer: Volunteer,
    day: datetime.date,
    hours: Decimal | float | str,
    description: str,
    commitment: Commitment | None = None,
) -> ServiceEntry:
    """Service outside a rostered shift (a delivery run, an evening of phone calls), under a commitment."""
    _require_member_in_scope(actor, volunteer)
    errors: dict[str, list[str]] = {}
    if not isinstance(day, datetime.date):
        errors["day"] = [_("Enter the day.")]
    elif day > timezone.localdate():
        errors["day"] = [_("The day cannot be in the future.")]
    try:
        amount = Decimal(str(hours)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        amount = Decimal("0")
    if not Decimal("0") < amount <= Decimal("24"):
        errors["hours"] = [_("Between 0.1 and 24 hours.")]
    text = (description or "").strip()
    if not text:
        errors["description"] = [_("Say what was done.")]
    elif len(text) > 300:
        errors["description"] = [_("At most %(n)d characters.") % {"n": 300}]
    if commitment is not None and not commitment.active:
        errors["commitment"] = [_("This commitment is no longer in use.")]
    if errors:
        raise ValidationError(errors)
    entry = ServiceEntry.objects.create(
        volunteer=volunteer,
        path=volunteer.path,
        day=day,
        hours=amount,
        commitment=commitment,
        description=text,
        recorded_by=actor,
    )
    audit.record(actor=actor, action=AuditAction.CREATE, instance=entry, changes=audit.diff({}, audit.snapshot(entry)))
    return entry
