"""Forms of the tracing pages. They parse and shape input; every rule (dates in order, windows, jurisdiction,
self-exposure) is the service's, whose ValidationError keys ``add_service_errors`` puts next to the fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from firstline.accounts.models import Department
from firstline.core.forms import bootstrap
from firstline.core.spreadsheets import ACCEPTED_EXTENSIONS
from firstline.people.models import IdType
from firstline.policy.models import MeasureType
from firstline.regions.models import Division
from firstline.tracing.models import (
    Case,
    Classification,
    ContactKind,
    ContactStatus,
    ExposureOrigin,
    ExposureStatus,
    FoundBy,
    Outcome,
    Protection,
    Proximity,
    Setting,
)

CASE_VALUE_FIELDS = (
    "classification",
    "onset_date",
    "sampling_date",
    "last_negative_date",
    "report_date",
    "isolated_on",
    "found_by",
    "isolation_place",
    "notes",
)


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _moment_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _blank(choices: Any, label: str = "—") -> list[tuple[str, Any]]:
    return [("", label), *choices]


def _case_choices(field: Any, cases: Any) -> None:
    """Offer these cases (already chosen and scoped by the view), named by person, classification and date."""
    field.queryset = (
        Case.objects.filter(pk__in=[c.pk for c in cases]).select_related("person").order_by("-report_date", "-id")
    )
    field.label_from_instance = lambda c: f"{c.person.name} · {c.get_classification_display()} · {c.report_date}"


def add_service_errors(form: forms.Form, error: ValidationError, aliases: dict[str, str] | None = None) -> None:
    """Put a service's errors next to their fields (``aliases`` renames service keys to form fields)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    aliases = aliases or {}
    for key, messages in error.message_dict.items():
        name = aliases.get(key, key)
        form.add_error(name if name in form.fields else None, messages)


def _lookup_attrs(url: str, target: str, id_type_field: str) -> dict[str, str]:
    """htmx attributes of an ID number input: while typing, the project's person lookup fills ``target``."""
    return {
        "hx-get": url,
        "hx-trigger": "input changed delay:300ms, change",
        "hx-target": f"#{target}",
        "hx-include": f"[name='{id_type_field}']",
        "hx-sync": "this:replace",
        "autocomplete": "off",
        "autocapitalize": "characters",
        "spellcheck": "false",
    }


