"""Forms of the registry, pledges, posts, rosters and service records (the services validate again)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from firstline.community.models import Commitment, PostKind, Volunteer, VolunteerKind
from firstline.community.roster.services import SKILL_CHOICES, SKILL_LABELS
from firstline.core.forms import bootstrap
from firstline.people.models import IdType

DATE = forms.DateInput(attrs={"type": "date"})
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
ACTIVE_CHOICES = [("", _("active and inactive")), ("1", _("active")), ("0", _("inactive"))]
# Free-text skills are separated by commas (either width), the enumeration comma or semicolons.
SKILL_SEPARATORS = re.compile(r"[,，、;；]+")


def _area_field(label: Any, *, required: bool) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label, required=required, choices=[], widget=forms.Select(attrs={"data-tom-select": "1"})
    )


def _set_areas(form: forms.Form, areas: list[tuple[str, str]], *, empty: Any = None) -> None:
    choices: list[tuple[str, Any]] = list(areas)
    if empty is not None:
        choices = [("", empty), *choices]
    form.fields["area"].choices = choices  # type: ignore[attr-defined]


def skill_from_filter(value: str) -> str:
    """A skill typed or picked in the filter: a known skill's label maps back to its code."""
    value = (value or "").strip()
    for code, label in SKILL_CHOICES:
        if value in (code, str(label)):
            return code
    return value


# -- the registry ---------------------------------------------------------------------------------------------


class VolunteerFilterForm(forms.Form):
    q = forms.CharField(label=_("Name"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("all kinds")), *VolunteerKind.choices])
    branch = forms.CharField(label=_("Party branch"), required=False, max_length=120)
    skill = forms.CharField(
        label=_("Skill"), required=False, max_length=40, widget=forms.TextInput(attrs={"list": "skill-options"})
    )
    area = _area_field(_("Serves in"), required=False)
    active = forms.ChoiceField(label=_("Active"), required=False, choices=ACTIVE_CHOICES, initial="1")

    def __init__(self, *args: Any, areas: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_areas(self, areas or [], empty=_("everywhere"))
        bootstrap(self)

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "query": data.get("q") or "",
            "kind": data.get("kind") or "",
            "branch": data.get("branch") or "",
            "skill": skill_from_filter(data.get("skill") or ""),
            "area": data.get("area") or "",
            # Unfiltered, the list shows what its initial choice says: the active ones.
            "active": data.get("active") if self.is_bound else self.fields["active"].initial,
        }


