"""Pages of cases, exposures and contacts: the epidemiologist's case page with its window, exposures to decide and
the close and secondary contacts with their measures; the exposure queue; the contact list a grid worker works
from; imported exposure lists. Every write goes through one service and ends on a page that says what it derived.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from uuid import uuid4

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core import audit
from firstline.core.concurrency import StaleVersionError
from firstline.core.exports import Column, audited_export
from firstline.core.links import safe_next
from firstline.core.pii import mask_changes, sees_full_pii, shown
from firstline.core.scoping import require, scope_of
from firstline.people.models import Person
from firstline.policy.explain import calendar_for_measure, explanation_lines
from firstline.regions.models import Division
from firstline.tracing import exposure_import, pages_support, selectors, services
from firstline.tracing.forms import (
    BulkDecideForm,
    CaseCreateForm,
    CaseEditForm,
    CaseFilterForm,
    ContactFilterForm,
    DecideForm,
    ExposureCreateForm,
    ExposureFilterForm,
    ExposureImportForm,
    IsolateForm,
    LocateForm,
    add_service_errors,
)
from firstline.tracing.models import ContactStatus, ExposureOrigin

PAGE_SIZE = 50
DERIVATION_SESSION_KEY = "tracing.derivation"
IMPORT_SESSION_KEY = "tracing.import"
IMPORT_FOLDER = "tracing-imports"
IMPORTS_KEPT = 5
CASE_EXPOSURES_SHOWN = 200


# -- helpers ----------------------------------------------------------------------------------------------------


def _page(request: HttpRequest, items: Any) -> Any:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _export(request: HttpRequest, rows: Iterable[Any], columns: list[Column], *, basename: str, note: str) -> Any:
    return audited_export(
        request, rows=rows, columns=columns, basename=basename, note=note, permission=Perm.PERSON_EXPORT
    )


def _remember(request: HttpRequest, derivation: services.Derivation, **extra: Any) -> None:
    """Keep what a write derived for the page it redirects to (shown once)."""
    request.session[DERIVATION_SESSION_KEY] = pages_support.derivation_payload(derivation, **extra)


def _recall(request: HttpRequest) -> dict[str, Any] | None:
    return pages_support.derivation_report(request.user, request.session.pop(DERIVATION_SESSION_KEY, None))


def _divisions(request: HttpRequest) -> Any:
    return Division.objects.visible_to(request.user).exclude(level__in=("province", "prefecture")).order_by("code")


def _measure_context(measure: Any) -> dict[str, Any]:
    return {
        "measure": measure,
        "explanation": explanation_lines(measure.explanation if measure else None),
        "calendar": calendar_for_measure(measure, today=timezone.localdate()) if measure else [],
    }


def _when(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _filters_note(filters: dict[str, Any], full: bool) -> str:
    return f"filters={ {k: str(v) for k, v in filters.items()} } full_pii={full}"


# -- cases ------------------------------------------------------------------------------------------------------


def _case_columns(full: bool) -> list[Column]:
    return [
        (_("Report date"), lambda c: c.report_date),
        (_("Name"), lambda c: c.person.name),
        (_("ID number"), lambda c: shown(c.person.id_number, "id_number", full=full)),
        (_("Phone"), lambda c: shown(c.person.phone, "phone", full=full)),
        (_("Classification"), lambda c: c.get_classification_display()),
        (_("Symptom onset"), lambda c: c.onset_date),
        (_("Sampling date"), lambda c: c.sampling_date),
        (_("Last negative test"), lambda c: c.last_negative_date),
        (_("Infectious from"), lambda c: c.infectious_from),
        (_("Infectious until"), lambda c: c.infectious_until),
        (_("Isolated on"), lambda c: c.isolated_on),
        (_("Found by"), lambda c: c.get_found_by_display()),
        (_("Isolation place"), lambda c: c.isolation_place),
        (_("Outcome"), lambda c: c.get_outcome_display()),
        (_("Active close contacts"), lambda c: c.active_close),
        (_("Jurisdiction"), lambda c: c.path),
    ]


@login_required
def case_list(request: HttpRequest) -> HttpResponseBase:
    require(request.user, Perm.PERSON_VIEW)
    form = CaseFilterForm(request.GET)
    filters = form.filters()
    cases = pages_support.case_list(user=request.user, filters=filters)
    if request.GET.get("export"):
        full = sees_full_pii(request.user)
        rows = pages_support.with_contact_counts(cases.iterator(chunk_size=1000))
        return _export(request, rows, _case_columns(full), basename="cases", note=_filters_note(filters, full))
    page = _page(request, cases)
    page.object_list = list(pages_support.with_contact_counts(page.object_list))
    scope = scope_of(request.user)
    context = {
        "form": form,
        "page_obj": page,
        "nav_active": "cases",
        "can_export": scope.has(Perm.PERSON_EXPORT),
        "can_edit": scope.has(Perm.TRACE_EDIT),
        "derivation": _recall(request),
    }
    return render(request, "tracing/case_list.html", context)


@login_required
def case_create(request: HttpRequest) -> HttpResponse:
    """Report a case for a registered person (``?person=``) or one found or registered by ID number."""
    require(request.user, Perm.TRACE_EDIT)
    chosen = _prefill_person(request, request.POST.get("person") or request.GET.get("person"))
    form = CaseCreateForm(
        request.POST or None,
        initial={"person": chosen.pk if chosen else None},
        divisions=_divisions(request),
        lookup_url=reverse("screening:person_lookup"),
    )
    if request.method == "POST" and form.is_valid():
        try:
            result = services.case_create(
                actor=request_user(request),
                values=form.case_values(),
                person=form.cleaned_data.get("person") or None,
                person_data=form.person_data(),
            )
        except ValidationError as error:
            add_service_errors(form, error, aliases={"person": "id_number"})
        else:
            _remember(request, result.derivation, exposures_found=result.exposures_found)
            messages.success(
                request,
                _("Reported %(classification)s: %(name)s.")
                % {"classification": result.case.get_classification_display(), "name": result.case.person.name},
            )
            return redirect("tracing:case_detail", pk=result.case.pk)
    return render(
        request, "tracing/case_form.html", {"form": form, "chosen": chosen, "creating": True, "nav_active": "cases"}
    )


def _prefill_person(request: HttpRequest, pk: Any) -> Person | None:
    """A person named by id in the link or form, if the user may name them (the CDC: anyone)."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        return None
    found = Person.objects.visible_to(request.user).filter(pk=key).first()
    if found is None and scope_of(request.user).has(Perm.TRACE_ANY_SCOPE):
        found = Person.objects.filter(pk=key).first()
    return found


