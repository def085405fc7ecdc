"""What the quarantine app plugs into lower apps (called once from QuarantineConfig.ready)."""

from __future__ import annotations

from django.db.models import Q

from firstline.core.links import register_record_page
from firstline.core.scoping import Scope, register_visibility
from firstline.people.models import Person
from firstline.policy import hooks


def _site_staff_persons(scope: Scope) -> Q | None:
    """Site staff see the people placed at their sites (now or before)."""
    from firstline.quarantine.models import FacilityStaff, Placement

    if scope.user_id is None or "site_staff" not in scope.roles:
        return None
    sites = FacilityStaff.objects.filter(user_id=scope.user_id, active=True).values("facility_id")
    return Q(pk__in=Placement.objects.filter(facility_id__in=sites).values("person_id"))


def _team_samplings(scope: Scope) -> Q | None:
    """A sampling team (a department) sees the samplings assigned to it."""
    return Q(team_id__in=scope.department_ids) if scope.department_ids else None


def _measures_changed(person_ids: list[int], actor: object) -> None:
    from firstline.quarantine.measures import sync_persons

    sync_persons(person_ids, actor)


def register() -> None:
    from firstline.quarantine.models import Facility, Placement, Sampling
    from firstline.quarantine.monitoring import panels as monitoring_panels
    from firstline.quarantine.sites import panels as site_panels
    from firstline.quarantine.testing import panels as testing_panels
    from firstline.quarantine.testing import results_import

    site_panels.register()
    testing_panels.register()
    monitoring_panels.register()
    results_import.register()
    register_visibility(Sampling, _team_samplings)
    register_visibility(Person, _site_staff_persons)
    hooks.register_measure_listener(_measures_changed)
    register_record_page(Facility, "quarantine:facility_detail")
    register_record_page(Placement, "quarantine:placement_detail")
    register_record_page(Sampling, "quarantine:sampling_detail")