class PersonFieldsMixin(forms.Form):
    """A person given by id (already chosen) or by ID number, name and phone (found or registered)."""

    person = forms.IntegerField(required=False, widget=forms.HiddenInput)
    id_number = forms.CharField(label=_("ID number"), max_length=40, required=False)
    id_type = forms.ChoiceField(label=_("ID type"), choices=IdType.choices, initial=IdType.RESIDENT, required=False)
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    phone = forms.CharField(
        label=_("Phone"), max_length=30, required=False, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )
    division = forms.ModelChoiceField(
        label=_("Jurisdiction of a new person"),
        queryset=Division.objects.none(),
        required=False,
        to_field_name="code",
        widget=forms.Select(attrs={"data-tom-select": "1"}),
        help_text=_("Only for a person not registered yet; empty: your own jurisdiction."),
    )

    def setup_person(self, *, divisions: QuerySet[Division] | None, lookup_url: str) -> None:
        if divisions is not None:
            self.fields["division"].queryset = divisions  # type: ignore[attr-defined]
        if lookup_url:
            self.fields["id_number"].widget.attrs.update(_lookup_attrs(lookup_url, "id-lookup", "id_type"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("person"):
            if not (data.get("id_number") or "").strip():
                self.add_error("id_number", _("Give the ID number (or choose a registered person)."))
            if not (data.get("name") or "").strip():
                self.add_error("name", _("The name is required."))
        return data

    def person_data(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if data.get("person"):
            return None
        division = data.get("division")
        return {
            "name": data.get("name") or "",
            "id_type": data.get("id_type") or IdType.RESIDENT,
            "id_number": data.get("id_number") or "",
            "phone": data.get("phone") or "",
            "division": division.code if division is not None else "",
        }


class CaseFieldsMixin(forms.Form):
    classification = forms.ChoiceField(label=_("Classification"), choices=Classification.choices)
    onset_date = forms.DateField(label=_("Symptom onset"), required=False, widget=_date_input())
    sampling_date = forms.DateField(label=_("Sampling date (positive)"), required=False, widget=_date_input())
    last_negative_date = forms.DateField(label=_("Last negative test"), required=False, widget=_date_input())
    report_date = forms.DateField(label=_("Report date"), initial=timezone.localdate, widget=_date_input())
    isolated_on = forms.DateField(
        label=_("Isolated on"),
        required=False,
        widget=_date_input(),
        help_text=_("Closes the infectious window; the report date if empty."),
    )
    found_by = forms.ChoiceField(label=_("Found by"), choices=FoundBy.choices, initial=FoundBy.OTHER)
    isolation_place = forms.CharField(label=_("Isolation / treatment place"), max_length=200, required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def case_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in CASE_VALUE_FIELDS if name in self.fields}


class CaseCreateForm(PersonFieldsMixin, CaseFieldsMixin):
    field_order = ["person", "id_number", "id_type", "name", "phone", "division", *CASE_VALUE_FIELDS]

    def __init__(
        self, *args: Any, divisions: QuerySet[Division] | None = None, lookup_url: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.setup_person(divisions=divisions, lookup_url=lookup_url)
        bootstrap(self)


class CaseEditForm(CaseFieldsMixin):
    version = forms.IntegerField(widget=forms.HiddenInput)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices)
    outcome_date = forms.DateField(label=_("Outcome date"), required=False, widget=_date_input())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)

    @staticmethod
    def initial_for(case: Case) -> dict[str, Any]:
        names = (*CASE_VALUE_FIELDS, "outcome", "outcome_date", "version")
        return {name: getattr(case, name) for name in names}

    def case_values(self) -> dict[str, Any]:
        values = super().case_values()
        values["outcome"] = self.cleaned_data.get("outcome")
        values["outcome_date"] = self.cleaned_data.get("outcome_date")
        return values


class ExposureValuesMixin(forms.Form):
    setting = forms.ChoiceField(label=_("Setting"), choices=Setting.choices, initial=Setting.OTHER)
    start = forms.DateTimeField(label=_("From"), widget=_moment_input())
    end = forms.DateTimeField(
        label=_("Until"), required=False, widget=_moment_input(), help_text=_("Empty: the same as the start.")
    )
    proximity = forms.ChoiceField(label=_("Proximity"), choices=Proximity.choices, initial=Proximity.UNKNOWN)
    protection = forms.ChoiceField(label=_("Protection"), choices=Protection.choices, initial=Protection.UNKNOWN)
    evidence = forms.CharField(
        label=_("Evidence"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("who says so, where, what happened")}),
    )

    def exposure_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "setting": data.get("setting"),
            "start": data.get("start"),
            "end": data.get("end") or data.get("start"),
            "proximity": data.get("proximity"),
            "protection": data.get("protection"),
            "evidence": data.get("evidence") or "",
        }


class ExposureCreateForm(PersonFieldsMixin, ExposureValuesMixin):
    """Source: a person given by id (``?source=``) or an open case; exposed: a person found or registered."""

    source = forms.IntegerField(required=False, widget=forms.HiddenInput)
    source_case = forms.ModelChoiceField(
        label=_("Source (open case)"),
        queryset=Case.objects.none(),
        required=False,
        widget=forms.Select(attrs={"data-tom-select": "1"}),
    )

    field_order = [
        "source",
        "source_case",
        "person",
        "id_number",
        "id_type",
        "name",
        "phone",
        "division",
        "setting",
        "start",
        "end",
        "proximity",
        "protection",
        "evidence",
    ]

    def __init__(
        self,
        *args: Any,
        cases: Any = None,
        divisions: QuerySet[Division] | None = None,
        lookup_url: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.setup_person(divisions=divisions, lookup_url=lookup_url)
        field: Any = self.fields["source_case"]
        if cases is not None:
            _case_choices(field, cases)
        bootstrap(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("source") and not data.get("source_case"):
            self.add_error("source_case", _("Choose the source of the exposure."))
        return data

    def source_person_id(self) -> int:
        data = self.cleaned_data
        if data.get("source"):
            return int(data["source"])
        return int(data["source_case"].person_id)


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "accept"), ("reject", "reject")])
    note = forms.CharField(max_length=300, required=False)

    @property
    def accept(self) -> bool:
        return self.cleaned_data.get("decision") == "accept"


class BulkDecideForm(DecideForm):
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[], required=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else self.data.get("ids") or []
        self.fields["ids"].choices = [(value, value) for value in raw]  # type: ignore[attr-defined]


