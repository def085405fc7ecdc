from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from firstline.accounts.models import Department
from firstline.dispatch.models import TaskPriority, TaskStatus
from firstline.regions.models import Grid


class TaskUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=TaskStatus.choices)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].widget.attrs["class"] = "form-select"
        self.fields["notes"].widget.attrs["class"] = "form-control"


class TaskCreateForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    assignee_grid = forms.ModelChoiceField(label=_("Grid"), queryset=Grid.objects.none(), required=False)
    assignee_department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.all(), required=False
    )
    due_at = forms.DateTimeField(label=_("Due"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    priority = forms.TypedChoiceField(label=_("Priority"), choices=TaskPriority.choices, coerce=int, initial=2)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, grids: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if grids is not None:
            self.fields["assignee_grid"].queryset = grids  # type: ignore[attr-defined]
        for field in self.fields.values():
            field.widget.attrs.setdefault(
                "class", "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("assignee_grid") and not data.get("assignee_department"):
            raise forms.ValidationError(_("Choose a grid or a department to do the task."))
        return data
