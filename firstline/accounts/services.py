"""Writes on accounts: users and memberships, within the acting data administrator's own scope."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from firstline.accounts.models import Department, Membership, User
from firstline.accounts.roles import DEPARTMENT_ROLES, GRID_ROLES, Perm, Role
from firstline.core import audit
from firstline.core.models import AuditAction
from firstline.core.scoping import scope_of
from firstline.regions.models import Division, Grid


def _require_admin(actor: User) -> None:
    if not scope_of(actor).has(Perm.USER_MANAGE):
        raise PermissionDenied(_("Only data administrators manage users."))


@transaction.atomic
def user_create(*, actor: User | None, username: str, password: str, display_name: str = "", phone: str = "") -> User:
    """Create an account. ``actor`` None is the system (seeding, command line)."""
    if actor is not None:
        _require_admin(actor)
    username = username.strip()
    if not username:
        raise ValidationError({"username": [_("The username is required.")]})
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": [_("This username is taken.")]})
    user = User(username=username, display_name=display_name.strip(), phone=phone.strip())
    validate_password(password, user)
    user.set_password(password)
    user.save()
    audit.record(actor=actor, action=AuditAction.CREATE, instance=user, changes={"username": [None, username]})
    return user


def _anchor_path(role: str, division: Division | None, grid: Grid | None, department: Department | None) -> str:
    if role not in Role.values:
        raise ValidationError({"role": [_("Unknown role.")]})
    if role in GRID_ROLES and role != Role.VOLUNTEER and grid is None:
        raise ValidationError({"grid": [_("This role works in a grid: choose the grid.")]})
    if role in DEPARTMENT_ROLES and department is None:
        raise ValidationError({"department": [_("This role works for a department: choose the department.")]})
    anchors = [a for a in (division, grid, department) if a is not None]
    if len(anchors) != 1:
        raise ValidationError({"division": [_("Give exactly one of division, grid or department.")]})
    if grid is not None:
        return grid.path
    if division is not None:
        return division.code
    return ""


@transaction.atomic
def membership_grant(
    *,
    actor: User | None,
    user: User,
    role: str,
    division: Division | None = None,
    grid: Grid | None = None,
    department: Department | None = None,
) -> Membership:
    """Give ``user`` a role in one jurisdiction; an administrator may grant only inside their own scope."""
    path = _anchor_path(role, division, grid, department)
    if actor is not None:
        _require_admin(actor)
        scope = scope_of(actor)
        inside = scope.covers_path(path) if path else scope.covers_path(department.division_id if department else "")
        if not inside:
            raise PermissionDenied(_("You can grant roles only inside your own jurisdiction."))
    membership, created = Membership.objects.get_or_create(
        user=user, role=role, division=division, grid=grid, department=department, defaults={"path": path}
    )
    if not created and not membership.active:
        membership.active = True
        membership.save(update_fields=["active", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        instance=membership,
        path=path,
        changes={"role": [None, role], "anchor": [None, membership.anchor_label()]},
    )
    user.forget_scope()
    return membership


@transaction.atomic
def membership_revoke(*, actor: User, membership: Membership) -> Membership:
    _require_admin(actor)
    if membership.path and not scope_of(actor).covers_path(membership.path):
        raise PermissionDenied(_("You can change roles only inside your own jurisdiction."))
    membership.active = False
    membership.save(update_fields=["active", "updated_at"])
    audit.record(actor=actor, action=AuditAction.UPDATE, instance=membership, changes={"active": [True, False]})
    return membership


@transaction.atomic
def otp_device_confirm(*, user: User, device: Any) -> None:
    """The user proved they hold the authenticator: the pending TOTP device becomes theirs (audited)."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit.record(actor=user, action=AuditAction.UPDATE, instance=user, note="TOTP authenticator enrolled")