@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.PERSON_VIEW)
    case = selectors.case_get_for_user(request.user, pk)
    full = sees_full_pii(request.user)
    tab = request.GET.get("tab", "overview")
    context: dict[str, Any] = {
        "case": case,
        "tab": tab,
        "nav_active": "cases",
        "full_pii": full,
        "can_edit": scope_of(request.user).has(Perm.TRACE_EDIT),
    }
    if tab == "history":
        context["events"] = audit.history_rows(case, full_pii=full)
        return render(request, "tracing/case_detail.html", context)
    exposures = list(pages_support.case_exposures(request.user, case)[: CASE_EXPOSURES_SHOWN + 1])
    contacts = selectors.case_contacts(request.user, case, hops=2)
    context.update(
        derivation=_recall(request),
        window_lines=pages_support.window_lines(case),
        cluster=pages_support.cluster_link(case),
        exposures=exposures[:CASE_EXPOSURES_SHOWN],
        more_exposures=len(exposures) > CASE_EXPOSURES_SHOWN,
        awaiting=pages_support.awaiting_by_origin(request.user, case),
        origins=ExposureOrigin,
        exposed_to=list(pages_support.exposures_of_case_person(request.user, case)[:20]),
        close=pages_support.contact_rows(contacts["close"]),
        secondary=pages_support.contact_rows(contacts["secondary"]),
        outside_scope=contacts["outside_scope"],
    )
    return render(request, "tracing/case_detail.html", context)


