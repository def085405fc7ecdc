"""Where each person of a 协查 list goes: the township/community/grid that has to find them.

Order of evidence, best first:

1. the person is already in the registry (same ID): their household (so their grid);
2. the address names divisions of the city: the most specific one whose ancestors named in the address agree
   with it, then a household of that division whose address equals the rest of the address;
3. the ID number's first six digits (the county of registration) lie inside the city: that county;
4. nothing: the batch's own path, the receiving level's queue to route by hand.

The divisions of the city are loaded once per batch; the registry and households are looked up per row with
index-friendly queries (ID number, path prefix + exact address).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from django.conf import settings

from firstline.core import identity
from firstline.people.models import Person
from firstline.regions.models import Division, Household, township_code


class Method:
    REGISTRY = "registry"
    HOUSEHOLD = "household"
    ADDRESS = "address"
    ID_DIVISION = "id_division"
    UNROUTED = "unrouted"


METHODS: Final = (Method.REGISTRY, Method.HOUSEHOLD, Method.ADDRESS, Method.ID_DIVISION, Method.UNROUTED)
_RESIDENT_LIKE: Final = (identity.RESIDENT_ID, identity.OLD_RESIDENT_ID)
_SEPARATORS: Final = re.compile(r"^[\s,，、:：;；\-]+")


@dataclass(frozen=True)
class Route:
    path: str
    method: str
    household: Household | None = None
    person: Person | None = None
    division_name: str = ""


# The township/street code a path lies in ("" above township level).
township_of = township_code


class Router:
    """Routes rows of one batch. ``root`` is the batch's path (the queue for rows that cannot be routed)."""

    def __init__(self, *, root: str, city: str | None = None) -> None:
        self.root = root
        self.city = city or settings.FIRSTLINE_CITY_CODE
        divisions = list(Division.objects.filter(code__startswith=self.city).only("code", "name", "level"))
        self.divisions: dict[str, Division] = {d.code: d for d in divisions}
        # Longest names first, so 结古街道 is tried before a shorter name it contains.
        self.names: list[tuple[str, str]] = sorted(
            (
                (identity.normalize_address(d.name), d.code)
                for d in divisions
                if d.code != self.city and len(d.name) >= 2
            ),
            key=lambda pair: (-len(pair[0]), pair[1]),
        )

    def name_of(self, code: str) -> str:
        division = self.divisions.get(code)
        return division.name if division is not None else ""

    # -- the evidence ----------------------------------------------------------------------------------------
    def by_address(self, address: str) -> tuple[Division | None, str]:
        """The most specific division named in the address, and the text after its name."""
        text = identity.normalize_address(address)
        if not text:
            return None, ""
        found: dict[str, int] = {}  # code → end of its name in the text
        for name, code in self.names:
            position = text.rfind(name)
            if position >= 0:
                found[code] = position + len(name)
        if not found:
            return None, ""

        def score(code: str) -> tuple[int, int, str]:
            # How many named divisions agree with this one (itself and its ancestors), then how deep it is.
            agreeing = sum(1 for other in found if code.startswith(other))
            return agreeing, len(code), code

        best = max(found, key=score)
        remainder = _SEPARATORS.sub("", text[found[best] :]).strip()
        return self.divisions[best], remainder

    def household_in(self, division_code: str, address: str, remainder: str) -> Household | None:
        """The one household of the division whose address equals the row's address (or the part after the name)."""
        variants = {identity.normalize_address(address)}
        if remainder:
            variants.add(remainder)
        variants.discard("")
        if not variants:
            return None
        matches = list(
            Household.objects.filter(path__startswith=division_code, address__in=variants)
            .select_related("grid")
            .order_by("id")[:2]
        )
        return matches[0] if len(matches) == 1 else None

    def by_id(self, id_type: str, id_number: str) -> str:
        """The county of registration when it is inside the city (IDs carry six digits of division)."""
        if id_type not in _RESIDENT_LIKE or len(id_number) < 6:
            return ""
        code = id_number[:6]
        if code.startswith(self.city):
            return code if code in self.divisions else ""
        if self.city.startswith(code):  # the city is below county level: the ID says no more than "this county"
            return self.city
        return ""

    # -- the decision ------------------------------------------------------------------------------------------
    def route(self, *, address: str, id_type: str, id_number: str, person: Person | None) -> Route:
        if person is not None and person.household is not None:
            household = person.household
            return Route(
                path=household.path,
                method=Method.REGISTRY,
                household=household,
                person=person,
                division_name=self.name_of(township_of(household.path)),
            )
        division, remainder = self.by_address(address)
        if division is not None:
            matched = self.household_in(division.code, address, remainder)
            if matched is not None:
                return Route(
                    path=matched.path,
                    method=Method.HOUSEHOLD,
                    household=matched,
                    person=person,
                    division_name=division.name,
                )
            return Route(path=division.code, method=Method.ADDRESS, person=person, division_name=division.name)
        if person is not None and person.path and person.path.startswith(self.city):
            return Route(
                path=person.path,
                method=Method.REGISTRY,
                person=person,
                division_name=self.name_of(person.path.split("-")[0]),
            )
        code = self.by_id(id_type, id_number)
        if code:
            return Route(path=code, method=Method.ID_DIVISION, person=person, division_name=self.name_of(code))
        return Route(path=self.root, method=Method.UNROUTED, person=person)
