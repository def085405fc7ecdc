from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from firstline.accounts.roles import Perm
from firstline.core.scoping import scope_of


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The navigation entries this user's roles open; the pages themselves check again."""
    scope = scope_of(getattr(request, "user", None))
    if scope.user_id is None:
        return {"nav_items": []}
    items: list[tuple[str, Any, str]] = [("home", _("Home"), reverse("home"))]
    if scope.has(Perm.TASK_VIEW):
        items.append(("tasks", _("My tasks"), reverse("dispatch:inbox")))
    if scope.has(Perm.PERSON_VIEW):
        items.append(("people", _("People"), reverse("people:list")))
    if scope.has(Perm.ARRIVAL_ADD):
        items.append(("arrival_new", _("Register an arrival"), reverse("screening:arrival_create")))
    if scope.has(Perm.PERSON_VIEW) and (scope.has(Perm.ARRIVAL_ADD) or scope.has(Perm.CITY_SUMMARY)):
        items.append(("arrivals", _("Arrivals"), reverse("screening:arrival_list")))
    if scope.has(Perm.ARRIVAL_VERIFY):
        items.append(("queue", _("To resolve"), reverse("screening:queue")))
    if scope.has(Perm.IMPORT_RUN):
        items.append(("imports", _("Imports"), reverse("screening:imports:list")))
    if scope.has(Perm.ASSIST_MANAGE) or scope.has(Perm.ASSIST_HANDLE):
        items.append(("assist", _("Investigation requests"), reverse("screening:assist:list")))
    if scope.has(Perm.CAMPAIGN_MANAGE) or scope.has(Perm.VISIT_RECORD):
        items.append(("campaigns", _("Door-to-door campaigns"), reverse("screening:campaigns:list")))
    if scope.has(Perm.PERSON_VIEW):
        items.append(("cases", _("Cases"), reverse("tracing:case_list")))
        items.append(("contacts", _("Contacts"), reverse("tracing:contact_list")))
    if scope.has(Perm.TRACE_EDIT):
        items.append(("exposures", _("Exposures to decide"), reverse("tracing:exposure_list")))
    if scope.has(Perm.VENUE_MANAGE) or scope.has(Perm.TRACE_EDIT):
        items.append(("venues", _("Venues"), reverse("tracing:venue_list")))
    # Chains are read by whoever leads the work (CDC, command centre, township/village leads), not each grid.
    if scope.has(Perm.PERSON_VIEW) and (
        scope.has(Perm.TRACE_EDIT) or scope.has(Perm.CITY_SUMMARY) or scope.has(Perm.PERSON_MERGE)
    ):
        items.append(("clusters", _("Transmission clusters"), reverse("tracing:cluster_list")))
    items.append(("riskareas", _("Risk areas"), reverse("riskareas:list")))
    items.append(("policy", _("Policy"), reverse("policy:list")))
    if scope.paths:
        items.append(("regions", _("Divisions and grids"), reverse("regions:tree")))
    if scope.has(Perm.PERSON_MERGE):
        items.append(("duplicates", _("Duplicates"), reverse("people:duplicates")))
    if scope.has(Perm.AUDIT_VIEW):
        items.append(("audit", _("Audit log"), reverse("accounts:audit")))
    if scope.has(Perm.USER_MANAGE):
        items.append(("users", _("Users"), reverse("accounts:users")))
    return {"nav_items": items, "user_scope": scope}
