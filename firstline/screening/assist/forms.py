from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from firstline.core.forms import bootstrap
from firstline.core.spreadsheets import ACCEPTED_EXTENSIONS
from firstline.regions.models import Household
from firstline.screening.models import AssistStatus, HealthCode, Transport

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class _Styled(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


class BatchFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("Batches"),
        required=False,
        choices=[("", _("all")), ("open", _("open")), ("overdue", _("past the deadline")), ("closed", _("closed"))],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs={"class": "form-control form-control-sm", "placeholder": _("reference or sender")}
        ),
    )


class ItemFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("all")), ("open", _("not settled")), *AssistStatus.choices],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    township = forms.ChoiceField(
        label=_("Township"), required=False, widget=forms.Select(attrs={"class": "form-select form-select-sm"})
    )
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs={"class": "form-control form-control-sm", "placeholder": _("name, ID or phone tail")}
        ),
    )

    def __init__(self, *args: Any, townships: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["township"].choices = [("", _("all")), *(townships or [])]  # type: ignore[attr-defined]


class BatchUploadForm(_Styled):
    source = forms.CharField(
        label=_("Sent by"), max_length=200, help_text=_("Who pushed the list, e.g. 州疫情防控指挥部.")
    )
    reference = forms.CharField(label=_("Reference"), max_length=80, required=False)
    received_at = forms.DateTimeField(label=_("Received at"), required=False, widget=DATETIME_INPUT)
    deadline_at = forms.DateTimeField(
        label=_("Report back by"), required=False, widget=DATETIME_INPUT, help_text=_("Empty: 24 hours after receipt.")
    )
    locate_within_hours = forms.IntegerField(label=_("Locate within (hours)"), required=False, min_value=1)
    control_within_hours = forms.IntegerField(label=_("Control within (hours)"), required=False, min_value=1)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    file = forms.FileField(
        label=_("List"),
        required=False,
        help_text=_(
            "Excel (xlsx, xls), ODS or CSV with the columns 姓名, 证件类型, 身份证号, 手机号, 现住址, 来源地, 协查原因."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPTED_EXTENSIONS)}),
    )
    job = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("file") and not data.get("job"):
            self.add_error("file", _("Choose the file of the list."))
        return data


class VersionForm(_Styled):
    version = forms.IntegerField(widget=forms.HiddenInput)


class NoteForm(VersionForm):
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)


class LeftForm(VersionForm):
    left_to = forms.CharField(label=_("Left for"), max_length=200)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)


class TransferForm(VersionForm):
    transferred_to = forms.CharField(
        label=_("Transferred to"), max_length=200, help_text=_("The place and the office that takes over.")
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)


class RouteForm(VersionForm):
    path = forms.CharField(
        label=_("Route to"), max_length=40, help_text=_("Division code (township, community) or grid code.")
    )


class ControlForm(VersionForm):
    arrival_date = forms.DateField(label=_("Arrival date"), widget=forms.DateInput(attrs={"type": "date"}))
    origin = forms.CharField(label=_("Coming from"), max_length=200, required=False)
    travel_place = forms.CharField(
        label=_("Place stayed"), max_length=200, required=False, help_text=_("e.g. 陕西省西安市雁塔区")
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(
        label=_("Until (left the place)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    household = forms.ModelChoiceField(
        label=_("Household"),
        queryset=Household.objects.none(),
        required=False,
        to_field_name="code",
        widget=forms.TextInput(attrs={"data-household-search": "/api/v1/households/", "autocomplete": "off"}),
        help_text=_("Household code; empty keeps the one found by the address."),
    )
    transport = forms.ChoiceField(label=_("Transport"), choices=[("", "—"), *Transport.choices], required=False)
    transport_no = forms.CharField(label=_("Train / flight / plate"), max_length=40, required=False)
    health_code = forms.ChoiceField(label=_("Health code"), choices=[("", "—"), *HealthCode.choices], required=False)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)

    def __init__(self, *args: Any, households: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if households is not None:
            self.fields["household"].queryset = households  # type: ignore[attr-defined]

    def arrival_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        travel = []
        if data.get("travel_place"):
            travel.append(
                {"place": data["travel_place"], "date_from": data.get("date_from"), "date_to": data.get("date_to")}
            )
        values: dict[str, Any] = {
            "arrival_date": data["arrival_date"],
            "origin": data.get("origin") or "",
            "travel": travel,
            "transport": data.get("transport") or "",
            "transport_no": data.get("transport_no") or "",
            "health_code": data.get("health_code") or "",
        }
        if data.get("household") is not None:
            values["household"] = data["household"]
        return values
