"""Reads of tracing, all starting from ``visible_to(user)``: one access function per model, 404 for missing and
out-of-scope alike, and the contacts of a case as one structure shared by the page, the API and the CLI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from firstline.core import identity
from firstline.core.pii import sees_full_pii
from firstline.people.models import Person
from firstline.policy.explain import measure_payload
from firstline.tracing.models import (
    COUNTED_STATUSES,
    Case,
    Contact,
    ContactKind,
    ContactStatus,
    Exposure,
)


def _get(queryset: QuerySet[Any], pk: Any) -> Any:
    try:
        return queryset.get(pk=int(pk))
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def cases_visible_to(user: Any) -> QuerySet[Case]:
    return Case.objects.visible_to(user).select_related("person", "edition")


def case_get_for_user(user: Any, pk: Any) -> Case:
    return _get(cases_visible_to(user), pk)  # type: ignore[no-any-return]


def exposures_visible_to(user: Any) -> QuerySet[Exposure]:
    return Exposure.objects.visible_to(user).select_related("source", "exposed", "venue")


def exposure_get_for_user(user: Any, pk: Any) -> Exposure:
    return _get(exposures_visible_to(user), pk)  # type: ignore[no-any-return]


def contacts_visible_to(user: Any) -> QuerySet[Contact]:
    return Contact.objects.visible_to(user).select_related("person", "measure", "index_case", "index_case__person")


def contact_get_for_user(user: Any, pk: Any) -> Contact:
    return _get(contacts_visible_to(user), pk)  # type: ignore[no-any-return]


def person_payload(person: Person, *, full: bool) -> dict[str, Any]:
    return {
        "id": person.pk,
        "name": person.name,
        "id_type": person.id_type,
        "id_number": person.id_number if full else identity.mask_id_number(person.id_number),
        "path": person.path,
    }


def exposure_payload(exposure: Exposure) -> dict[str, Any]:
    return {
        "id": exposure.pk,
        "source": exposure.source_id,
        "exposed": exposure.exposed_id,
        "setting": exposure.setting,
        "start": exposure.start.isoformat(),
        "end": exposure.end.isoformat(),
        "origin": exposure.origin,
        "status": exposure.status,
        "proximity": exposure.proximity,
        "protection": exposure.protection,
        "venue": exposure.venue_id,
        "overlap_minutes": exposure.overlap_minutes,
        "text": exposure.evidence,
    }


def _contact_item(contact: Contact, *, full: bool) -> dict[str, Any]:
    return {
        "contact": contact.pk,
        "kind": contact.kind,
        "status": contact.status,
        "person": person_payload(contact.person, full=full),
        "first_exposure": contact.first_exposure_at.isoformat(),
        "last_exposure": contact.last_exposure_at.isoformat(),
        "measure": measure_payload(contact.measure),
        "evidence": [exposure_payload(e) for e in contact.exposures.all()],
    }


def case_contacts(user: Any, case: Case, *, hops: int = 1) -> dict[str, Any]:
    """The active close (and with ``hops`` 2, secondary) contacts of ``case`` that ``user`` may see.

    ``{"case": {...}, "close": [item], "secondary": [item], "outside_scope": n}``; each item carries the person
    (ID masked unless the user sees full personal data), the measure with its explanation, and the exposures it
    rests on. Contacts outside the user's jurisdiction are counted, not shown.
    """
    full = sees_full_pii(user)
    evidence = Prefetch(
        "exposures", queryset=Exposure.objects.filter(status__in=COUNTED_STATUSES).order_by("start", "id")
    )
    active = Contact.objects.filter(status=ContactStatus.ACTIVE)
    close_ids = set(
        active.filter(
            kind=ContactKind.CLOSE, exposures__source_id=case.person_id, exposures__status__in=COUNTED_STATUSES
        )
        .values_list("pk", flat=True)
        .distinct()
    )
    secondary_ids: set[int] = set()
    if hops >= 2 and close_ids:
        close_people = Contact.objects.filter(pk__in=close_ids).values("person_id")
        secondary_ids = set(
            active.filter(
                kind=ContactKind.SECONDARY,
                exposures__source_id__in=close_people,
                exposures__status__in=COUNTED_STATUSES,
            )
            .values_list("pk", flat=True)
            .distinct()
        )
    visible = (
        contacts_visible_to(user)
        .filter(pk__in=close_ids | secondary_ids)
        .prefetch_related(evidence)
        .order_by("person__name", "pk")
    )
    items = list(visible)
    return {
        "case": {
            "id": case.pk,
            "person": person_payload(case.person, full=full),
            "classification": case.classification,
            "infectious_from": case.infectious_from.isoformat(),
            "infectious_until": case.infectious_until.isoformat(),
        },
        "close": [_contact_item(c, full=full) for c in items if c.pk in close_ids],
        "secondary": [_contact_item(c, full=full) for c in items if c.pk in secondary_ids],
        "outside_scope": len(close_ids | secondary_ids) - len(items),
    }


def case_exposures(user: Any, case: Case) -> QuerySet[Exposure]:
    """Exposures caused by the case's person that the user may see (candidates first)."""
    return exposures_visible_to(user).filter(source_id=case.person_id).order_by("status", "-start", "pk")


def contact_counts(cases: list[Case]) -> Mapping[int, int]:
    """Active close contacts per case person (list pages: one query)."""
    from django.db.models import Count

    rows = (
        Exposure.objects.filter(
            source_id__in=[c.person_id for c in cases],
            status__in=COUNTED_STATUSES,
            contacts__status=ContactStatus.ACTIVE,
            contacts__kind=ContactKind.CLOSE,
        )
        .values("source_id")
        .annotate(n=Count("contacts", distinct=True))
    )
    return {row["source_id"]: row["n"] for row in rows}
