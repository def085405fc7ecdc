"""Forms of the quarantine-site pages: sites, rooms, staff, placements and their filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from firstline.core.forms import bootstrap
from firstline.policy.models import MeasureType
from firstline.quarantine.models import CareNeedKind, PlacementKind, PlacementPhase, PlacementStatus, SiteRole
from firstline.quarantine.sites.services import SETTABLE_STATES
from firstline.regions.models import Division

_BOOL_CHOICES = [("", "—"), ("1", _("yes")), ("0", _("no"))]


class FacilityForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=32, help_text=_("Short and unique, e.g. QA01."))
    name = forms.CharField(label=_("Name"), max_length=120)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    division = forms.ModelChoiceField(
        label=_("Division"),
        queryset=Division.objects.none(),
        to_field_name="code",
        widget=forms.Select(attrs={"data-tom-select": "1"}),
        help_text=_("Officers of this division and above see the site and who is in it."),
    )
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    active = forms.BooleanField(label=_("In use"), required=False, initial=True)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, divisions: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if divisions is not None:
            self.fields["division"].queryset = divisions  # type: ignore[attr-defined]
        bootstrap(self)

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {name: data.get(name) for name in ("code", "name", "address", "division", "phone", "active", "note")}


class FacilityFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, help_text=_("name, code or address"))
    division = forms.CharField(label=_("Division code"), required=False, max_length=40)
    active = forms.ChoiceField(label=_("In use"), required=False, choices=_BOOL_CHOICES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        return {key: self.cleaned_data.get(key) or "" for key in ("q", "division", "active")}


class RoomsAddForm(forms.Form):
    floor_label = forms.CharField(
        label=_("Floor"),
        max_length=20,
        help_text=_("e.g. 3F; a new floor is added when the site has none by that name."),
    )
    numbers = forms.CharField(
        label=_("Room numbers"),
        max_length=2000,
        help_text=_("Ranges and single rooms, e.g. 301-320, 325."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    capacity = forms.IntegerField(label=_("Beds per room"), min_value=1, max_value=20, initial=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


class RoomForm(forms.Form):
    number = forms.CharField(label=_("Room"), max_length=20)
    floor_label = forms.CharField(label=_("Floor"), max_length=20)
    capacity = forms.IntegerField(label=_("Beds"), min_value=1, max_value=20)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


class RoomStateForm(forms.Form):
    state = forms.ChoiceField(label=_("State"), choices=[(s.value, s.label) for s in SETTABLE_STATES])
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


class StaffForm(forms.Form):
    user: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("User"),
        queryset=None,
        widget=forms.Select(attrs={"data-tom-select": "1"}),  # type: ignore[arg-type]
    )
    site_role = forms.ChoiceField(label=_("Site role"), choices=SiteRole.choices)

    def __init__(self, *args: Any, users: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users  # type: ignore[attr-defined]
        bootstrap(self)


class PlacementForm(forms.Form):
    """Placing a person: the room comes from the chosen site's free rooms; home needs no room."""

    kind = forms.ChoiceField(
        label=_("Where"), choices=PlacementKind.choices, widget=forms.RadioSelect(attrs={"class": "form-check-input"})
    )
    room = forms.TypedChoiceField(label=_("Room"), required=False, coerce=int, empty_value=None, choices=[])
    responsible: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Responsible worker"),
        queryset=None,  # type: ignore[arg-type]
        required=False,
        help_text=_("Who checks on the person at home every day."),
    )
    seal_number = forms.CharField(label=_("Seal number"), max_length=40, required=False)
    sensor_number = forms.CharField(label=_("Door sensor number"), max_length=40, required=False)
    needs = forms.MultipleChoiceField(
        label=_("Needs"),
        choices=CareNeedKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    needs_detail = forms.CharField(
        label=_("Details of the needs"), max_length=500, required=False, help_text=_("e.g. insulin daily; halal food.")
    )

    def __init__(self, *args: Any, rooms: list[tuple[Any, str]], responsible: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["room"].choices = [("", "—"), *rooms]  # type: ignore[attr-defined]
        self.fields["responsible"].queryset = responsible  # type: ignore[attr-defined]
        bootstrap(self)

    def care_needs(self) -> list[tuple[str, str]]:
        detail = (self.cleaned_data.get("needs_detail") or "").strip()
        return [(kind, detail) for kind in self.cleaned_data.get("needs") or []]


class TransferForm(forms.Form):
    room = forms.TypedChoiceField(label=_("New room"), required=False, coerce=int, empty_value=None, choices=[])
    to_home = forms.BooleanField(
        label=_("Move home instead (the measure now keeps the person at home)"), required=False
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def __init__(self, *args: Any, rooms: list[tuple[Any, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["room"].choices = [("", "—"), *rooms]  # type: ignore[attr-defined]
        bootstrap(self)


class ReleaseForm(forms.Form):
    early_reason = forms.CharField(
        label=_("Reason for an early release"),
        max_length=250,
        required=False,
        help_text=_("Only before the due date, when the policy edition allows it."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


class EndForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=300, help_text=_("e.g. confirmed case, taken to the designated hospital.")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


class CareNeedForm(forms.Form):
    kind = forms.ChoiceField(label=_("Need"), choices=CareNeedKind.choices)
    description = forms.CharField(label=_("Details"), max_length=500, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


class PlacementFilterForm(forms.Form):
    q = forms.CharField(label=_("Person"), required=False, help_text=_("name, ID or phone tail"))
    facility = forms.TypedChoiceField(label=_("Site"), required=False, coerce=int, empty_value=None, choices=[])
    kind = forms.ChoiceField(label=_("Where"), required=False, choices=[("", "—"), *PlacementKind.choices])
    phase = forms.ChoiceField(label=_("Phase"), required=False, choices=[("", "—"), *PlacementPhase.choices])
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[*PlacementStatus.choices, ("all", _("all"))])
    due = forms.DateField(label=_("Release due on"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    due_by = forms.DateField(
        label=_("Due on or before"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    measure = forms.ChoiceField(label=_("Measure"), required=False, choices=[("", "—"), *MeasureType.choices])
    grid = forms.CharField(label=_("Grid or division code"), required=False, max_length=40)
    room = forms.IntegerField(required=False, widget=forms.HiddenInput)

    FIELDS = ("q", "facility", "kind", "phase", "measure", "status", "due", "due_by", "grid", "room")

    def __init__(self, *args: Any, facilities: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["facility"].choices = [("", "—"), *facilities]  # type: ignore[attr-defined]
        bootstrap(self)

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        data = {key: self.cleaned_data.get(key) for key in self.FIELDS}
        # Active placements unless asked otherwise: the list is for today's work.
        raw = self.data.get("status") if "status" in self.data else "active"
        data["status"] = raw if raw in PlacementStatus.values else ("" if raw == "all" else "active")
        return {key: value for key, value in data.items() if value not in (None, "")}


class OccupancyFilterForm(forms.Form):
    division = forms.ChoiceField(label=_("Township"), required=False, choices=[])

    def __init__(self, *args: Any, divisions: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division"].choices = [("", _("all"))] + [  # type: ignore[attr-defined]
            (d.code, d.name) for d in divisions
        ]
        bootstrap(self)
