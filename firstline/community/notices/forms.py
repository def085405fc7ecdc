"""Forms of the notice and report pages, and of the public report page."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from firstline.community.models import NoticeStatus, ReportKind, ReportStatus
from firstline.community.notices.services import (
    ATTACHMENT_EXTENSIONS,
    CONTACT_MAX,
    DESCRIPTION_MAX,
    PLACE_MAX,
    TITLE_MAX,
    TRIAGE_OUTCOMES,
)
from firstline.core.forms import bootstrap
from firstline.regions.models import Division

_DATE = {"type": "date"}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by the service (by content, not name)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ",".join(ATTACHMENT_EXTENSIONS)}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class NoticeForm(forms.Form):
    division = forms.ModelChoiceField(
        label=_("Published by"),
        queryset=Division.objects.none(),
        to_field_name="code",
        widget=forms.Select(attrs={"data-tom-select": "1"}),
        help_text=_("Everyone in this division and below it sees the notice."),
    )
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_("Plain text; an empty line starts a new paragraph."),
    )
    effective_from = forms.DateField(label=_("Effective from"), widget=forms.DateInput(attrs=_DATE))
    expires_on = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs=_DATE), help_text=_("Leave empty: no end.")
    )
    pinned = forms.BooleanField(label=_("Pinned (shown first)"), required=False)
    attachments = MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_("PDF, images or office documents, up to %(mb)d MB each.")
        % {"mb": settings.NOTICE_ATTACHMENT_MAX_MB},
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, divisions: Any = None, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if divisions is not None:
            self.fields["division"].queryset = divisions  # type: ignore[attr-defined]
        if editing:
            # The publishing division is fixed once the notice exists; attachments are managed on the notice page.
            del self.fields["division"]
            del self.fields["attachments"]
        bootstrap(self)

    def notice_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "body": data["body"],
            "effective_from": data["effective_from"],
            "expires_on": data.get("expires_on"),
            "pinned": bool(data.get("pinned")),
        }


class AttachmentForm(forms.Form):
    attachments = MultipleFileField(label=_("Add files"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class NoticeFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, help_text=_("title or text"))
    when = forms.ChoiceField(
        label=_("In force"),
        required=False,
        choices=[
            ("", _("all")),
            ("current", _("in force now")),
            ("upcoming", _("not yet in force")),
            ("expired", _("ended")),
        ],
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", "—"), *NoticeStatus.choices])
    division = forms.CharField(label=_("Division code"), required=False, max_length=12)
    unread = forms.BooleanField(label=_("Unread only"), required=False)
    pinned = forms.BooleanField(label=_("Pinned only"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)

    def filters(self) -> dict[str, Any]:
        return dict(self.cleaned_data) if self.is_valid() else {}


class ReadersFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("Read"), required=False, choices=[("", _("all")), ("read", _("read")), ("unread", _("not read"))]
    )
    q = forms.CharField(label=_("Search"), required=False, help_text=_("name or account"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)

    def filters(self) -> dict[str, Any]:
        return dict(self.cleaned_data) if self.is_valid() else {}


class ReportFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, help_text=_("text or place"))
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", "—"), *ReportKind.choices])
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", "—"), *ReportStatus.choices])
    division = forms.CharField(label=_("Division code"), required=False, max_length=12)
    since = forms.DateField(label=_("Received from"), required=False, widget=forms.DateInput(attrs=_DATE))
    until = forms.DateField(label=_("Received until"), required=False, widget=forms.DateInput(attrs=_DATE))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)

    def filters(self) -> dict[str, Any]:
        return dict(self.cleaned_data) if self.is_valid() else {}


class TriageForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        widget=forms.RadioSelect,
        choices=[(value, label) for value, label in ReportStatus.choices if value in TRIAGE_OUTCOMES],
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    duplicate_of = forms.IntegerField(
        label=_("Duplicate of report no."), required=False, min_value=1, help_text=_("For a duplicate only.")
    )
    department: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Referred to"),
        queryset=None,
        required=False,
        to_field_name="code",
        help_text=_("For a referral only: the department then sees the report and gets a task."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, departments: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments  # type: ignore[attr-defined]
        bootstrap(self)


class AnswerNoticeForm(forms.Form):
    """A new notice refuting the rumour (prefilled from the report)."""

    division = forms.ModelChoiceField(label=_("Published by"), queryset=Division.objects.none(), to_field_name="code")
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 8}))
    effective_from = forms.DateField(label=_("Effective from"), widget=forms.DateInput(attrs=_DATE))
    expires_on = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs=_DATE))
    pinned = forms.BooleanField(label=_("Pinned (shown first)"), required=False)
    publish = forms.BooleanField(label=_("Publish now"), required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, divisions: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division"].queryset = divisions  # type: ignore[attr-defined]
        bootstrap(self)


class AnswerLinkForm(forms.Form):
    """Link an existing notice as the answer."""

    notice: forms.ModelChoiceField[Any] = forms.ModelChoiceField(label=_("Notice"), queryset=None)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, notices: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["notice"].queryset = notices  # type: ignore[attr-defined]
        bootstrap(self)


class PublicReportForm(forms.Form):
    """What anyone may report without logging in. The service checks the content (and the photo) again."""

    kind = forms.ChoiceField(label=_("What are you reporting?"), choices=ReportKind.choices, widget=forms.RadioSelect)
    description = forms.CharField(
        label=_("What did you see or hear?"),
        required=False,
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    place = forms.CharField(
        label=_("Where?"), required=False, max_length=PLACE_MAX, help_text=_("Township, community, street, building …")
    )
    occurred_at = forms.DateTimeField(
        label=_("When? (optional)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    photo = forms.FileField(
        label=_("Photo (optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
        help_text=_("Up to %(mb)d MB. Location and camera data are removed from the photo.")
        % {"mb": settings.REPORT_PHOTO_MAX_MB},
    )
    contact = forms.CharField(
        label=_("Your phone or other contact (optional)"),
        required=False,
        max_length=CONTACT_MAX,
        help_text=_("Only the officers handling reports see it, in case they need to ask you something."),
    )
    # A field people never see; bots fill it in.
    website = forms.CharField(label=_("Leave this empty"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)
        for name in ("description", "place", "contact"):
            self.fields[name].widget.attrs["class"] = "form-control form-control-lg"
        self.fields["website"].widget.attrs.update({"tabindex": "-1", "autocomplete": "off"})

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))

    def clean_occurred_at(self) -> datetime.datetime | None:
        value = self.cleaned_data.get("occurred_at")
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value
