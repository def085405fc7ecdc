"""Forms of frontline care: filing (fast on a phone), the handling steps, the queue and registry filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from firstline.accounts.models import User
from firstline.community.care import selectors
from firstline.community.care.services import DESCRIPTION_MAX, NOTE_MAX
from firstline.community.models import (
    CareCategory,
    CareSource,
    CareStatus,
    CareUrgency,
    FrontlinePost,
    FrontlineWorker,
)
from firstline.core import identity
from firstline.core.forms import bootstrap
from firstline.people.models import Person
from firstline.regions.models import Household

SMALL_SELECT = forms.Select(attrs={"class": "form-select form-select-sm"})
DATE_INPUT = forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}, format="%Y-%m-%d")


class _Styled(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


# -- filters ------------------------------------------------------------------------------------------------------


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("active", _("waiting (open, assigned, awaiting confirmation)")),
            ("overdue", _("overdue")),
            ("all", _("all")),
            *CareStatus.choices,
        ],
        widget=SMALL_SELECT,
    )
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("all")), *CareCategory.choices], widget=SMALL_SELECT
    )
    urgency = forms.TypedChoiceField(
        label=_("Urgency"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("all")), *CareUrgency.choices],
        widget=SMALL_SELECT,
    )
    division = forms.ChoiceField(label=_("Division"), required=False, widget=SMALL_SELECT)
    source = forms.ChoiceField(
        label=_("From"), required=False, choices=[("", _("all")), *CareSource.choices], widget=SMALL_SELECT
    )

    def __init__(self, *args: Any, divisions: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division"].choices = [("", _("all")), *(divisions or [])]  # type: ignore[attr-defined]

    def filters(self) -> selectors.QueueFilters:
        if not self.is_valid():
            return selectors.QueueFilters()
        data = self.cleaned_data
        return selectors.QueueFilters(
            status=data.get("status") or "active",
            category=data.get("category") or "",
            urgency=data.get("urgency"),
            division=data.get("division") or "",
            source=data.get("source") or "",
        )


class SummaryFilterForm(forms.Form):
    filed_from = forms.DateField(label=_("Filed from"), required=False, widget=DATE_INPUT)
    filed_to = forms.DateField(label=_("Filed until"), required=False, widget=DATE_INPUT)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("filed_from"), data.get("filed_to")
        if start and end and end < start:
            self.add_error("filed_to", _("The end is before the start."))
        return data


class WorkerFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs={"class": "form-control form-control-sm", "placeholder": _("name, pinyin, ID tail, post")}
        ),
    )
    post_kind = forms.ChoiceField(
        label=_("Post"), required=False, choices=[("", _("all")), *FrontlinePost.choices], widget=SMALL_SELECT
    )
    division = forms.ChoiceField(label=_("Division"), required=False, widget=SMALL_SELECT)
    active = forms.ChoiceField(
        label=_("On the front line"),
        required=False,
        choices=[("", _("all")), ("yes", _("yes")), ("no", _("no longer"))],
        widget=SMALL_SELECT,
    )

    def __init__(self, *args: Any, divisions: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division"].choices = [("", _("all")), *(divisions or [])]  # type: ignore[attr-defined]

    def filters(self) -> selectors.WorkerFilters:
        if not self.is_valid():
            return selectors.WorkerFilters()
        data = self.cleaned_data
        active = {"yes": True, "no": False}.get(data.get("active") or "")
        return selectors.WorkerFilters(
            query=data.get("q") or "",
            post_kind=data.get("post_kind") or "",
            division=data.get("division") or "",
            active=active,
        )


# -- frontline registry -------------------------------------------------------------------------------------------


class AccountField(forms.CharField):
    """An account given by its exact login name (any active account: police officers have no division)."""

    def clean(self, value: Any) -> User | None:  # type: ignore[override]
        text = (super().clean(value) or "").strip()
        if not text:
            return None
        account = User.objects.filter(username=text, is_active=True).first()
        if account is None:
            raise ValidationError(_("No active account has this login name."))
        return account


class WorkerForm(_Styled):
    """Flag a person as a frontline worker (``person`` given) or change a worker's post and account."""

    id_number = forms.CharField(
        label=_("ID number"),
        max_length=40,
        required=False,
        help_text=_("The person must be registered in your jurisdiction."),
    )
    post_kind = forms.ChoiceField(label=_("Post"), choices=FrontlinePost.choices)
    post = forms.CharField(
        label=_("Where / what"), max_length=120, required=False, help_text=_("e.g. 格萨尔酒店隔离点, 214国道卡点")
    )
    organisation = forms.CharField(label=_("Organisation"), max_length=120, required=False)
    since = forms.DateField(label=_("Since"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    active = forms.BooleanField(label=_("On the front line now"), required=False, initial=True)
    account = AccountField(
        label=_("Account (login name)"),
        max_length=150,
        required=False,
        help_text=_("Links their account: they can then file and follow their own requests."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, user: Any, person: Person | None = None, editing: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.user = user
        self.person = person
        self.editing = editing
        if editing or person is not None:
            del self.fields["id_number"]

    def clean_id_number(self) -> Person | None:
        raw = (self.cleaned_data.get("id_number") or "").strip()
        if not raw:
            raise ValidationError(_("Give the person's ID number."))
        try:
            id_type, number = identity.normalize_id_number(raw, identity.RESIDENT_ID)
        except identity.IdentityError:
            id_type, number = "", identity.clean_raw(raw).upper()
        people = Person.objects.visible_to(self.user).active().filter(id_number=number)
        if id_type:
            people = people.filter(id_type=id_type)
        found = people.first()
        if found is None:
            raise ValidationError(_("No person with this ID number in your jurisdiction: register them first."))
        return found

    def chosen_person(self) -> Person | None:
        return self.person or self.cleaned_data.get("id_number")

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "post_kind": data["post_kind"],
            "post": data.get("post") or "",
            "organisation": data.get("organisation") or "",
            "since": data.get("since"),
            "active": bool(data.get("active")),
            "user": data.get("account"),
        }

    @staticmethod
    def initial_for(worker: FrontlineWorker) -> dict[str, Any]:
        return {
            "post_kind": worker.post_kind,
            "post": worker.post,
            "organisation": worker.organisation,
            "since": worker.since,
            "active": worker.active,
            "account": worker.user.username if worker.user else "",
            "version": worker.version,
        }


# -- filing -------------------------------------------------------------------------------------------------------


class WorkerChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.person.name} · {obj.get_post_kind_display()}{f' · {obj.post}' if obj.post else ''}"


class CareFileForm(_Styled):
    """One screen: who (oneself by default), what, how urgent, a few words. Big touch targets on a phone."""

    worker = WorkerChoiceField(label=_("For"), queryset=FrontlineWorker.objects.none(), required=False)
    worker_key = forms.CharField(
        label=_("Or a colleague's account name or ID number"),
        max_length=40,
        required=False,
        help_text=_("Exact match; only their name and post are shown."),
    )
    category = forms.ChoiceField(label=_("What is the difficulty?"), choices=CareCategory.choices)
    urgency = forms.TypedChoiceField(
        label=_("How urgent?"),
        coerce=int,
        choices=CareUrgency.choices,
        initial=CareUrgency.NORMAL,
        widget=forms.RadioSelect,
    )
    description = forms.CharField(
        label=_("Describe it"),
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 4, "enterkeyhint": "done"}),
        help_text=_("Who needs what, where and when — e.g. “my mother (78) lives alone and needs her medicine”."),
    )
    household = forms.CharField(
        label=_("Household code"),
        max_length=30,
        required=False,
        help_text=_("Leave empty for the worker's own household."),
    )

    def __init__(self, *args: Any, user: Any, own: FrontlineWorker | None, lookup_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.own = own
        if lookup_url:
            self.fields["worker_key"].widget.attrs.update(
                {
                    "hx-get": lookup_url,
                    "hx-trigger": "input changed delay:500ms",
                    "hx-target": "#worker-match",
                    "autocomplete": "off",
                }
            )
        choices: QuerySet[FrontlineWorker] = selectors.filing_choices(user)
        if own is not None:
            choices = choices.exclude(pk=own.pk)  # "myself" is the empty choice
        self.fields["worker"].queryset = choices  # type: ignore[attr-defined]
        self.fields["worker"].empty_label = (  # type: ignore[attr-defined]
            _("myself") if own is not None else _("— choose, or give an account/ID below —")
        )
        self.fields["urgency"].widget.attrs.pop("class", None)
        self.fields["worker"].widget.attrs["data-tom-select"] = "1"

    def clean_household(self) -> Household | None:
        code = (self.cleaned_data.get("household") or "").strip()
        if not code:
            return None
        found = Household.objects.visible_to(self.user).filter(code=code).first()
        if found is None:
            raise ValidationError(_("No household with this code in your jurisdiction."))
        return found

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("worker") is not None and (data.get("worker_key") or "").strip():
            self.add_error("worker_key", _("Pick the worker from the list or give an account/ID, not both."))
        return data

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "worker": data.get("worker"),
            "worker_key": data.get("worker_key") or "",
            "category": data["category"],
            "urgency": data["urgency"],
            "description": data["description"],
            "household": data.get("household"),
        }


