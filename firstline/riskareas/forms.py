from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from firstline.core.forms import bootstrap
from firstline.riskareas.models import RiskArea, RiskLevel
from firstline.riskareas.selectors import STATUS_IN_FORCE, STATUS_LIFTED

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class _Styled(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


class RiskAreaFilterForm(_Styled):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("place, code or notice"), "autocomplete": "off"}),
    )
    level = forms.ChoiceField(label=_("Level"), required=False, choices=[("", _("any level")), *RiskLevel.choices])
    in_force_on = forms.DateField(label=_("In force on"), required=False, widget=_DATE)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("listed or lifted")), (STATUS_IN_FORCE, _("not lifted")), (STATUS_LIFTED, _("lifted"))],
    )
    needs_review = forms.BooleanField(label=_("Place not recognised"), required=False)


class RiskAreaForm(_Styled):
    """Create (all fields) or correct (place, code, scope, notice) an area."""

    place = forms.CharField(
        label=_("Place"),
        max_length=200,
        help_text=_("As published, e.g. 北京市丰台区花乡地区 or 西安市雁塔区电子城街道某小区."),
    )
    division_code = forms.CharField(
        label=_("Division code"),
        max_length=12,
        required=False,
        help_text=_("Leave empty to use the code recognised from the place."),
    )
    scope_text = forms.CharField(
        label=_("Scope below the division"),
        max_length=200,
        required=False,
        help_text=_("Leave empty to use what follows the county in the place; the whole division if nothing."),
    )
    level = forms.ChoiceField(label=_("Level"), choices=RiskLevel.choices)
    effective_from = forms.DateField(label=_("Listed from"), widget=_DATE)
    lifted_at = forms.DateField(label=_("Lifted on"), required=False, widget=_DATE)
    source_notice = forms.CharField(label=_("Source notice"), max_length=300, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            # Level and days change through "change level" and "lift", which keep the history.
            for name in ("level", "effective_from", "lifted_at"):
                del self.fields[name]
        else:
            del self.fields["version"]
            self.fields["effective_from"].initial = timezone.localdate()

    @staticmethod
    def initial_for(area: RiskArea) -> dict[str, Any]:
        return {
            "place": area.place,
            "division_code": area.division_code,
            "scope_text": area.scope_text,
            "source_notice": area.source_notice,
            "version": area.version,
        }


class LevelChangeForm(_Styled):
    level = forms.ChoiceField(label=_("New level"), choices=RiskLevel.choices)
    effective_on = forms.DateField(label=_("From"), widget=_DATE)
    source_notice = forms.CharField(label=_("Source notice"), max_length=300, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)


class LiftForm(_Styled):
    lifted_on = forms.DateField(
        label=_("Lifted on"), widget=_DATE, help_text=_("The first day it is no longer listed.")
    )
    source_notice = forms.CharField(label=_("Source notice"), max_length=300, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)


class NoticeForm(_Styled):
    text = forms.CharField(
        label=_("Notice text"),
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
        max_length=200_000,
        help_text=_(
            "Paste the list: a level heading (高风险地区：, 中风险地区（3个）：, High risk areas:) "
            "followed by one area per line. “北京市丰台区：花乡地区、卢沟桥街道” gives one area per sub-area."
        ),
    )
    effective_from = forms.DateField(
        label=_("Listed from"),
        widget=_DATE,
        help_text=_("Used unless the notice says “自…月…日起”."),
    )
    source_notice = forms.CharField(
        label=_("Source notice"), max_length=300, required=False, help_text=_("Title or number of the notice.")
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class UploadForm(_Styled):
    file = forms.FileField(
        label=_("CSV or xlsx file"),
        help_text=_(
            "Columns: place (地区), division_code (区划代码, optional), level (风险等级), "
            "effective_from (起始日期), lifted_at (解除日期, optional)."
        ),
    )
    source_notice = forms.CharField(label=_("Source notice"), max_length=300, required=False)
