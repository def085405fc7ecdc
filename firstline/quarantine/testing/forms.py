"""Forms of the testing pages: they parse input; the rules (time not in the future, unique tube, who may write) are
the services', whose errors ``core.forms.add_service_errors`` puts next to the fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from firstline.core.forms import bootstrap
from firstline.quarantine.models import Facility, SamplingStatus, TestResult
from firstline.quarantine.testing import selectors
from firstline.regions.models import Grid
from firstline.screening.imports.forms import UploadForm


def _moment_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class SamplingFilterForm(forms.Form):
    site = forms.ModelChoiceField(label=_("Site"), required=False, queryset=Facility.objects.none())
    grid = forms.CharField(label=_("Grid code"), required=False, max_length=40)
    day = forms.DateField(label=_("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", "—"), *SamplingStatus.choices])
    result = forms.ChoiceField(
        label=_("Result"),
        required=False,
        choices=[("", "—"), (selectors.PENDING, _("taken, awaiting result")), *TestResult.choices[1:]],
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    person = forms.IntegerField(required=False, widget=forms.HiddenInput)
    view = forms.ChoiceField(
        required=False,
        choices=[("", ""), (selectors.VIEW_DUE, ""), (selectors.VIEW_OVERDUE, "")],
        widget=forms.HiddenInput,
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        site = self.fields["site"]
        assert isinstance(site, forms.ModelChoiceField)
        site.queryset = Facility.objects.visible_to(user).order_by("code")
        bootstrap(self)

    def clean_grid(self) -> Grid | None:
        code = (self.cleaned_data.get("grid") or "").strip()
        if not code:
            return None
        grid = Grid.objects.visible_to(self.user).filter(code=code).first()
        if grid is None:
            raise ValidationError(_("No such grid in your jurisdiction."))
        return grid

    def filters(self) -> dict[str, Any]:
        """The valid filters (a bad value in a link is ignored, never an error page)."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value not in ("", None, False)}


class SamplingRecordForm(forms.Form):
    sampled_at = forms.DateTimeField(label=_("Sampled at"), widget=_moment_input())
    tube_code = forms.CharField(
        label=_("Tube barcode"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "autofocus": True}),
    )
    sampler_name = forms.CharField(label=_("Sampler (if not you)"), required=False, max_length=60)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("sampled_at", timezone.localtime().replace(second=0, microsecond=0))
        super().__init__(*args, **kwargs)
        bootstrap(self)


class UnscheduledSamplingForm(SamplingRecordForm):
    person = forms.IntegerField(widget=forms.HiddenInput)


class ResultForm(forms.Form):
    result = forms.ChoiceField(label=_("Result"), choices=TestResult.choices[1:], widget=forms.RadioSelect)
    lab = forms.CharField(label=_("Laboratory"), required=False, max_length=100)
    result_at = forms.DateTimeField(
        label=_("Result time"), required=False, widget=_moment_input(), help_text=_("Empty: now.")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


class ResultsUploadForm(UploadForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].label = _("Lab result list")
        self.fields["file"].help_text = _(
            "xlsx, xls, ods or csv; the first sheet is read. Columns: ID number, sampling time, result, laboratory "
            "(tube barcode and name if the lab gives them), in Chinese or English."
        )


class ImportFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from firstline.screening.models import ImportStatus

        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", "—"), *ImportStatus.choices]  # type: ignore[attr-defined]
        bootstrap(self)
