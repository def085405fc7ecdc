from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from firstline.core.forms import bootstrap
from firstline.policy.models import Anchor, EditionStatus, MeasureRule, MeasureType, PolicyEdition, Trigger

_DATE = {"type": "date"}
_REAL_MEASURES = [(value, label) for value, label in MeasureType.choices if value != MeasureType.NONE]


class _Styled:
    """Bootstrap classes on every widget (no inline styles: strict CSP)."""

    fields: dict[str, forms.Field]

    def _style(self) -> None:
        bootstrap(self)  # type: ignore[arg-type]  # mixed into forms.Form subclasses only


class EditionFilterForm(_Styled, forms.Form):
    q = forms.CharField(label=_("Edition name"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("any status")), *EditionStatus.choices]
    )
    on = forms.DateField(label=_("In force on"), required=False, widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()


class EditionCopyForm(_Styled, forms.Form):
    name = forms.CharField(label=_("Name of the copy"), max_length=120)
    effective_from = forms.DateField(label=_("In force from"), widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()


class EditionForm(_Styled, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = PolicyEdition
        fields = [
            "name",
            "effective_from",
            "description",
            "infectious_days_before",
            "window_from_last_negative",
            "min_tests_when_short",
            "min_test_gap_hours",
            "expired_as_low_risk",
            "lifting_shortens_measures",
            "early_release_allowed",
        ]
        widgets = {
            "effective_from": forms.DateInput(attrs=_DATE, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["version"] = self.instance.version
        self._style()


def _days_text(days: Any) -> str:
    return ",".join(str(day) for day in days or [])


class RuleForm(_Styled, forms.Form):
    """Typed input only: the service checks the rule as a whole and names the bad fields."""

    measure = forms.ChoiceField(label=_("Measure"), choices=_REAL_MEASURES)
    duration_days = forms.IntegerField(label=_("Duration (days)"), required=False)
    lookback_days = forms.IntegerField(
        label=_("Look-back (days)"), required=False, help_text=_("Risk-area triggers: how far back a stay counts.")
    )
    anchor = forms.ChoiceField(label=_("Day 1 is"), choices=Anchor.choices)
    test_days = forms.CharField(
        label=_("Test days"), required=False, help_text=_("Day numbers of the measure, e.g. 1,2,3,5,7.")
    )
    follow_on_measure = forms.ChoiceField(
        label=_("Follow-on measure"), required=False, choices=[("", _("none")), *_REAL_MEASURES]
    )
    follow_on_days = forms.IntegerField(label=_("Follow-on duration (days)"), required=False)
    follow_on_test_days = forms.CharField(
        label=_("Follow-on test days"), required=False, help_text=_("Day numbers of the follow-on, e.g. 2,7.")
    )
    stay_home_until_negative = forms.BooleanField(label=_("Stay home until a negative result"), required=False)
    priority = forms.IntegerField(
        label=_("Priority"), required=False, initial=0, help_text=_("Breaks ties between equally strict measures.")
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=300)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()

    @staticmethod
    def initial_for(rule: MeasureRule | None, trigger: str) -> dict[str, Any]:
        if rule is None:
            anchor = Anchor.LEFT_AREA if trigger in (Trigger.RISK_HIGH, Trigger.RISK_MEDIUM) else Anchor.ARRIVAL
            if trigger in (Trigger.CLOSE_CONTACT, Trigger.SECONDARY_CONTACT):
                anchor = Anchor.LAST_EXPOSURE
            elif trigger == Trigger.COMPANION:
                anchor = Anchor.NOTIFIED
            return {"anchor": anchor, "priority": 0}
        return {
            "measure": rule.measure,
            "duration_days": rule.duration_days,
            "lookback_days": rule.lookback_days,
            "anchor": rule.anchor,
            "test_days": _days_text(rule.test_days),
            "follow_on_measure": rule.follow_on_measure,
            "follow_on_days": rule.follow_on_days,
            "follow_on_test_days": _days_text(rule.follow_on_test_days),
            "stay_home_until_negative": rule.stay_home_until_negative,
            "priority": rule.priority,
            "note": rule.note,
        }


class TryForm(_Styled, forms.Form):
    """Evidence to run an edition's rules on, without storing anything."""

    trigger = forms.ChoiceField(label=_("Trigger"), choices=Trigger.choices)
    place = forms.CharField(
        label=_("Place or source"),
        required=False,
        max_length=120,
        help_text=_("The risk area, or whom the person was exposed to (only shown in the explanation)."),
    )
    first_day = forms.DateField(
        label=_("First day there / first exposure"), widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d")
    )
    last_day = forms.DateField(
        label=_("Last day there / last exposure"), widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d")
    )
    arrival_date = forms.DateField(
        label=_("Arrival date"),
        required=False,
        widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d"),
        help_text=_("Leave empty for a contact: the last exposure then picks the edition."),
    )
    today = forms.DateField(
        label=_("Day the person is reached"),
        required=False,
        widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d"),
        help_text=_("For contacts; defaults to today."),
    )
    release_certificate = forms.BooleanField(label=_("Shows a release certificate"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first_day"), data.get("last_day")
        if isinstance(first, datetime.date) and isinstance(last, datetime.date) and last < first:
            self.add_error("last_day", _("The last day is before the first day."))
        arrival = data.get("arrival_date")
        if isinstance(arrival, datetime.date) and isinstance(last, datetime.date) and arrival < last:
            self.add_error("arrival_date", _("The arrival is before the last day in the area."))
        return data
