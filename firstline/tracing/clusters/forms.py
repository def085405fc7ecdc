"""Filters of the cluster list and of the cluster graph."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from firstline.core.forms import bootstrap

_BOOL_CHOICES = [("", "—"), ("1", _("yes")), ("0", _("no"))]


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class _Filters(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)

    def filters(self) -> dict[str, Any]:
        """The cleaned filters (invalid values are ignored: a list page should never fail on a bad link)."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value not in ("", None)}


class ClusterFilterForm(_Filters):
    active = forms.ChoiceField(label=_("Active"), required=False, choices=_BOOL_CHOICES)
    date_from = forms.DateField(label=_("Exposures from"), required=False, widget=_date_input())
    date_to = forms.DateField(label=_("Exposures until"), required=False, widget=_date_input())
    division = forms.CharField(label=_("Grid or division code"), required=False, max_length=40)
    min_size = forms.IntegerField(label=_("At least (persons)"), required=False, min_value=1)


class GraphFilterForm(_Filters):
    date_from = forms.DateField(label=_("From"), required=False, widget=_date_input())
    date_to = forms.DateField(label=_("Until"), required=False, widget=_date_input())
    division = forms.CharField(label=_("Grid or division code"), required=False, max_length=40)
    group = forms.RegexField(required=False, regex=r"^[hva][0-9a-f]{1,20}$", widget=forms.HiddenInput)