@login_required
def case_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change dates or classification: contacts are re-derived and the changes shown on the case page."""
    require(request.user, Perm.TRACE_EDIT)
    case = selectors.case_get_for_user(request.user, pk)
    form = CaseEditForm(request.POST or None, initial=CaseEditForm.initial_for(case))
    stale: StaleVersionError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            result = services.case_update(
                actor=request_user(request),
                case=case,
                expected_version=form.cleaned_data["version"],
                values=form.case_values(),
            )
        except StaleVersionError as error:
            stale = error
            form.add_error(
                None,
                _(
                    "Someone else changed this case since you opened the form. Review their changes below, "
                    "then edit again."
                ),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            _remember(request, result.derivation, exposures_found=result.exposures_found)
            messages.success(request, _("Saved. The contacts were derived again."))
            return redirect("tracing:case_detail", pk=case.pk)
    full = sees_full_pii(request.user)
    stale_changes = (
        [{**c, "changes": mask_changes(c["changes"], full=full)} for c in stale.changes_since] if stale else []
    )
    if stale is not None:
        # Let the editor save again over what they have now seen.
        data = request.POST.copy()
        data["version"] = str(stale.current)
        form.data = data
    return render(
        request,
        "tracing/case_form.html",
        {"form": form, "case": case, "stale_changes": stale_changes, "nav_active": "cases"},
    )


@login_required
@require_POST
def case_copresence(request: HttpRequest, pk: int) -> HttpResponse:
    """Search the venue check-ins for the case again (new check-ins may have arrived since it was reported)."""
    require(request.user, Perm.TRACE_EDIT)
    case = selectors.case_get_for_user(request.user, pk)
    run = services.copresence_run(actor=request_user(request), cases=[case])
    _remember(request, run.derivation, exposures_found=run.exposures)
    messages.success(request, _("Co-presence searched again: %(n)s new exposures.") % {"n": run.exposures})
    return redirect("tracing:case_detail", pk=case.pk)


@login_required
@require_POST
def case_confirm_all(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm at once every exposure of one origin (co-presence, imported …) the case caused that still waits."""
    require(request.user, Perm.TRACE_EDIT)
    case = selectors.case_get_for_user(request.user, pk)
    origin = request.POST.get("origin", "")
    if origin not in ExposureOrigin.values:
        return HttpResponseBadRequest(_("Unknown origin."))
    exposures = list(
        selectors.case_exposures(request.user, case).filter(origin=origin, status__in=pages_support.AWAITING_STATUSES)
    )
    try:
        derivation = services.exposures_decide(actor=request_user(request), exposures=exposures, accept=True)
    except StaleVersionError:
        messages.error(request, _("Someone else decided some of these exposures meanwhile. Please look again."))
    else:
        _remember(request, derivation)
        messages.success(request, _("Confirmed %(n)s exposures.") % {"n": len(exposures)})
    return redirect("tracing:case_detail", pk=case.pk)


# -- exposures --------------------------------------------------------------------------------------------------


def _exposure_columns(full: bool) -> list[Column]:
    return [
        (_("From"), lambda e: _when(e.start)),
        (_("Until"), lambda e: _when(e.end)),
        (_("Source"), lambda e: e.source.name),
        (_("Source ID number"), lambda e: shown(e.source.id_number, "id_number", full=full)),
        (_("Exposed person"), lambda e: e.exposed.name),
        (_("ID number"), lambda e: shown(e.exposed.id_number, "id_number", full=full)),
        (_("Phone"), lambda e: shown(e.exposed.phone, "phone", full=full)),
        (_("Setting"), lambda e: e.get_setting_display()),
        (_("Proximity"), lambda e: e.get_proximity_display()),
        (_("Protection"), lambda e: e.get_protection_display()),
        (_("Venue"), lambda e: e.venue.name if e.venue else ""),
        (_("Overlap (minutes)"), lambda e: e.overlap_minutes),
        (_("Found by"), lambda e: e.get_origin_display()),
        (_("Status"), lambda e: e.get_status_display()),
        (_("Reason"), lambda e: e.decision_note),
        (_("Evidence"), lambda e: e.evidence),
        (_("Jurisdiction"), lambda e: e.path),
    ]


