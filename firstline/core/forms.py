"""Form helpers shared by every app."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def bootstrap(form: forms.BaseForm) -> None:
    """Give each widget its Bootstrap class (radio groups are styled in their templates)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple | forms.HiddenInput):
            continue
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


def add_service_errors(form: forms.BaseForm, error: ValidationError, aliases: dict[str, str] | None = None) -> None:
    """Put a service's errors next to their fields (``aliases`` renames service keys to form fields); errors of
    keys the form has no field for go above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    aliases = aliases or {}
    for key, messages in error.message_dict.items():
        name = aliases.get(key, key)
        form.add_error(name if name in form.fields else None, messages)
