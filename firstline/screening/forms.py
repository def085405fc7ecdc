"""Forms of the arrival pages: the grid worker's phone form, checkpoint entry, self-registration, lists, points.

The forms parse and shape input only; every domain rule (ID check digits, dates in order, jurisdiction) is the
service's, and its ValidationError keys (``name``, ``travel[0].date_from`` …) are put back next to their fields by
``add_service_errors``.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.formsets import BaseFormSet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from firstline.core.forms import bootstrap
from firstline.people.models import IdType
from firstline.policy.models import MeasureType
from firstline.regions.models import Division, Household
from firstline.screening.models import (
    ArrivalSource,
    ArrivalStatus,
    HealthCode,
    PointKind,
    ReevaluationStatus,
    RegistrationPoint,
    Transport,
)

# Beyond this many households the select holds the first ones and searches the rest as one types.
HOUSEHOLD_OPTIONS_LIMIT = 300
_TRAVEL_KEY = re.compile(r"^travel\[(\d+)\]\.(\w+)$")


def _big(form: forms.Form) -> None:
    """Phone forms: large inputs a thumb can hit."""
    for field in form.fields.values():
        widget = field.widget
        css = widget.attrs.get("class", "")
        if "form-control" in css or "form-select" in css:
            widget.attrs["class"] = f"{css} form-control-lg" if "form-control" in css else f"{css} form-select-lg"


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class TravelForm(forms.Form):
    """One row of travel history: a place and the days spent there."""

    place = forms.CharField(
        label=_("Place"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. 西安市雁塔区"), "autocomplete": "off"}),
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=_date_input())
    date_to = forms.DateField(label=_("To"), required=False, widget=_date_input())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


TravelFormSet = forms.formset_factory(TravelForm, extra=1, max_num=20, absolute_max=20, validate_max=True)


def travel_formset(data: Any = None) -> BaseFormSet[TravelForm]:
    return TravelFormSet(data, prefix="travel")


def travel_rows(formset: BaseFormSet[TravelForm]) -> list[dict[str, Any]]:
    """All rows in order, empty ones too, so the service's ``travel[i]`` keys point at formset row i."""
    return [
        {
            "place": form.cleaned_data.get("place") or "",
            "date_from": form.cleaned_data.get("date_from"),
            "date_to": form.cleaned_data.get("date_to"),
        }
        for form in formset.forms
        if hasattr(form, "cleaned_data")
    ]