@login_required
def exposure_list(request: HttpRequest) -> HttpResponseBase:
    """The epidemiologist's queue: by default the exposures that wait for a decision."""
    require(request.user, Perm.PERSON_VIEW)
    form = ExposureFilterForm(request.GET)
    filters = form.filters()
    exposures = pages_support.exposure_list(user=request.user, filters=filters)
    if request.GET.get("export"):
        full = sees_full_pii(request.user)
        rows = exposures.iterator(chunk_size=2000)
        return _export(request, rows, _exposure_columns(full), basename="exposures", note=_filters_note(filters, full))
    scope = scope_of(request.user)
    context = {
        "form": form,
        "page_obj": _page(request, exposures),
        "nav_active": "exposures",
        "can_export": scope.has(Perm.PERSON_EXPORT),
        "can_edit": scope.has(Perm.TRACE_EDIT),
        "derivation": _recall(request),
    }
    return render(request, "tracing/exposure_list.html", context)


@login_required
def exposure_create(request: HttpRequest) -> HttpResponse:
    """Record that a source (``?source=`` person, or an open case) exposed a person found or registered by ID."""
    require(request.user, Perm.TRACE_EDIT)
    source = _prefill_person(request, request.POST.get("source") or request.GET.get("source"))
    exposed = _prefill_person(request, request.POST.get("person") or request.GET.get("exposed"))
    initial = {
        "source": source.pk if source else None,
        "person": exposed.pk if exposed else None,
        "setting": request.GET.get("setting") or "other",
    }
    form = ExposureCreateForm(
        request.POST or None,
        initial=initial,
        cases=None if source else pages_support.open_cases_for_form(request.user),
        divisions=_divisions(request),
        lookup_url=reverse("screening:person_lookup"),
    )
    if request.method == "POST" and form.is_valid():
        actor = request_user(request)
        try:
            with transaction.atomic():
                # A person met for the first time is registered with the exposure, or not at all.
                person = form.cleaned_data.get("person") or services.resolve_person(
                    actor=actor, person=None, data=form.person_data()
                )
                result = services.exposure_create(
                    actor=actor, source=form.source_person_id(), exposed=person, values=form.exposure_values()
                )
        except ValidationError as error:
            add_service_errors(
                form, error, aliases={"person": "id_number", "exposed": "id_number", "source": "source_case"}
            )
        else:
            _remember(request, result.derivation)
            messages.success(
                request,
                _("Recorded: %(source)s → %(exposed)s.")
                % {"source": result.exposure.source.name, "exposed": result.exposure.exposed.name},
            )
            return redirect("tracing:exposure_detail", pk=result.exposure.pk)
    context = {"form": form, "source": source, "exposed": exposed, "nav_active": "exposures"}
    return render(request, "tracing/exposure_form.html", context)


@login_required
def exposure_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.PERSON_VIEW)
    exposure = selectors.exposure_get_for_user(request.user, pk)
    full = sees_full_pii(request.user)
    tab = request.GET.get("tab", "overview")
    context: dict[str, Any] = {
        "exposure": exposure,
        "tab": tab,
        "nav_active": "exposures",
        "can_edit": scope_of(request.user).has(Perm.TRACE_EDIT),
    }
    if tab == "history":
        context["events"] = audit.history_rows(exposure, full_pii=full)
    else:
        visible = Person.objects.visible_to(request.user).filter(pk=exposure.source_id).exists()
        context.update(
            derivation=_recall(request),
            source_visible=visible,
            source_case=selectors.cases_visible_to(request.user)
            .filter(person_id=exposure.source_id)
            .order_by("-report_date", "-id")
            .first(),
            contacts=list(selectors.contacts_visible_to(request.user).filter(exposures=exposure)),
        )
    return render(request, "tracing/exposure_detail.html", context)


