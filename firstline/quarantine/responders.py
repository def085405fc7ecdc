"""Who answers for a placement when a task about it opens: the site's manager for a site, else the grid and its
worker at home, else the officer of the place.

``Responders`` looks each site, officer and township up once, so a run over thousands of placements asks the
database once per site or township, not once per person.
"""

from __future__ import annotations

from dataclasses import dataclass

from firstline.accounts.models import User
from firstline.accounts.roles import Role
from firstline.accounts.selectors import nearest_with_role, officer_for
from firstline.quarantine.models import Facility, FacilityStaff, Placement, PlacementKind, SiteRole
from firstline.regions.models import Grid, division_code, township_code


def site_manager(facility_id: int) -> User | None:
    """The site's active manager (the first by username when there are several), or None."""
    staff = (
        FacilityStaff.objects.filter(
            facility_id=facility_id, site_role=SiteRole.MANAGER, active=True, user__is_active=True
        )
        .select_related("user")
        .order_by("user__username")
        .first()
    )
    return staff.user if staff is not None else None


@dataclass(frozen=True)
class Responder:
    """Whom a task goes to (a user, a grid, or both) and the ``path`` it is filed under."""

    user: User | None
    grid: Grid | None
    path: str

    @property
    def found(self) -> bool:
        return self.user is not None or self.grid is not None


class Responders:
    """Who answers for a site / a place, looked up once per site or township in a run."""

    def __init__(self) -> None:
        self._sites: dict[int, User | None] = {}
        self._officers: dict[str, User | None] = {}
        self._townships: dict[str, User | None] = {}

    def site(self, facility: Facility) -> User | None:
        if facility.pk not in self._sites:
            self._sites[facility.pk] = site_manager(facility.pk) or self.officer(facility.path)
        return self._sites[facility.pk]

    def officer(self, path: str) -> User | None:
        if path not in self._officers:
            self._officers[path] = officer_for(path)
        return self._officers[path]

    def township(self, path: str) -> User | None:
        code = township_code(path) or division_code(path)
        if code not in self._townships:
            self._townships[code] = nearest_with_role(code, Role.TOWNSHIP_OFFICER) or self.officer(path)
        return self._townships[code]

    def placement(self, placement: Placement) -> Responder:
        """A site placement: the site's manager (else the site's officer), filed under the site. Otherwise the
        person's grid and responsible worker, or the officer of their home when neither is set."""
        if placement.kind == PlacementKind.CENTRALISED and placement.facility is not None:
            facility = placement.facility
            return Responder(user=self.site(facility), grid=None, path=placement.site_path or facility.path)
        user, grid = placement.responsible, placement.grid
        if grid is None and user is None:
            user = self.officer(placement.path)
        return Responder(user=user, grid=grid, path=placement.path)


def placement_responder(placement: Placement) -> Responder:
    """Who answers for one placement (``Responders.placement`` without a shared cache)."""
    return Responders().placement(placement)