class _FilterForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)

    def filters(self) -> dict[str, Any]:
        """The cleaned filters; invalid values are ignored (a list page never fails on a bad link)."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value not in ("", None)}


class CaseFilterForm(_FilterForm):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("name, pinyin, ID or phone tail"), "inputmode": "search"}),
    )
    classification = forms.ChoiceField(
        label=_("Classification"), required=False, choices=_blank(Classification.choices)
    )
    date_from = forms.DateField(label=_("Reported from"), required=False, widget=_date_input())
    date_to = forms.DateField(label=_("Reported until"), required=False, widget=_date_input())
    division = forms.CharField(label=_("Grid or division code"), required=False, max_length=40)
    found_by = forms.ChoiceField(label=_("Found by"), required=False, choices=_blank(FoundBy.choices))


AWAITING = "awaiting"
ALL = "all"


class ExposureFilterForm(_FilterForm):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("source or exposed person"), "inputmode": "search"}),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[(AWAITING, _("awaiting a decision")), (ALL, _("all")), *ExposureStatus.choices],
    )
    origin = forms.ChoiceField(label=_("Found by"), required=False, choices=_blank(ExposureOrigin.choices))
    setting = forms.ChoiceField(label=_("Setting"), required=False, choices=_blank(Setting.choices))
    date_from = forms.DateField(label=_("From"), required=False, widget=_date_input())
    date_to = forms.DateField(label=_("Until"), required=False, widget=_date_input())
    source = forms.IntegerField(required=False, widget=forms.HiddenInput)
    exposed = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def filters(self) -> dict[str, Any]:
        filters = super().filters()
        # The queue: without a status, what waits for the epidemiologist.
        filters.setdefault("status", AWAITING)
        return filters


class ContactFilterForm(_FilterForm):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("name, pinyin, ID or phone tail"), "inputmode": "search"}),
    )
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=_blank(ContactKind.choices))
    status = forms.ChoiceField(label=_("Status"), required=False, choices=_blank(ContactStatus.choices))
    division = forms.CharField(label=_("Grid or division code"), required=False, max_length=40)
    measure = forms.ChoiceField(label=_("Measure"), required=False, choices=_blank(MeasureType.choices))
    index_case = forms.IntegerField(label=_("Index case no."), required=False, min_value=1)


class IsolateForm(forms.Form):
    isolated_at = forms.DateTimeField(label=_("Isolated at"), widget=_moment_input())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


class LocateForm(forms.Form):
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.order_by("name"))
    note = forms.CharField(
        label=_("What is known"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("last seen, phone not answered, vehicle …")}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


class ExposureImportForm(ExposureValuesMixin):
    """A passenger (or guest, attendee …) list: one source case, one shared span and setting, one row per person."""

    source = forms.ModelChoiceField(
        label=_("Source case"), queryset=Case.objects.none(), widget=forms.Select(attrs={"data-tom-select": "1"})
    )
    division = forms.ModelChoiceField(
        label=_("Jurisdiction of people not registered yet"),
        queryset=Division.objects.none(),
        required=False,
        to_field_name="code",
        widget=forms.Select(attrs={"data-tom-select": "1"}),
        help_text=_("Empty: the city (the CDC) or your own jurisdiction; grid workers then locate them."),
    )
    file = forms.FileField(
        label=_("List"),
        help_text=_("xlsx, xls, ods or csv; columns such as 姓名, 证件号码, 手机, 座位."),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPTED_EXTENSIONS)}),
    )

    field_order = ["source", "setting", "start", "end", "proximity", "protection", "evidence", "division", "file"]

    def __init__(
        self, *args: Any, cases: Any = None, divisions: QuerySet[Division] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["setting"].initial = Setting.TRANSPORT
        self.fields["proximity"].initial = Proximity.SAME_ROOM
        self.fields["evidence"].widget.attrs["placeholder"] = _("e.g. G1234 次列车 5 号车厢")
        field: Any = self.fields["source"]
        if cases is not None:
            _case_choices(field, cases)
        if divisions is not None:
            self.fields["division"].queryset = divisions  # type: ignore[attr-defined]
        bootstrap(self)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in ACCEPTED_EXTENSIONS:
            raise ValidationError(_("Accepted formats: %(formats)s.") % {"formats": ", ".join(ACCEPTED_EXTENSIONS)})
        if upload.size > settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024:
            raise ValidationError(_("The file is larger than %(mb)s MB.") % {"mb": settings.IMPORT_MAX_UPLOAD_MB})
        return upload

    def import_values(self) -> dict[str, Any]:
        values = self.exposure_values()
        division = self.cleaned_data.get("division")
        values["division"] = division.code if division is not None else ""
        return values
