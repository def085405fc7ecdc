"""Pages of policy editions (read by everyone signed in, edited with ``policy.edit``) and assigned measures."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core import audit
from firstline.core.concurrency import StaleVersionError
from firstline.core.exports import FORMATS, export_response
from firstline.core.pii import sees_full_pii
from firstline.core.scoping import require, scope_of
from firstline.policy import explain, selectors, services
from firstline.policy.engine import Evidence
from firstline.policy.forms import EditionCopyForm, EditionFilterForm, EditionForm, RuleForm, TryForm
from firstline.policy.models import RISK_TRIGGERS, EditionStatus, PolicyEdition, Trigger

PAGE_SIZE = 50
_LEVEL_OF = {Trigger.RISK_HIGH: "high", Trigger.RISK_MEDIUM: "medium", Trigger.RISK_LOW: "low"}


def _can_edit(request: HttpRequest) -> bool:
    return scope_of(request.user).has(Perm.POLICY_EDIT)


def _errors_into(form: forms.BaseForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, field_messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, field_messages)
    else:
        form.add_error(None, error.messages)


@login_required
def edition_list(request: HttpRequest) -> HttpResponseBase:
    form = EditionFilterForm(request.GET)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    editions = (
        selectors.edition_list(request.user)
        .select_related("based_on")
        .annotate(rule_count=Count("rules"))
        .order_by("-effective_from", "-id")
    )
    if data.get("q"):
        editions = editions.filter(name__icontains=data["q"])
    if data.get("status"):
        editions = editions.filter(status=data["status"])
    today = timezone.localdate()
    in_force_now = PolicyEdition.objects.visible_to(request.user).in_force_on(today)
    on_day = data.get("on")
    in_force_on_day = PolicyEdition.objects.visible_to(request.user).in_force_on(on_day) if on_day else None
    fmt = request.GET.get("export", "")
    if fmt:
        if fmt not in FORMATS:
            return HttpResponseBadRequest(_("Unknown export format: use csv or xlsx."))
        now_id = in_force_now.pk if in_force_now else None
        columns = [
            (_("Edition"), lambda e: e.name),
            (_("In force from"), lambda e: e.effective_from.isoformat()),
            (_("Status"), lambda e: e.get_status_display()),
            (_("In force today"), lambda e: _("yes") if e.pk == now_id else ""),
            (_("Rules"), lambda e: e.rule_count),
            (_("Copied from"), lambda e: e.based_on.name if e.based_on else ""),
            (_("Version"), lambda e: e.version),
        ]
        return export_response(
            rows=editions.iterator(chunk_size=500), columns=columns, basename="policy-editions", fmt=fmt
        )
    page = Paginator(editions, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "policy/list.html",
        {
            "form": form,
            "page_obj": page,
            "today": today,
            "in_force_now": in_force_now,
            "on_day": on_day,
            "in_force_on_day": in_force_on_day,
            "can_edit": _can_edit(request),
            "nav_active": "policy",
        },
    )


def _detail_context(request: HttpRequest, edition: PolicyEdition) -> dict[str, Any]:
    rules = selectors.edition_rules(edition)
    present = {rule.trigger for rule in rules}
    later = (
        PolicyEdition.objects.published()
        .filter(effective_from__gt=edition.effective_from)
        .order_by("effective_from", "id")
        .first()
    )
    today = timezone.localdate()
    return {
        "edition": edition,
        "rules": rules,
        "missing_triggers": [(t.value, t.label) for t in Trigger if t.value not in present],
        "superseded_by": later if edition.status == EditionStatus.PUBLISHED else None,
        "in_force_now": PolicyEdition.objects.in_force_on(today) == edition,
        "is_draft": edition.status == EditionStatus.DRAFT,
        "can_edit": _can_edit(request),
        "try_form": TryForm(initial={"today": today}),
        "nav_active": "policy",
    }


@login_required
def edition_detail(request: HttpRequest, pk: int) -> HttpResponse:
    edition = selectors.edition_get_for_user(request.user, pk)
    context = _detail_context(request, edition)
    context["tab"] = request.GET.get("tab", "rules")
    if context["tab"] == "history":
        context["events"] = audit.history_rows(edition, full_pii=sees_full_pii(request.user))
    return render(request, "policy/detail.html", context)


@login_required
def edition_try(request: HttpRequest, pk: int) -> HttpResponse:
    """Run this edition alone (drafts too) on evidence typed into the form; nothing is stored."""
    edition = selectors.edition_get_for_user(request.user, pk)
    form = TryForm(request.GET or None)
    result: dict[str, Any] | None = None
    if form.is_valid():
        data = form.cleaned_data
        trigger, place = data["trigger"], data["place"]
        is_risk = trigger in RISK_TRIGGERS
        evidence = Evidence(
            trigger=trigger,
            first_day=data["first_day"],
            last_day=data["last_day"],
            area_id=0 if is_risk and place else None,
            area_place=place if is_risk else "",
            level=_LEVEL_OF.get(trigger, ""),
            source_label="" if is_risk else place,
        )
        today = data["today"] or timezone.localdate()
        decision = selectors.edition_try(
            edition,
            evidence=[evidence],
            arrival_date=data["arrival_date"],
            today=today,
            release_certificate=data["release_certificate"],
        )
        detail = decision.explanation()
        result = {
            "decision": decision,
            "measure_label": explain.measure_label(decision.measure),
            "follow_on_label": explain.measure_label(decision.follow_on) if decision.follow_on else "",
            "lines": explain.explanation_lines(detail),
            "calendar": explain.calendar_for_explanation(detail),
        }
    context = {"try_form": form, "result": result, "edition": edition}
    if request.headers.get("HX-Request"):
        return render(request, "policy/_try_result.html", context)
    full = _detail_context(request, edition)
    full.update(context, tab="rules")
    return render(request, "policy/detail.html", full)


@login_required
def edition_copy(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.POLICY_EDIT)
    edition = selectors.edition_get_for_user(request.user, pk)
    initial = {"name": (_("%(name)s (copy)") % {"name": edition.name})[:120], "effective_from": timezone.localdate()}
    form = EditionCopyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            copy = services.edition_copy(actor=request_user(request), edition=edition, **form.cleaned_data)
        except ValidationError as error:
            _errors_into(form, error)
        else:
            messages.success(request, _("Draft copy created: change its rules, then publish it."))
            return redirect("policy:detail", pk=copy.pk)
    return render(request, "policy/copy.html", {"form": form, "edition": edition, "nav_active": "policy"})


@login_required
def edition_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.POLICY_EDIT)
    edition = selectors.edition_get_for_user(request.user, pk)
    form = EditionForm(request.POST or None, instance=PolicyEdition.objects.get(pk=edition.pk))
    stale: StaleVersionError | None = None
    if request.method == "POST" and form.is_valid():
        changed = {name: form.cleaned_data[name] for name in form.changed_data if name != "version"}
        try:
            services.edition_update(
                actor=request_user(request),
                edition=edition,
                expected_version=form.cleaned_data["version"] or 0,
                data=changed,
            )
        except StaleVersionError as error:
            stale = error
            form.add_error(None, _("Someone else changed this edition since you opened the form: edit again."))
        except ValidationError as error:
            _errors_into(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("policy:detail", pk=edition.pk)
    return render(
        request,
        "policy/edit.html",
        {"form": form, "edition": edition, "stale": stale, "nav_active": "policy"},
    )


def _trigger_or_404(trigger: str) -> Trigger:
    try:
        return Trigger(trigger)
    except ValueError as exc:
        raise Http404 from exc


@login_required
def rule_edit(request: HttpRequest, pk: int, trigger: str) -> HttpResponse:
    """Create or change the rule for one trigger (the edition has at most one per trigger)."""
    require(request.user, Perm.POLICY_EDIT)
    edition = selectors.edition_get_for_user(request.user, pk)
    kind = _trigger_or_404(trigger)
    rule = edition.rules.filter(trigger=kind).first()
    form = RuleForm(request.POST or None, initial=RuleForm.initial_for(rule, kind))
    if request.method == "POST" and form.is_valid():
        try:
            services.rule_save(actor=request_user(request), edition=edition, trigger=kind, data=form.cleaned_data)
        except ValidationError as error:
            _errors_into(form, error)
        else:
            messages.success(request, _("Rule saved."))
            return redirect("policy:detail", pk=edition.pk)
    return render(
        request,
        "policy/rule_form.html",
        {
            "form": form,
            "edition": edition,
            "rule": rule,
            "trigger_label": kind.label,
            "is_risk": kind in RISK_TRIGGERS,
            "published": edition.status == EditionStatus.PUBLISHED,
            "nav_active": "policy",
        },
    )


@login_required
@require_POST
def rule_delete(request: HttpRequest, pk: int, trigger: str) -> HttpResponse:
    require(request.user, Perm.POLICY_EDIT)
    edition = selectors.edition_get_for_user(request.user, pk)
    kind = _trigger_or_404(trigger)
    try:
        services.rule_delete(actor=request_user(request), edition=edition, trigger=kind)
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    else:
        messages.success(request, _("Rule for “%(trigger)s” deleted.") % {"trigger": kind.label})
    return redirect("policy:detail", pk=edition.pk)


@login_required
@require_POST
def edition_publish(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.POLICY_EDIT)
    edition = selectors.edition_get_for_user(request.user, pk)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        return HttpResponseBadRequest(_("The form did not say which version you published."))
    try:
        services.edition_publish(actor=request_user(request), edition=edition, expected_version=version)
    except StaleVersionError:
        messages.error(request, _("Someone else changed this edition meanwhile: review it and publish again."))
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    else:
        messages.success(
            request,
            _("Published: in force from %(day)s. Arrivals from that day on are being re-evaluated.")
            % {"day": edition.effective_from.isoformat()},
        )
    return redirect("policy:detail", pk=edition.pk)


@login_required
def measure_detail(request: HttpRequest, pk: int) -> HttpResponse:
    measure = selectors.measure_get_for_user(request.user, pk)
    today = timezone.localdate()
    full = sees_full_pii(request.user)
    return render(
        request,
        "policy/measure.html",
        {
            "measure": measure,
            "lines": explain.explanation_lines(measure.explanation),
            "calendar": explain.calendar_for_measure(measure, today=today),
            "next_test": explain.next_test_date(measure, today=today),
            "follow_on_label": explain.measure_label(measure.follow_on_type) if measure.follow_on_type else "",
            "events": audit.history_rows(measure, full_pii=full),
            "nav_active": "people",
        },
    )