class ArrivalFieldsForm(forms.Form):
    """The fields every arrival form shares, in the order a grid worker asks them."""

    id_number = forms.CharField(
        label=_("ID number"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false", "autofocus": True}
        ),
    )
    id_type = forms.ChoiceField(label=_("ID type"), choices=IdType.choices, initial=IdType.RESIDENT)
    name = forms.CharField(label=_("Name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    phone = forms.CharField(
        label=_("Phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    arrival_date = forms.DateField(label=_("Arrival date"), initial=timezone.localdate, widget=_date_input())
    origin = forms.CharField(
        label=_("Coming from"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("city and district, e.g. 西宁市城东区")}),
    )
    transport = forms.ChoiceField(label=_("Transport"), choices=[("", "—"), *Transport.choices], required=False)
    transport_no = forms.CharField(
        label=_("Train / flight / plate"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
    )
    health_code = forms.ChoiceField(
        label=_("Health code"), choices=HealthCode.choices, required=False, widget=forms.RadioSelect
    )
    vaccine_doses = forms.IntegerField(
        label=_("Vaccine doses"),
        min_value=0,
        max_value=6,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    last_negative_test_at = forms.DateTimeField(
        label=_("Last negative test"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    destination_address = forms.CharField(
        label=_("Destination address"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    release_certificate = forms.BooleanField(label=_("Showed a release certificate"), required=False)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)
        _big(self)

    def service_data(self, travel: list[dict[str, Any]]) -> dict[str, Any]:
        """The ``data`` mapping of ``arrival_register``."""
        data = self.cleaned_data
        return {
            "person": {
                "name": data.get("name", ""),
                "id_type": data.get("id_type") or IdType.RESIDENT,
                "id_number": data.get("id_number", ""),
                "phone": data.get("phone", ""),
            },
            "origin": data.get("origin", ""),
            "travel": travel,
            "arrival_date": data.get("arrival_date"),
            "arrival_time": data.get("arrival_time"),
            "transport": data.get("transport", ""),
            "transport_no": data.get("transport_no", ""),
            "health_code": data.get("health_code", ""),
            "vaccine_doses": data.get("vaccine_doses"),
            "last_negative_test_at": data.get("last_negative_test_at"),
            "destination_address": data.get("destination_address", ""),
            "release_certificate": bool(data.get("release_certificate")),
            "note": data.get("note", ""),
            "household": data.get("household"),
            "division": data.get("division"),
        }


class HouseholdCodeField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A household chosen by code among those the user may see (the widget may list only the first ones)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", Household.objects.none())
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.address} · {obj.code}"


class GridArrivalForm(ArrivalFieldsForm):
    """The grid worker's form: the destination is a household of their grid, or “not in my list” → the queue."""

    household = HouseholdCodeField(
        label=_("Destination household"),
        empty_label=_("— not in my list: send to the queue —"),
        widget=forms.Select(attrs={"data-tom-select": "1"}),
    )
    division = forms.ModelChoiceField(
        label=_("Queue of"),
        queryset=Division.objects.none(),
        required=False,
        to_field_name="code",
        widget=forms.Select(attrs={"data-tom-select": "1"}),
        help_text=_("Without a household, the arrival waits in this division's queue."),
    )

    def __init__(
        self,
        *args: Any,
        households: QuerySet[Household] | None = None,
        divisions: QuerySet[Division] | None = None,
        household_search_url: str = "",
        lookup_url: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if lookup_url:
            # While the ID is typed: birth date, sex, and “already registered” (htmx fills #id-lookup).
            self.fields["id_number"].widget.attrs.update(
                {
                    "hx-get": lookup_url,
                    "hx-trigger": "input changed delay:300ms, change",
                    "hx-target": "#id-lookup",
                    "hx-include": "[name='id_type']",
                    "hx-sync": "this:replace",
                }
            )
        household_field: Any = self.fields["household"]
        division_field: Any = self.fields["division"]
        if households is not None:
            household_field.queryset = households
            options = list(households[: HOUSEHOLD_OPTIONS_LIMIT + 1])
            chosen = self.data.get("household") if self.is_bound else self.initial.get("household")
            if len(options) > HOUSEHOLD_OPTIONS_LIMIT:
                options = options[:HOUSEHOLD_OPTIONS_LIMIT]
                household_field.widget.attrs["data-household-remote"] = household_search_url
                household_field.widget.attrs.pop("data-tom-select", None)
            if chosen and all(h.code != chosen for h in options):
                options += list(households.filter(code=chosen))
            household_field.widget.choices = [("", household_field.empty_label)] + [
                (h.code, household_field.label_from_instance(h)) for h in options
            ]
        if divisions is not None:
            division_field.queryset = divisions
        self.show_division = divisions is not None and divisions.count() > 1


class PublicArrivalForm(ArrivalFieldsForm):
    """Self-registration: the address is free text; a consent line; a field people never see (bots fill it)."""

    consent = forms.BooleanField(
        label=_("I confirm the information is true and agree that the community uses it for epidemic prevention only."),
        error_messages={"required": _("Please confirm to submit.")},
    )
    website = forms.CharField(
        label=_("Leave this empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["destination_address"].required = True
        self.fields["destination_address"].label = _("Where you are staying (address)")
        self.fields["id_number"].widget.attrs.pop("autofocus", None)
        del self.fields["note"]

    @property
    def is_bot(self) -> bool:
        return bool((self.data.get("website") or "").strip())


class CheckpointChooseForm(forms.Form):
    point = forms.ModelChoiceField(label=_("Checkpoint"), queryset=RegistrationPoint.objects.none())

    def __init__(self, *args: Any, points: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["point"].queryset = points  # type: ignore[attr-defined]
        bootstrap(self)
        _big(self)


class CheckpointForm(forms.Form):
    """Fast repeated entry at a road checkpoint: who, which vehicle, from where, to which township."""

    id_number = forms.CharField(
        label=_("ID number"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "autofocus": True}),
    )
    name = forms.CharField(label=_("Name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    phone = forms.CharField(
        label=_("Phone"), max_length=30, required=False, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )
    transport = forms.ChoiceField(label=_("Transport"), choices=Transport.choices, initial=Transport.CAR)
    transport_no = forms.CharField(
        label=_("Plate / train / flight"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
    )
    origin = forms.CharField(label=_("Coming from"), max_length=200, required=False)
    division = forms.ModelChoiceField(
        label=_("Destination township"),
        queryset=Division.objects.none(),
        required=False,
        to_field_name="code",
        empty_label=_("— outside this county / not known —"),
        widget=forms.Select(attrs={"data-tom-select": "1"}),
    )
    destination_address = forms.CharField(label=_("Destination address"), max_length=300, required=False)
    health_code = forms.ChoiceField(
        label=_("Health code"), choices=HealthCode.choices, required=False, widget=forms.RadioSelect
    )

    def __init__(self, *args: Any, divisions: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if divisions is not None:
            self.fields["division"].queryset = divisions  # type: ignore[attr-defined]
        bootstrap(self)
        _big(self)

    def service_data(self, *, today: Any, now: Any) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "person": {
                "name": data["name"],
                "id_type": IdType.RESIDENT,
                "id_number": data["id_number"],
                "phone": data.get("phone", ""),
            },
            "origin": data.get("origin", ""),
            "travel": [],
            "arrival_date": today,
            "arrival_time": now,
            "transport": data.get("transport", ""),
            "transport_no": data.get("transport_no", ""),
            "health_code": data.get("health_code", ""),
            "destination_address": data.get("destination_address", ""),
            "division": data.get("division"),
            "household": None,
        }


_BOOL_CHOICES = [("", "—"), ("1", _("yes")), ("0", _("no"))]


class ArrivalFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("name, pinyin, ID or phone tail"), "inputmode": "search"}),
    )
    date_from = forms.DateField(label=_("Arrived from"), required=False, widget=_date_input())
    date_to = forms.DateField(label=_("Arrived until"), required=False, widget=_date_input())
    division = forms.CharField(
        label=_("Grid or division code"), required=False, max_length=40, widget=forms.TextInput()
    )
    measure = forms.ChoiceField(label=_("Measure"), required=False, choices=[("", "—"), *MeasureType.choices])
    source = forms.ChoiceField(label=_("Source"), required=False, choices=[("", "—"), *ArrivalSource.choices])
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", "—"), *ArrivalStatus.choices])
    needs_review = forms.ChoiceField(label=_("Needs review"), required=False, choices=_BOOL_CHOICES)
    unresolved = forms.ChoiceField(label=_("No household yet"), required=False, choices=_BOOL_CHOICES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)

    def filters(self) -> dict[str, Any]:
        """The cleaned filters (invalid values are ignored, as a list page should never fail on a bad link)."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value not in ("", None)}


class QueueFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", "—"), *ArrivalStatus.choices])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


class VerifyForm(forms.Form):
    """Verify or reject a self-registration, and/or give the household (from the queue)."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    household = HouseholdCodeField(label=_("Household"), widget=forms.TextInput())
    action = forms.ChoiceField(choices=[("verify", "verify"), ("reject", "reject")], initial="verify")

    def __init__(self, *args: Any, households: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if households is not None:
            self.fields["household"].queryset = households  # type: ignore[attr-defined]


class PointForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=PointKind.choices, initial=PointKind.COMMUNITY)
    name = forms.CharField(label=_("Name"), max_length=120)
    division = forms.ModelChoiceField(
        label=_("Division"),
        queryset=Division.objects.none(),
        to_field_name="code",
        widget=forms.Select(attrs={"data-tom-select": "1"}),
        help_text=_("Self-registrations at this point wait in this division's queue."),
    )

    def __init__(self, *args: Any, divisions: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if divisions is not None:
            self.fields["division"].queryset = divisions  # type: ignore[attr-defined]
        bootstrap(self)


class PointFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", "—"), *PointKind.choices])
    active = forms.ChoiceField(label=_("Active"), required=False, choices=_BOOL_CHOICES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


class ReevaluationFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", "—"), *ReevaluationStatus.choices])
    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[("", "—"), ("areas", _("risk areas changed")), ("edition", _("policy edition changed"))],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


def add_service_errors(form: forms.Form, error: ValidationError, travel: BaseFormSet[TravelForm] | None = None) -> None:
    """Put the service's errors next to their fields: ``person.name``/``name`` on the form, ``travel[i].x`` on row i."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    rows_with_place = [i for i, f in enumerate(travel.forms) if (f.cleaned_data or {}).get("place")] if travel else []
    for key, messages in error.message_dict.items():
        match = _TRAVEL_KEY.match(key)
        if match:
            index, name = int(match.group(1)), match.group(2)
            if travel is not None and rows_with_place and index < len(travel.forms):
                row = travel.forms[index]
                row.add_error(name if name in row.fields else None, messages)
            elif "origin" in form.fields:  # the origin stood in for the travel history
                form.add_error("origin", messages)
            else:
                form.add_error(None, messages)
            continue
        name = key.removeprefix("person.")
        form.add_error(name if name in form.fields else None, messages)