# -- handling steps -----------------------------------------------------------------------------------------------


class _Step(_Styled):
    version = forms.IntegerField(widget=forms.HiddenInput)


class AssignForm(_Step):
    handler = forms.ModelChoiceField(label=_("Handler"), queryset=User.objects.none())
    note = forms.CharField(label=_("Note"), max_length=NOTE_MAX, required=False)

    def __init__(self, *args: Any, candidates: QuerySet[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if candidates is not None:
            self.fields["handler"].queryset = candidates  # type: ignore[attr-defined]
        self.fields["handler"].widget.attrs["data-tom-select"] = "1"


class HandleForm(_Step):
    action_taken = forms.CharField(
        label=_("What was done"), max_length=DESCRIPTION_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )


class ConfirmForm(_Step):
    note = forms.CharField(label=_("Note (optional)"), max_length=NOTE_MAX, required=False)


class CloseForRequesterForm(_Step):
    note = forms.CharField(
        label=_("How did the requester confirm?"), max_length=NOTE_MAX, help_text=_("e.g. by phone at 15:20")
    )


class ReasonForm(_Step):
    reason = forms.CharField(label=_("Reason"), max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 2}))


STEP_FORMS: dict[str, type[_Step]] = {
    "assign": AssignForm,
    "handle": HandleForm,
    "confirm": ConfirmForm,
    "reopen": ReasonForm,
    "cancel": ReasonForm,
}