class VolunteerForm(forms.Form):
    """Register (with the person's ID number) or edit a member."""

    id_number = forms.CharField(
        label=_("ID number"), max_length=40, help_text=_("The person must be registered in your jurisdiction.")
    )
    id_type = forms.ChoiceField(label=_("ID type"), choices=IdType.choices, initial=IdType.RESIDENT)
    kind = forms.ChoiceField(label=_("Kind"), choices=VolunteerKind.choices, widget=forms.RadioSelect)
    party_branch = forms.CharField(label=_("Party branch"), max_length=120, required=False)
    skills = forms.MultipleChoiceField(
        label=_("Skills"), choices=SKILL_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    other_skills = forms.CharField(
        label=_("Other skills"), max_length=300, required=False, help_text=_("Separate several with commas.")
    )
    availability = forms.CharField(
        label=_("Availability"),
        max_length=200,
        required=False,
        help_text=_("e.g. weekday evenings, weekends, any time"),
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
        help_text=_("Empty: the person's registered phone."),
    )
    area = _area_field(_("Serves in"), required=True)
    account = forms.CharField(
        label=_("Account (username)"),
        max_length=150,
        required=False,
        help_text=_("Their login, if they have one: they check in on duty with it."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    joined_on = forms.DateField(label=_("Joined on"), required=False, widget=DATE)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self, *args: Any, areas: list[tuple[str, str]] | None = None, editing: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _set_areas(self, areas or [])
        if editing:
            del self.fields["id_number"]
            del self.fields["id_type"]
        bootstrap(self)

    @staticmethod
    def initial_for(volunteer: Volunteer) -> dict[str, Any]:
        known = [s for s in volunteer.skills if s in SKILL_LABELS]
        other = [s for s in volunteer.skills if s not in SKILL_LABELS]
        return {
            "kind": volunteer.kind,
            "party_branch": volunteer.party_branch,
            "skills": known,
            "other_skills": "，".join(other),
            "availability": volunteer.availability,
            "phone": volunteer.phone,
            "area": volunteer.path,
            "account": volunteer.user.username if volunteer.user else "",
            "active": volunteer.active,
            "joined_on": volunteer.joined_on,
            "version": volunteer.version,
        }

    def skill_list(self) -> list[str]:
        data = self.cleaned_data
        others = [s.strip() for s in SKILL_SEPARATORS.split(data.get("other_skills") or "") if s.strip()]
        return [*(data.get("skills") or []), *others]

    def volunteer_values(self) -> dict[str, Any]:
        """Everything but the account (resolved by the view) and the person."""
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "party_branch": data.get("party_branch") or "",
            "skills": self.skill_list(),
            "availability": data.get("availability") or "",
            "phone": data.get("phone") or "",
            "area": data["area"],
            "active": bool(data.get("active")),
            "joined_on": data.get("joined_on"),
        }


# -- pledges --------------------------------------------------------------------------------------------------


class PledgeSignForm(forms.Form):
    commitments = forms.ModelMultipleChoiceField(
        label=_("Commitments signed"),
        queryset=Commitment.objects.filter(active=True).order_by("number"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one commitment.")},
    )
    signed_on = forms.DateField(label=_("Signed on"), widget=DATE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"signed_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        bootstrap(self)


class CommitmentForm(forms.Form):
    title = forms.CharField(label=_("Short title"), max_length=60)
    text = forms.CharField(label=_("Pledge text"), widget=forms.Textarea(attrs={"rows": 3}))
    active = forms.BooleanField(label=_("In use"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


class PledgeFilterForm(forms.Form):
    commitment = forms.ModelChoiceField(
        label=_("Commitment"),
        queryset=Commitment.objects.order_by("number"),
        required=False,
        empty_label=_("all commitments"),
    )
    area = _area_field(_("Serves in"), required=False)
    date_from = forms.DateField(label=_("Signed from"), required=False, widget=DATE)
    date_to = forms.DateField(label=_("Signed until"), required=False, widget=DATE)

    def __init__(self, *args: Any, areas: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_areas(self, areas or [], empty=_("everywhere"))
        bootstrap(self)

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "commitment": data.get("commitment"),
            "area": data.get("area") or "",
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }


# -- service --------------------------------------------------------------------------------------------------


class ServiceEntryForm(forms.Form):
    day = forms.DateField(label=_("Day"), widget=DATE)
    hours = forms.DecimalField(
        label=_("Hours"), min_value=0.1, max_value=24, decimal_places=1, widget=forms.NumberInput(attrs={"step": "0.5"})
    )
    commitment = forms.ModelChoiceField(
        label=_("Under the commitment"),
        queryset=Commitment.objects.filter(active=True).order_by("number"),
        required=False,
        empty_label=_("(none)"),
    )
    description = forms.CharField(label=_("What was done"), max_length=300)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"day": timezone.localdate()})
        super().__init__(*args, **kwargs)
        bootstrap(self)


class ServiceFilterForm(forms.Form):
    area = _area_field(_("Serves in"), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=DATE)
    date_to = forms.DateField(label=_("To"), required=False, widget=DATE)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("all kinds")), *VolunteerKind.choices])

    def __init__(self, *args: Any, areas: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_areas(self, areas or [], empty=_("everywhere"))
        bootstrap(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("The end cannot be before the start."))
        return data

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "area": data.get("area") or "",
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
            "kind": data.get("kind") or "",
        }


# -- posts and shifts -----------------------------------------------------------------------------------------


class PostFilterForm(forms.Form):
    q = forms.CharField(label=_("Name or place"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("all kinds")), *PostKind.choices])
    area = _area_field(_("Division or grid"), required=False)
    active = forms.ChoiceField(label=_("Active"), required=False, choices=ACTIVE_CHOICES, initial="1")

    def __init__(self, *args: Any, areas: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_areas(self, areas or [], empty=_("everywhere"))
        bootstrap(self)

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "query": data.get("q") or "",
            "kind": data.get("kind") or "",
            "area": data.get("area") or "",
            # Unfiltered, the list shows what its initial choice says: the active ones.
            "active": data.get("active") if self.is_bound else self.fields["active"].initial,
        }


class PostForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=PostKind.choices)
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    area = _area_field(_("Division or grid"), required=True)
    opens_at = forms.TimeField(label=_("Covered from"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    closes_at = forms.TimeField(
        label=_("Covered until"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("Earlier than the start: past midnight. The same as the start: round the clock."),
    )
    min_staff = forms.IntegerField(label=_("People needed at once"), min_value=1, max_value=99, initial=1)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, areas: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_areas(self, areas or [])
        bootstrap(self)

    @staticmethod
    def initial_for(post: Any) -> dict[str, Any]:
        return {
            "name": post.name,
            "kind": post.kind,
            "place": post.place,
            "area": post.path,
            "opens_at": post.opens_at,
            "closes_at": post.closes_at,
            "min_staff": post.min_staff,
            "active": post.active,
            "version": post.version,
        }

    def post_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {key: data[key] for key in ("name", "kind", "place", "area", "opens_at", "closes_at", "min_staff")} | {
            "active": bool(data.get("active"))
        }


class ShiftForm(forms.Form):
    volunteer = forms.ModelChoiceField(
        label=_("Member"), queryset=Volunteer.objects.none(), widget=forms.Select(attrs={"data-tom-select": "1"})
    )
    start = forms.DateTimeField(
        label=_("Start"),
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )
    end = forms.DateTimeField(
        label=_("End"),
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, volunteers: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if volunteers is not None:
            field = self.fields["volunteer"]
            field.queryset = volunteers  # type: ignore[attr-defined]
            field.label_from_instance = lambda v: f"{v.person.name} · {v.get_kind_display()}"  # type: ignore[attr-defined]
        bootstrap(self)
