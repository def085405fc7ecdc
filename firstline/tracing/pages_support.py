"""Reads the tracing pages need beyond ``selectors``: filtered lists, the derivation report after a write, the
infectious window as sentences, the case's cluster and the person page's tracing section.

Everything starts from the ``*_visible_to`` selectors, so a list or a report never shows a row the reader could
not open.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Case as SqlCase
from django.db.models import Count, IntegerField, Q, QuerySet, Value, When
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from firstline.core.dates import day_start
from firstline.dispatch.models import Task
from firstline.people.models import Person
from firstline.people.selectors import person_search_q
from firstline.policy.explain import explanation_lines, measure_label
from firstline.policy.models import MeasureType
from firstline.tracing import selectors
from firstline.tracing.models import (
    ACTIVE_CLASSIFICATIONS,
    Case,
    ClusterMember,
    Contact,
    Exposure,
    ExposureStatus,
    Setting,
)
from firstline.tracing.services import Derivation

# Statuses that wait for the epidemiologist: not yet counted, or counted but not verified.
AWAITING_STATUSES = (ExposureStatus.CANDIDATE, ExposureStatus.PENDING)
_STATUS_RANK = {
    ExposureStatus.CANDIDATE: 0,
    ExposureStatus.PENDING: 1,
    ExposureStatus.CONFIRMED: 2,
    ExposureStatus.REJECTED: 3,
}


def _person_ids(query: str) -> QuerySet[Any, Any]:
    return Person.objects.filter(person_search_q(query)).values("pk")


# -- lists ----------------------------------------------------------------------------------------------------------


def case_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Case]:
    """Cases the user may see: ``classification``, ``date_from``/``date_to`` (report date), ``division`` (path
    prefix), ``found_by``, ``q`` (name, pinyin, ID or phone tail)."""
    filters = filters or {}
    cases = selectors.cases_visible_to(user)
    if filters.get("classification"):
        cases = cases.filter(classification=filters["classification"])
    if filters.get("date_from"):
        cases = cases.filter(report_date__gte=filters["date_from"])
    if filters.get("date_to"):
        cases = cases.filter(report_date__lte=filters["date_to"])
    if filters.get("division"):
        cases = cases.filter(path__startswith=str(filters["division"]).strip())
    if filters.get("found_by"):
        cases = cases.filter(found_by=filters["found_by"])
    query = str(filters.get("q") or "").strip()
    if query:
        cases = cases.filter(person__in=_person_ids(query))
    return cases.order_by("-report_date", "-id")


def with_contact_counts(cases: Iterable[Case], *, chunk: int = 1000) -> Iterator[Case]:
    """Each case with ``active_close`` set (one counting query per ``chunk`` cases), for pages and exports."""
    batch: list[Case] = []

    def flush() -> Iterator[Case]:
        counts = selectors.contact_counts(batch)
        for case in batch:
            case.active_close = counts.get(case.person_id, 0)  # type: ignore[attr-defined]
            yield case

    for case in cases:
        batch.append(case)
        if len(batch) >= chunk:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


def exposure_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Exposure]:
    """Exposures the user may see: ``status`` ("awaiting" = candidates and pending, "all", or one status),
    ``origin``, ``setting``, ``date_from``/``date_to`` (local day of the start), ``source``/``exposed`` (person
    ids), ``q`` (the exposed or the source person)."""
    filters = filters or {}
    exposures = selectors.exposures_visible_to(user)
    status = filters.get("status") or "all"
    if status == "awaiting":
        exposures = exposures.filter(status__in=AWAITING_STATUSES)
    elif status != "all":
        exposures = exposures.filter(status=status)
    if filters.get("origin"):
        exposures = exposures.filter(origin=filters["origin"])
    if filters.get("setting"):
        exposures = exposures.filter(setting=filters["setting"])
    if filters.get("date_from"):
        exposures = exposures.filter(start__gte=day_start(filters["date_from"]))
    if filters.get("date_to"):
        exposures = exposures.filter(start__lt=day_start(filters["date_to"] + datetime.timedelta(days=1)))
    if filters.get("source"):
        exposures = exposures.filter(source_id=filters["source"])
    if filters.get("exposed"):
        exposures = exposures.filter(exposed_id=filters["exposed"])
    query = str(filters.get("q") or "").strip()
    if query:
        people = _person_ids(query)
        exposures = exposures.filter(Q(exposed__in=people) | Q(source__in=people))
    return exposures.annotate(status_rank=_status_rank()).order_by("status_rank", "-start", "-id")


def contact_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Contact]:
    """Contacts the user may see (a grid worker: their grid's): ``kind``, ``status``, ``division`` (path prefix),
    ``measure`` (a measure type, "none" for none), ``index_case`` (case id), ``q`` (the person)."""
    filters = filters or {}
    contacts = selectors.contacts_visible_to(user)
    if filters.get("kind"):
        contacts = contacts.filter(kind=filters["kind"])
    if filters.get("status"):
        contacts = contacts.filter(status=filters["status"])
    if filters.get("division"):
        contacts = contacts.filter(path__startswith=str(filters["division"]).strip())
    measure = filters.get("measure")
    if measure == MeasureType.NONE:
        contacts = contacts.filter(measure__isnull=True)
    elif measure:
        contacts = contacts.filter(measure__measure_type=measure)
    if filters.get("index_case"):
        contacts = contacts.filter(index_case_id=filters["index_case"])
    query = str(filters.get("q") or "").strip()
    if query:
        contacts = contacts.filter(person__in=_person_ids(query))
    return contacts.order_by("-last_exposure_at", "-id")


def _status_rank() -> SqlCase:
    return SqlCase(
        *[When(status=status, then=Value(rank)) for status, rank in _STATUS_RANK.items()],
        default=Value(9),
        output_field=IntegerField(),
    )


# -- a case's page --------------------------------------------------------------------------------------------------


def case_exposures(user: Any, case: Case) -> QuerySet[Exposure]:
    """The exposures the case caused, those waiting for a decision first."""
    return (
        selectors.case_exposures(user, case)
        .annotate(status_rank=_status_rank())
        .order_by("status_rank", "-start", "pk")
    )


def exposures_of_case_person(user: Any, case: Case) -> QuerySet[Exposure]:
    """Exposures the case's person had (who may have infected them)."""
    return selectors.exposures_visible_to(user).filter(exposed_id=case.person_id).order_by("-start", "pk")


def awaiting_by_origin(user: Any, case: Case) -> dict[str, int]:
    """How many of the case's exposures of each origin wait for a decision (for the bulk-confirm buttons)."""
    rows = (
        selectors.case_exposures(user, case)
        .filter(status__in=AWAITING_STATUSES)
        .order_by()
        .values("origin")
        .annotate(n=Count("id"))
    )
    return {row["origin"]: row["n"] for row in rows}


def window_lines(case: Case) -> list[str]:
    """How the infectious window was set, as sentences (from ``case.window``, stored when it was computed)."""
    window = case.window if isinstance(case.window, dict) else {}
    lines: list[str] = []
    anchor, anchor_date = window.get("anchor"), window.get("anchor_date") or "?"
    if anchor == "onset":
        lines.append(_("Counted from symptom onset on %(day)s.") % {"day": anchor_date})
    elif anchor == "sampling":
        lines.append(_("No symptom onset: counted from the sampling date %(day)s.") % {"day": anchor_date})
    elif anchor == "report":
        lines.append(_("No onset or sampling date: counted from the report date %(day)s.") % {"day": anchor_date})
    days = window.get("days_before")
    if days is not None:
        if window.get("edition"):
            lines.append(
                _("The window opens %(days)s days before it, as “%(edition)s” says.")
                % {"days": days, "edition": window["edition"]}
            )
        else:
            lines.append(
                _("The window opens %(days)s days before it (no policy edition was in force: the default).")
                % {"days": days}
            )
    if window.get("from_last_negative"):
        lines.append(
            _("Found by routine testing: the window opens instead at the last negative test, %(day)s.")
            % {"day": window["from_last_negative"]}
        )
    if window.get("end_by") == "isolated_on":
        lines.append(_("It closes on the day the case was isolated, %(day)s.") % {"day": case.infectious_until})
    elif window.get("end_by") == "report_date":
        lines.append(
            _("It closes on the report date, %(day)s (no isolation day was given).") % {"day": case.infectious_until}
        )
    return lines


def cluster_link(case: Case) -> dict[str, Any] | None:
    """The case person's transmission cluster (label and page), if the clusters were computed with them."""
    member = ClusterMember.objects.filter(person_id=case.person_id).select_related("cluster").first()
    if member is None:
        return None
    try:
        url = reverse("tracing:cluster_detail", args=[member.cluster_id])
    except NoReverseMatch:
        url = ""
    return {"cluster": member.cluster, "url": url}


def contact_rows(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``case_contacts`` items with the measure's name, its explanation as sentences and readable evidence."""
    rows = []
    for item in items:
        measure = item.get("measure") or {}
        follow_on = measure.get("follow_on") or {}
        rows.append(
            {
                **item,
                "measure_name": measure_label(measure.get("type")),
                "follow_on_name": measure_label(follow_on.get("type")) if follow_on else "",
                "measure_lines": explanation_lines(measure.get("explanation_detail")),
                "first_at": datetime.datetime.fromisoformat(item["first_exposure"]),
                "last_at": datetime.datetime.fromisoformat(item["last_exposure"]),
                "evidence_rows": [
                    {
                        "id": exposure["id"],
                        "setting": _label(Setting, exposure["setting"]),
                        "start": datetime.datetime.fromisoformat(exposure["start"]),
                        "source": exposure["source"],
                    }
                    for exposure in item.get("evidence") or []
                ],
            }
        )
    return rows


def _label(choices: Any, code: Any) -> str:
    try:
        return str(choices(code).label)
    except ValueError:
        return str(code or "")


# -- a contact's page -----------------------------------------------------------------------------------------------


def contact_evidence(user: Any, contact: Contact) -> list[dict[str, Any]]:
    """The exposures the contact rests on, each with whether the reader may open the source person."""
    exposures = list(contact.exposures.select_related("source", "venue").order_by("start", "pk"))
    sources = {e.source_id for e in exposures}
    visible = set(Person.objects.visible_to(user).filter(pk__in=sources).values_list("pk", flat=True))
    return [{"exposure": e, "source_visible": e.source_id in visible} for e in exposures]


def contact_tasks(user: Any, contact: Contact) -> QuerySet[Task]:
    return (
        Task.objects.visible_to(user)
        .filter(content_type=ContentType.objects.get_for_model(Contact), object_id=str(contact.pk))
        .select_related("assignee_user", "assignee_grid", "assignee_department")
        .order_by("-created_at", "-id")
    )


def visible_case(user: Any, case_id: int | None) -> Case | None:
    if case_id is None:
        return None
    return selectors.cases_visible_to(user).filter(pk=case_id).first()


def open_cases_for_form(user: Any, limit: int = 500) -> QuerySet[Case]:
    """Active cases to choose a source from (most recent first)."""
    return (
        selectors.cases_visible_to(user)
        .filter(classification__in=ACTIVE_CLASSIFICATIONS)
        .order_by("-report_date", "-id")[:limit]
    )


# -- the report of what a write derived -----------------------------------------------------------------------------


def derivation_payload(derivation: Derivation, **extra: Any) -> dict[str, Any]:
    """What to keep in the session between the write and the page that shows its report (contact ids)."""
    return {
        "created": [c.pk for c in derivation.created],
        "changed": [c.pk for c in derivation.changed],
        "released": [c.pk for c in derivation.released],
        **extra,
    }


def derivation_report(user: Any, payload: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The contacts a write created, changed and released, as the reader may see them (others only counted)."""
    if not payload:
        return None
    ids = {key: [int(pk) for pk in payload.get(key) or []] for key in ("created", "changed", "released")}
    wanted = {pk for values in ids.values() for pk in values}
    contacts = {c.pk: c for c in selectors.contacts_visible_to(user).filter(pk__in=wanted)} if wanted else {}
    report: dict[str, Any] = {key: [contacts[pk] for pk in values if pk in contacts] for key, values in ids.items()}
    report["counts"] = {key: len(values) for key, values in ids.items()}
    report["hidden"] = len(wanted) - len(contacts)
    report["empty"] = not wanted
    report["exposures_found"] = int(payload.get("exposures_found") or 0)
    report["note"] = str(payload.get("note") or "")
    return report


# -- the person page ------------------------------------------------------------------------------------------------

PANEL_ROWS = 20


def person_tracing(user: Any, person: Person) -> dict[str, Any]:
    """The person's cases, contact status with its measure, and exposures (caused and suffered) the user may see."""
    caused = selectors.exposures_visible_to(user).filter(source_id=person.pk).order_by("-start", "-id")
    suffered = selectors.exposures_visible_to(user).filter(exposed_id=person.pk).order_by("-start", "-id")
    contact = selectors.contacts_visible_to(user).filter(person_id=person.pk).first()
    return {
        "cases": list(selectors.cases_visible_to(user).filter(person_id=person.pk).order_by("-report_date", "-id")),
        "contact": contact,
        "contact_lines": explanation_lines(contact.measure.explanation) if contact and contact.measure else [],
        "caused": list(caused[:PANEL_ROWS]),
        "suffered": list(suffered[:PANEL_ROWS]),
    }
