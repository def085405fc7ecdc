"""Forms of health monitoring: the today list's filters and row entry, the self-report page, list filters."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from firstline.accounts.models import Department
from firstline.quarantine.models import CheckSource, Facility, Floor, PlacementKind, Symptom
from firstline.quarantine.monitoring.selectors import teams_for_filter
from firstline.regions.models import Grid

_SMALL = {"class": "form-select form-select-sm"}
_INPUT = {"class": "form-control form-control-sm"}


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """A service's field errors on the form's fields (others as form errors)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, messages in error.message_dict.items():
        form.add_error(name if name in form.fields else None, messages)


class TodayFilterForm(forms.Form):
    """Whose list: a grid, a site (and floor), a sampling team; the day (today, or a past day to catch up)."""

    day = forms.DateField(label=_("Day"), required=False, widget=forms.DateInput(attrs={**_INPUT, "type": "date"}))
    grid = forms.ModelChoiceField(
        label=_("Grid"), queryset=Grid.objects.none(), to_field_name="code", required=False, widget=forms.Select(_SMALL)
    )
    facility = forms.ModelChoiceField(
        label=_("Site"), queryset=Facility.objects.none(), required=False, widget=forms.Select(_SMALL)
    )
    floor = forms.ModelChoiceField(
        label=_("Floor"), queryset=Floor.objects.none(), required=False, widget=forms.Select(_SMALL)
    )
    department = forms.ModelChoiceField(
        label=_("Sampling team"), queryset=Department.objects.none(), required=False, widget=forms.Select(_SMALL)
    )

    def __init__(self, data: Any, *, user: Any) -> None:
        super().__init__(data)
        grids = Grid.objects.visible_to(user).order_by("code")
        self.fields["grid"].queryset = grids  # type: ignore[attr-defined]
        facilities = Facility.objects.visible_to(user).filter(active=True).order_by("code")
        self.fields["facility"].queryset = facilities  # type: ignore[attr-defined]
        self.fields["floor"].queryset = (  # type: ignore[attr-defined]
            Floor.objects.filter(facility__in=facilities.values("pk"))
            .select_related("facility")
            .order_by("facility__code", "position", "label")
        )
        self.fields["floor"].label_from_instance = lambda floor: f"{floor.facility.code} {floor.label}"  # type: ignore[attr-defined]
        self.fields["department"].queryset = teams_for_filter(user).order_by("code")  # type: ignore[attr-defined]
        for name in ("grid", "facility", "floor", "department"):
            self.fields[name].widget.attrs["data-tom-select"] = ""

    def clean_day(self) -> datetime.date | None:
        day: datetime.date | None = self.cleaned_data.get("day")
        if day is not None and day > timezone.localdate():
            raise ValidationError(_("Today's list cannot be opened for a day still to come."))
        return day

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        floor, facility = cleaned.get("floor"), cleaned.get("facility")
        if floor is not None and facility is not None and floor.facility_id != facility.pk:
            self.add_error("floor", _("This floor is not in the chosen site."))
        return cleaned

    def filters(self) -> dict[str, Any]:
        """The chosen filters (unknown or out-of-scope values were refused by the choice fields)."""
        if not self.is_bound or not self.is_valid():
            return {"day": None, "grid": None, "facility": None, "floor": None, "department": None}
        return {name: self.cleaned_data.get(name) for name in ("day", "grid", "facility", "floor", "department")}


class CheckEntryForm(forms.Form):
    """One cell of the fast list: a placement's slot of a day, the temperature and the symptoms."""

    placement = forms.IntegerField(widget=forms.HiddenInput)
    day = forms.DateField(widget=forms.HiddenInput)
    slot = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    # Text, not a number field: the service reads "37,3", "３７.３" or "37.3℃" and explains "373" or "99.5".
    temperature = forms.CharField(label=_("Temperature (°C)"), max_length=12)
    symptoms = forms.MultipleChoiceField(
        label=_("Symptoms"), choices=Symptom.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class SelfReportForm(forms.Form):
    temperature = forms.CharField(
        label=_("Your temperature (°C)"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "class": "form-control form-control-lg",
                "inputmode": "decimal",
                "autocomplete": "off",
                "placeholder": "36.5",
            }
        ),
    )
    symptoms = forms.MultipleChoiceField(
        label=_("Do you have any of these?"),
        choices=Symptom.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    # A field people never see: bots fill it in.
    website = forms.CharField(required=False, label=_("Leave this empty"))

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


def _yes(value: Any) -> bool:
    return str(value).lower() in {"1", "true", "yes", "on"}


class CheckFilterForm(forms.Form):
    day_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={**_INPUT, "type": "date"})
    )
    day_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={**_INPUT, "type": "date"}))
    alert = forms.BooleanField(label=_("Alerts only"), required=False)
    source = forms.ChoiceField(
        label=_("Source"), choices=[("", "—"), *CheckSource.choices], required=False, widget=forms.Select(_SMALL)
    )
    grid = forms.CharField(label=_("Grid code"), required=False, widget=forms.TextInput(_INPUT))
    township = forms.CharField(label=_("Division code"), required=False, widget=forms.TextInput(_INPUT))
    facility = forms.IntegerField(required=False, widget=forms.HiddenInput)
    placement = forms.IntegerField(required=False, widget=forms.HiddenInput)
    person = forms.IntegerField(required=False, widget=forms.HiddenInput)
    day = forms.DateField(required=False, widget=forms.HiddenInput)

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        data = {key: value for key, value in self.cleaned_data.items() if value not in (None, "", False)}
        if "alert" in data:
            data["alert"] = _yes(data["alert"])
        return data


class LostFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Where"), choices=[("", "—"), *PlacementKind.choices], required=False, widget=forms.Select(_SMALL)
    )
    grid = forms.CharField(label=_("Grid code"), required=False, widget=forms.TextInput(_INPUT))
    township = forms.CharField(label=_("Division code"), required=False, widget=forms.TextInput(_INPUT))
    facility = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        return {key: value for key, value in self.cleaned_data.items() if value not in (None, "")}
