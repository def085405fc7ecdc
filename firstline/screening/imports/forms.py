from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from firstline.core.spreadsheets import ACCEPTED_EXTENSIONS
from firstline.screening.models import ImportStatus


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Arrival list"),
        help_text=_("xlsx, xls, ods or csv; the first sheet is read. Column names in Chinese or English."),
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ",".join(ACCEPTED_EXTENSIONS)}),
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in ACCEPTED_EXTENSIONS:
            raise forms.ValidationError(
                _("Accepted formats: %(formats)s.") % {"formats": ", ".join(ACCEPTED_EXTENSIONS)}
            )
        if upload.size > settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than %(mb)s MB.") % {"mb": settings.IMPORT_MAX_UPLOAD_MB})
        return upload


class ImportFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("any status")), *ImportStatus.choices],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
