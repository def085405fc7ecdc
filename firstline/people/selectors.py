"""Reads on persons, always scoped through ``Person.objects.visible_to``."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from firstline.core import identity
from firstline.people.models import DuplicateDismissal, Person

_DIGITS_OR_X = re.compile(r"^[0-9Xx]+$")
_LETTERS = re.compile(r"^[A-Za-z]+$")


def person_search_q(query: str) -> Q:
    """Search by name (simplified or traditional), full pinyin, pinyin initials, ID tail or phone tail."""
    text = unicodedata.normalize("NFKC", query).strip().replace(" ", "")
    if not text:
        return Q()
    if _DIGITS_OR_X.match(text):
        tail = text.upper()
        condition = Q(id_number__endswith=tail) | Q(phone__endswith=text)
        if len(text) in (15, 18):
            try:
                _type, number = identity.normalize_id_number(text, identity.RESIDENT_ID)
                condition |= Q(id_number=number)
            except identity.IdentityError:
                pass
        return condition
    if _LETTERS.match(text):
        lowered = text.lower()
        return Q(name_initials__startswith=lowered) | Q(name_pinyin__startswith=lowered)
    return Q(name__contains=identity.normalize_name(text))


def person_list(
    *,
    user: Any,
    query: str = "",
    grid_code: str = "",
    division_code: str = "",
    household_id: int | None = None,
) -> QuerySet[Person]:
    people = Person.objects.visible_to(user).active()
    if grid_code:
        people = people.filter(path__startswith=grid_code)
    if division_code:
        people = people.filter(path__startswith=division_code)
    if household_id:
        people = people.filter(household_id=household_id)
    if query:
        people = people.filter(person_search_q(query))
    return people.select_related("household").order_by("name", "id")


def person_get_for_user(user: Any, pk: Any, *, write: bool = False) -> Person:
    """The person if the user may see it; 404 for missing and out-of-scope alike."""
    try:
        queryset = Person.objects.visible_to(user).select_related("household__grid", "merged_into")
        if write:
            queryset = queryset.select_for_update()
        return queryset.get(pk=int(pk))
    except (Person.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


@dataclass(frozen=True)
class DuplicateCandidate:
    first: Person
    second: Person
    reason: str


def _similar(a: Person, b: Person) -> bool:
    if a.name == b.name or (a.name_initials and a.name_initials == b.name_initials):
        return True
    return SequenceMatcher(None, a.name_pinyin or a.name, b.name_pinyin or b.name).ratio() >= 0.75


def duplicate_candidates(*, user: Any, limit: int = 200) -> list[DuplicateCandidate]:
    """Pairs that may be one person: same phone and a similar name, or same name and birth date.

    Pairs dismissed as “not a duplicate” are left out. Only persons visible to the user are compared.
    """
    people = Person.objects.visible_to(user).active()
    shared_phones = people.exclude(phone="").values("phone").annotate(n=Count("id")).filter(n__gt=1).values("phone")
    shared_name_birth = (
        people.exclude(birth_date=None).values("name", "birth_date").annotate(n=Count("id")).filter(n__gt=1)
    )
    groups: dict[tuple[str, Any], list[Person]] = {}
    for person in people.filter(phone__in=shared_phones).order_by("phone", "id")[: limit * 4]:
        groups.setdefault(("phone", person.phone), []).append(person)
    name_birth_keys = list(shared_name_birth.values_list("name", "birth_date")[: limit * 2])
    if name_birth_keys:
        condition = Q()
        for name, birth_date in name_birth_keys:
            condition |= Q(name=name, birth_date=birth_date)
        for person in people.filter(condition).order_by("name", "birth_date", "id"):
            groups.setdefault(("name_birth", (person.name, person.birth_date)), []).append(person)
    dismissed = set(
        DuplicateDismissal.objects.filter(
            person_low__in=[p.pk for members in groups.values() for p in members]
        ).values_list("person_low_id", "person_high_id")
    )
    seen: set[tuple[int, int]] = set()
    result: list[DuplicateCandidate] = []
    for (kind, _key), members in groups.items():
        for i, first in enumerate(members):
            for second in members[i + 1 :]:
                pair = (min(first.pk, second.pk), max(first.pk, second.pk))
                if pair in dismissed or pair in seen:
                    continue
                if kind == "phone" and not _similar(first, second):
                    continue
                seen.add(pair)
                result.append(DuplicateCandidate(first, second, kind))
                if len(result) >= limit:
                    return result
    return result
