"""Forms of the venue pages and of the public check-in page."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.formsets import BaseFormSet
from django.utils.translation import gettext_lazy as _

from firstline.core.forms import bootstrap
from firstline.regions.models import Division, Grid
from firstline.tracing.models import VenueCategory

_BOOL_CHOICES = [("", "—"), ("1", _("yes")), ("0", _("no"))]
_PHONE_LIKE = re.compile(r"(?:\+?86)?1[3-9][0-9]{9}", re.ASCII)


class VenueForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    category = forms.ChoiceField(label=_("Category"), choices=VenueCategory.choices)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    grid = forms.ModelChoiceField(
        label=_("Grid"),
        queryset=Grid.objects.none(),
        to_field_name="code",
        required=False,
        widget=forms.Select(attrs={"data-tom-select": "1"}),
        help_text=_("The grid the venue lies in; its workers see the venue and its check-ins."),
    )
    division = forms.ModelChoiceField(
        label=_("Division"),
        queryset=Division.objects.none(),
        to_field_name="code",
        required=False,
        widget=forms.Select(attrs={"data-tom-select": "1"}),
        help_text=_("Only for a venue that belongs to no grid (a bus line, a town-wide service)."),
    )
    default_stay_minutes = forms.IntegerField(
        label=_("Default stay (minutes)"),
        min_value=1,
        initial=30,
        help_text=_("How long a visit counts when the visitor does not check out."),
    )
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=20, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, grids: Any = None, divisions: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if grids is not None:
            self.fields["grid"].queryset = grids  # type: ignore[attr-defined]
        if divisions is not None:
            self.fields["division"].queryset = divisions  # type: ignore[attr-defined]
        bootstrap(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("grid") and not data.get("division") and not self.errors.get("grid"):
            self.add_error("grid", _("Choose the grid or the division the venue belongs to."))
        return data

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "category": data["category"],
            "address": data.get("address") or "",
            "grid": data.get("grid"),
            "division": data.get("division"),
            "default_stay_minutes": data["default_stay_minutes"],
            "contact_phone": data.get("contact_phone") or "",
        }


class VenueFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, help_text=_("name, address or code"))
    category = forms.ChoiceField(label=_("Category"), required=False, choices=[("", "—"), *VenueCategory.choices])
    division = forms.CharField(label=_("Grid or division code"), required=False, max_length=40)
    active = forms.ChoiceField(label=_("Active"), required=False, choices=_BOOL_CHOICES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        return {key: self.cleaned_data.get(key) or "" for key in ("q", "category", "division", "active")}


# -- the public check-in page -----------------------------------------------------------------------------------


class PublicCheckInForm(forms.Form):
    """A phone number or an ID number; the visitor's name is optional. Validation of the numbers is the service's
    (the same messages as the API); the form only carries the text."""

    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=40,
        required=False,
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "tel", "class": "form-control form-control-lg"}
        ),
    )
    id_number = forms.CharField(
        label=_("or ID number"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "form-control form-control-lg"}),
    )
    name = forms.CharField(
        label=_("Name (optional)"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name", "class": "form-control"}),
    )
    # A field people never see; bots fill it in.
    website = forms.CharField(label=_("Leave this empty"), required=False)

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


class CompanionForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, required=False, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    contact = forms.CharField(
        label=_("Mobile or ID number (optional)"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    def companion(self) -> dict[str, str]:
        """The row as the service takes it: an 11-digit mobile number goes to ``phone``, anything else is an ID."""
        name = (self.cleaned_data.get("name") or "").strip()
        contact = (self.cleaned_data.get("contact") or "").strip()
        compact = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", contact))
        if _PHONE_LIKE.fullmatch(compact):
            return {"name": name, "phone": contact, "id_number": ""}
        return {"name": name, "phone": "", "id_number": contact}


CompanionFormSet = forms.formset_factory(CompanionForm, extra=2, max_num=20, absolute_max=20, validate_max=True)


def companion_formset(data: Any = None) -> BaseFormSet[CompanionForm]:
    return CompanionFormSet(data, prefix="party")


def companion_rows(formset: BaseFormSet[CompanionForm]) -> list[dict[str, str]]:
    """Every row in order (empty ones too, which the service skips) so ``companions[i]`` errors meet row i."""
    return [form.companion() for form in formset.forms]


def add_checkin_errors(form: forms.Form, formset: BaseFormSet[CompanionForm], error: ValidationError) -> None:
    """The service's errors next to their fields: ``companions[i].phone`` on row i's contact field."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, messages in error.message_dict.items():
        match = re.fullmatch(r"companions\[(\d+)\]\.(\w+)", key)
        if match and int(match.group(1)) < len(formset.forms):
            row = formset.forms[int(match.group(1))]
            name = "name" if match.group(2) == "name" else "contact"
            row.add_error(name, messages)
            continue
        form.add_error(key if key in form.fields else None, messages)
