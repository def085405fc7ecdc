from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from firstline.accounts.models import Department
from firstline.accounts.roles import Role
from firstline.regions.models import Division, Grid


class OtpForm(forms.Form):
    token = forms.CharField(
        label=_("6-digit code from your authenticator app"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "class": "form-control",
                "autofocus": True,
            }
        ),
    )


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    display_name = forms.CharField(label=_("Display name"), max_length=100, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    password = forms.CharField(label=_("Initial password"), widget=forms.PasswordInput(render_value=False))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control")


class MembershipForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    division = forms.ModelChoiceField(
        label=_("Division"),
        queryset=Division.objects.none(),
        required=False,
        to_field_name="code",
        widget=forms.TextInput,
    )
    grid = forms.ModelChoiceField(
        label=_("Grid"),
        queryset=Grid.objects.none(),
        required=False,
        to_field_name="code",
        widget=forms.TextInput,
    )
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.all(), required=False)

    def __init__(self, *args: Any, actor: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division"].queryset = Division.objects.visible_to(actor)  # type: ignore[attr-defined]
        self.fields["grid"].queryset = Grid.objects.visible_to(actor)  # type: ignore[attr-defined]
        self.fields["division"].help_text = _("Division code, e.g. 632701001")
        self.fields["grid"].help_text = _("Grid code, e.g. 632701001001-G001")
        for field in self.fields.values():
            field.widget.attrs.setdefault(
                "class", "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            )
