from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from firstline.core.forms import bootstrap
from firstline.regions.models import Division
from firstline.screening.models import Campaign, VisitOutcome


class CampaignFilterForm(forms.Form):
    active_on = forms.DateField(label=_("Running on"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    division = forms.CharField(label=_("Division code"), required=False, max_length=12)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    division = forms.ModelChoiceField(
        label=_("Division"),
        queryset=Division.objects.none(),
        widget=forms.Select(attrs={"data-tom-select": "1"}),
        help_text=_("Every household of this township, village or community is to be visited."),
    )
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, divisions: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if divisions is not None:
            self.fields["division"].queryset = divisions  # type: ignore[attr-defined]
        bootstrap(self)

    @staticmethod
    def initial_for(campaign: Campaign) -> dict[str, Any]:
        return {
            "name": campaign.name,
            "division": campaign.division_id,
            "date_from": campaign.date_from,
            "date_to": campaign.date_to,
            "note": campaign.note,
            "version": campaign.version,
        }


class _GridFilterForm(forms.Form):
    """A list filter by grid (the campaign's grids the user sees) or by any area code below the campaign."""

    grid = forms.ChoiceField(label=_("Grid"), required=False)
    area = forms.CharField(label=_("Area code"), required=False, max_length=40, widget=forms.HiddenInput)

    def __init__(self, *args: Any, grids: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("all grids"))] + [(grid.code, grid.name) for grid in grids.only("code", "name")]
        self.fields["grid"].choices = choices  # type: ignore[attr-defined]
        bootstrap(self)


class VisitFilterForm(_GridFilterForm):
    outcome = forms.ChoiceField(
        label=_("Outcome"), required=False, choices=[("", _("all outcomes")), *VisitOutcome.choices]
    )


class UnvisitedFilterForm(_GridFilterForm):
    reason = forms.ChoiceField(
        label=_("Reason"),
        required=False,
        choices=[
            ("", _("not yet visited or nobody home")),
            ("not_visited", _("Not yet visited")),
            ("nobody_home", _("Nobody home")),
        ],
    )


class VisitForm(forms.Form):
    """The phone form: counts first, then one tap on an outcome button saves."""

    outcome = forms.ChoiceField(label=_("Outcome"), choices=VisitOutcome.choices)
    members_present = forms.IntegerField(
        label=_("Members present"),
        min_value=0,
        max_value=99,
        initial=0,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    returnees_found = forms.IntegerField(
        label=_("Returnees found"),
        min_value=0,
        max_value=99,
        initial=0,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    unvaccinated = forms.IntegerField(
        label=_("Members not vaccinated"),
        min_value=0,
        max_value=99,
        initial=0,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    symptoms = forms.BooleanField(label=_("Someone has fever, cough or other symptoms"), required=False)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)
