from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from firstline.people.models import IdType, Person, Sex
from firstline.regions.models import Household


class PersonSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs={
                "placeholder": _("name, pinyin (zxdj), ID or phone tail"),
                "class": "form-control",
                "autocomplete": "off",
                "inputmode": "search",
            }
        ),
    )
    grid = forms.CharField(label=_("Grid code"), required=False, widget=forms.HiddenInput)
    division = forms.CharField(label=_("Division code"), required=False, widget=forms.HiddenInput)


class PersonForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    id_type = forms.ChoiceField(label=_("ID type"), choices=IdType.choices, initial=IdType.RESIDENT)
    id_number = forms.CharField(
        label=_("ID number"), max_length=40, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    phone = forms.CharField(
        label=_("Phone"), max_length=30, required=False, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )
    ethnicity = forms.CharField(label=_("Ethnicity"), max_length=20, required=False)
    sex = forms.ChoiceField(
        label=_("Sex"), choices=Sex.choices, required=False, help_text=_("Derived from a resident ID.")
    )
    birth_date = forms.DateField(
        label=_("Birth date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Derived from a resident ID."),
    )
    # A code input (a city has tens of thousands of households): Tom Select searches the API as one types.
    household = forms.ModelChoiceField(
        label=_("Household"),
        queryset=Household.objects.none(),
        required=False,
        to_field_name="code",
        widget=forms.TextInput(attrs={"data-household-search": "/api/v1/households/", "autocomplete": "off"}),
        help_text=_("Household code, or type part of the address."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, households: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if households is not None:
            self.fields["household"].queryset = households  # type: ignore[attr-defined]
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            elif not isinstance(widget, forms.HiddenInput):
                widget.attrs.setdefault("class", "form-control")

    @staticmethod
    def initial_for(person: Person) -> dict[str, Any]:
        return {
            "name": person.name,
            "id_type": person.id_type,
            "id_number": person.id_number,
            "phone": person.phone,
            "ethnicity": person.ethnicity,
            "sex": person.sex,
            "birth_date": person.birth_date,
            "household": person.household.code if person.household else "",
            "version": person.version,
        }
