from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Length
from django.http import Http404

from firstline.accounts.models import Membership, User
from firstline.accounts.roles import Perm, Role
from firstline.core.models import AuditEvent
from firstline.core.scoping import scope_of


def users_visible_to(actor: Any) -> QuerySet[User]:
    """Accounts an administrator manages: those with a membership inside their scope, or none yet."""
    scope = scope_of(actor)
    if not scope.has(Perm.USER_MANAGE):
        return User.objects.none()
    in_scope = Membership.objects.visible_to(actor).filter(user=OuterRef("pk"))
    any_membership = Membership.objects.filter(user=OuterRef("pk"))
    return User.objects.filter(Q(Exists(in_scope)) | ~Q(Exists(any_membership))).order_by("username")


def user_get_for_admin(actor: Any, pk: Any) -> User:
    try:
        return users_visible_to(actor).get(pk=int(pk))
    except (User.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def audit_events_visible_to(actor: Any) -> QuerySet[AuditEvent]:
    """Auditors read events inside their jurisdiction; events without a place (logins) need a city scope."""
    scope = scope_of(actor)
    if not scope.has(Perm.AUDIT_VIEW):
        return AuditEvent.objects.none()
    events = AuditEvent.objects.visible_to(actor)
    return events.select_related("content_type", "actor")


# Who answers for a place, nearest level first: the village/community, then the township, then the command.
OFFICER_ROLES_BY_CODE_LENGTH: tuple[tuple[int, tuple[str, ...]], ...] = (
    (12, (Role.VILLAGE_SECRETARY, Role.FIRST_SECRETARY)),
    (9, (Role.TOWNSHIP_OFFICER,)),
    (6, (Role.CITY_COMMAND,)),
)


def officer_for(path: str) -> User | None:
    """The officer who answers for ``path`` (a division code or grid path): nearest level first."""
    code = path.split("-")[0]
    for length, roles in OFFICER_ROLES_BY_CODE_LENGTH:
        if len(code) < length:
            continue
        membership = (
            Membership.objects.filter(active=True, role__in=roles, path=code[:length], user__is_active=True)
            .select_related("user")
            .order_by("user__username")
            .first()
        )
        if membership is not None:
            return membership.user
    return None


def nearest_with_role(path: str, role: str) -> User | None:
    """The user holding ``role`` whose division covers ``path`` most closely (a county CDC before the city's)."""
    code = path.split("-")[0]
    prefixes = [code[:length] for length in (12, 9, 6, 4, 2) if len(code) >= length]
    membership = (
        Membership.objects.filter(active=True, role=role, path__in=prefixes, user__is_active=True)
        .select_related("user")
        .order_by(Length("path").desc(), "user__username")
        .first()
    )
    return membership.user if membership is not None else None