@login_required
@require_POST
def exposure_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm or reject one exposure; a rejection (with its reason) releases what rested only on it."""
    require(request.user, Perm.TRACE_EDIT)
    exposure = selectors.exposure_get_for_user(request.user, pk)
    form = DecideForm(request.POST)
    target = safe_next(request, reverse("tracing:exposure_detail", args=[exposure.pk]))
    if not form.is_valid():
        messages.error(request, _("Choose confirm or reject."))
        return redirect(target)
    try:
        result = services.exposure_decide(
            actor=request_user(request), exposure=exposure, accept=form.accept, note=form.cleaned_data["note"]
        )
    except StaleVersionError:
        messages.error(request, _("Someone else decided this exposure meanwhile. Please look again."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        _remember(request, result.derivation)
        messages.success(
            request,
            (_("Confirmed the exposure of %(name)s.") if form.accept else _("Rejected the exposure of %(name)s."))
            % {"name": exposure.exposed.name},
        )
    return redirect(target)


@login_required
@require_POST
def exposures_decide(request: HttpRequest) -> HttpResponse:
    """Confirm or reject the exposures ticked in the queue, deriving once."""
    require(request.user, Perm.TRACE_EDIT)
    form = BulkDecideForm(request.POST)
    target = safe_next(request, reverse("tracing:exposure_list"))
    if not form.is_valid():
        messages.error(request, _("Tick the exposures, then confirm or reject them."))
        return redirect(target)
    exposures = list(selectors.exposures_visible_to(request.user).filter(pk__in=form.cleaned_data["ids"]))
    try:
        derivation = services.exposures_decide(
            actor=request_user(request), exposures=exposures, accept=form.accept, note=form.cleaned_data["note"]
        )
    except StaleVersionError:
        messages.error(request, _("Someone else decided some of these exposures meanwhile. Please look again."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        _remember(request, derivation)
        messages.success(
            request,
            (_("Confirmed %(n)s exposures.") if form.accept else _("Rejected %(n)s exposures."))
            % {"n": len(exposures)},
        )
    return redirect(target)


# -- imported lists ---------------------------------------------------------------------------------------------


@login_required
def exposure_import_page(request: HttpRequest) -> HttpResponse:
    """Upload a list → dry run (every row, every error) → import all of it in one transaction."""
    require(request.user, Perm.TRACE_EDIT)
    if request.method == "POST" and request.POST.get("action") == "commit":
        return _import_commit(request)
    cases = pages_support.open_cases_for_form(request.user)
    form = ExposureImportForm(
        request.POST or None,
        request.FILES or None,
        initial={"source": request.GET.get("source") or None},
        cases=cases,
        divisions=_divisions(request),
    )
    report = None
    token = ""
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        values = form.import_values()
        try:
            report = exposure_import.exposures_import(
                actor=request_user(request),
                source=form.cleaned_data["source"],
                file=upload,
                values=values,
                dry_run=True,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if not report.has_errors and report.importable:
                token = _import_keep(request, upload, form.cleaned_data["source"].pk, values)
    return _import_render(request, form=form, report=report, token=token)


def _import_render(request: HttpRequest, *, form: Any, report: Any, token: str) -> HttpResponse:
    statuses = _row_statuses()
    count_rows = [(status, label, report.count(status)) for status, label in statuses.items()] if report else []
    context = {
        "form": form,
        "report": report,
        "token": token,
        "statuses": statuses,
        "count_rows": count_rows,
        "nav_active": "exposures",
    }
    return render(request, "tracing/exposure_import.html", context)


def _row_statuses() -> dict[str, str]:
    return {
        exposure_import.RowStatus.EXISTING: _("registered: exposure to record"),
        exposure_import.RowStatus.NEW: _("new person: to register"),
        exposure_import.RowStatus.ALREADY: _("imported before: nothing to add"),
        exposure_import.RowStatus.DUPLICATE: _("listed twice"),
        exposure_import.RowStatus.ERROR: _("error"),
    }


def _import_keep(request: HttpRequest, upload: Any, case_id: int, values: dict[str, Any]) -> str:
    """Keep the checked file and its values until the uploader confirms (shared storage: any web node)."""
    token = uuid4().hex
    suffix = Path(upload.name).suffix.lower()
    stored = default_storage.save(f"{IMPORT_FOLDER}/{token}{suffix}", upload)
    kept = dict(request.session.get(IMPORT_SESSION_KEY) or {})
    # Checked but never imported lists: keep the latest few per session, delete the rest.
    while len(kept) >= IMPORTS_KEPT:
        oldest = next(iter(kept))
        default_storage.delete(kept.pop(oldest)["file"])
    kept[token] = {
        "file": stored,
        "name": Path(upload.name).name,
        "case": case_id,
        "values": {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()},
    }
    request.session[IMPORT_SESSION_KEY] = kept
    return token


def _import_commit(request: HttpRequest) -> HttpResponse:
    kept = dict(request.session.get(IMPORT_SESSION_KEY) or {})
    item = kept.get(request.POST.get("token", ""))
    if item is None:
        messages.error(request, _("This check has expired: upload the list again."))
        return redirect("tracing:exposure_import")
    case = selectors.case_get_for_user(request.user, item["case"])
    with default_storage.open(item["file"], "rb") as handle:
        report = exposure_import.exposures_import(
            actor=request_user(request),
            source=case,
            file=handle,
            filename=item["name"],
            values=item["values"],
            dry_run=False,
        )
    if not report.committed:
        return _import_render(request, form=None, report=report, token="")
    default_storage.delete(item["file"])
    kept.pop(request.POST.get("token", ""), None)
    request.session[IMPORT_SESSION_KEY] = kept
    _remember(request, report.derivation, exposures_found=report.exposures_created)
    messages.success(
        request,
        _("Imported %(file)s: %(exposures)s exposures, %(persons)s people registered.")
        % {"file": report.filename, "exposures": report.exposures_created, "persons": report.persons_created},
    )
    return redirect("tracing:case_detail", pk=case.pk)


# -- contacts ---------------------------------------------------------------------------------------------------


def _contact_columns(full: bool) -> list[Column]:
    return [
        (_("Name"), lambda c: c.person.name),
        (_("ID number"), lambda c: shown(c.person.id_number, "id_number", full=full)),
        (_("Phone"), lambda c: shown(c.person.phone, "phone", full=full)),
        (_("Kind"), lambda c: c.get_kind_display()),
        (_("Status"), lambda c: c.get_status_display()),
        (_("First exposure"), lambda c: _when(c.first_exposure_at)),
        (_("Last exposure"), lambda c: _when(c.last_exposure_at)),
        (_("Isolated at"), lambda c: _when(c.isolated_at)),
        (_("Index case"), lambda c: c.index_case.person.name if c.index_case else ""),
        (_("Measure"), lambda c: c.measure.get_measure_type_display() if c.measure else ""),
        (_("Start"), lambda c: c.measure.start if c.measure else ""),
        (_("End"), lambda c: c.measure.end if c.measure else ""),
        (_("Release reason"), lambda c: c.release_reason),
        (_("Jurisdiction"), lambda c: c.path),
    ]


@login_required
def contact_list(request: HttpRequest) -> HttpResponseBase:
    require(request.user, Perm.PERSON_VIEW)
    form = ContactFilterForm(request.GET)
    filters = form.filters()
    contacts = pages_support.contact_list(user=request.user, filters=filters)
    if request.GET.get("export"):
        full = sees_full_pii(request.user)
        rows = contacts.iterator(chunk_size=2000)
        return _export(request, rows, _contact_columns(full), basename="contacts", note=_filters_note(filters, full))
    context = {
        "form": form,
        "page_obj": _page(request, contacts),
        "nav_active": "contacts",
        "can_export": scope_of(request.user).has(Perm.PERSON_EXPORT),
    }
    return render(request, "tracing/contact_list.html", context)


@login_required
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.PERSON_VIEW)
    contact = selectors.contact_get_for_user(request.user, pk)
    full = sees_full_pii(request.user)
    tab = request.GET.get("tab", "overview")
    scope = scope_of(request.user)
    context: dict[str, Any] = {
        "contact": contact,
        "tab": tab,
        "nav_active": "contacts",
        "can_isolate": scope.has(Perm.TRACE_EDIT) or (scope.has(Perm.TASK_CHANGE) and scope.covers_path(contact.path)),
        "can_locate": scope.has(Perm.TASK_ADD) and contact.status == ContactStatus.ACTIVE,
        "can_edit": scope.has(Perm.TRACE_EDIT),
    }
    if tab == "history":
        context["events"] = audit.history_rows(contact, full_pii=full)
    else:
        context.update(
            derivation=_recall(request),
            evidence=pages_support.contact_evidence(request.user, contact),
            index_case=pages_support.visible_case(request.user, contact.index_case_id),
            tasks=list(pages_support.contact_tasks(request.user, contact)),
            isolate_form=IsolateForm(initial={"isolated_at": timezone.localtime().replace(second=0, microsecond=0)}),
            locate_form=LocateForm(),
            **_measure_context(contact.measure),
        )
    return render(request, "tracing/contact_detail.html", context)


@login_required
@require_POST
def contact_isolate(request: HttpRequest, pk: int) -> HttpResponse:
    """When the contact was isolated: their later exposures of others make no secondary contacts."""
    contact = selectors.contact_get_for_user(request.user, pk)
    form = IsolateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the date and time of isolation."))
        return redirect("tracing:contact_detail", pk=contact.pk)
    try:
        derivation = services.contact_isolate(
            actor=request_user(request), contact=contact, at=form.cleaned_data["isolated_at"]
        )
    except StaleVersionError:
        messages.error(request, _("Someone else changed this contact meanwhile. Please look again."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        _remember(request, derivation)
        messages.success(request, _("Isolation recorded for %(name)s.") % {"name": contact.person.name})
    return redirect("tracing:contact_detail", pk=contact.pk)


@login_required
@require_POST
def contact_locate(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask a department (the police, usually) to help find a contact who cannot be reached."""
    require(request.user, Perm.TASK_ADD)
    contact = selectors.contact_get_for_user(request.user, pk)
    form = LocateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a department."))
        return redirect("tracing:contact_detail", pk=contact.pk)
    department = form.cleaned_data["department"]
    try:
        services.contact_request_locate(
            actor=request_user(request), contact=contact, department_id=department.pk, note=form.cleaned_data["note"]
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("Asked %(department)s to help locate %(name)s.")
            % {"department": department.name, "name": contact.person.name},
        )
    return redirect("tracing:contact_detail", pk=contact.pk)


urlpatterns = [
    path("cases/", case_list, name="case_list"),
    path("cases/new/", case_create, name="case_create"),
    path("cases/<int:pk>/", case_detail, name="case_detail"),
    path("cases/<int:pk>/edit/", case_edit, name="case_edit"),
    path("cases/<int:pk>/copresence/", case_copresence, name="case_copresence"),
    path("cases/<int:pk>/confirm-all/", case_confirm_all, name="case_confirm_all"),
    path("exposures/", exposure_list, name="exposure_list"),
    path("exposures/new/", exposure_create, name="exposure_create"),
    path("exposures/import/", exposure_import_page, name="exposure_import"),
    path("exposures/decide/", exposures_decide, name="exposures_decide"),
    path("exposures/<int:pk>/", exposure_detail, name="exposure_detail"),
    path("exposures/<int:pk>/decide/", exposure_decide, name="exposure_decide"),
    path("contacts/", contact_list, name="contact_list"),
    path("contacts/<int:pk>/", contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/isolate/", contact_isolate, name="contact_isolate"),
    path("contacts/<int:pk>/locate/", contact_locate, name="contact_locate"),
]
