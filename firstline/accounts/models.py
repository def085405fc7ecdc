from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from firstline.accounts.roles import DEPARTMENT_ROLES, GRID_ROLES, ROLE_PERMISSIONS, SITE_ROLES, Role
from firstline.core.models import TimeStampedModel
from firstline.core.scoping import Scope, ScopedQuerySet, minimal_prefixes


class DepartmentKind(models.TextChoices):
    POLICE = "police", _("police (公安)")
    HEALTH = "health", _("health (卫健)")
    TRANSPORT = "transport", _("transport (交通)")
    URBAN_MANAGEMENT = "urban_management", _("urban management (城管)")
    MARKET_REGULATION = "market_regulation", _("market regulation (市场监管)")
    EMERGENCY_MANAGEMENT = "emergency_management", _("emergency management (应急管理)")
    OTHER = "other", _("other")


class Department(TimeStampedModel):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=24, choices=DepartmentKind.choices)
    division = models.ForeignKey(
        "regions.Division", verbose_name=_("division served"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def scope(self) -> Scope:
        """What this user may see and do, from active memberships; computed once per instance (request)."""
        cached: Scope | None = getattr(self, "_scope_cache", None)
        if cached is None:
            cached = compute_scope(self)
            self._scope_cache = cached
        return cached

    def forget_scope(self) -> None:
        self.__dict__.pop("_scope_cache", None)

    def requires_otp(self) -> bool:
        return bool(self.scope.roles & set(settings.OTP_REQUIRED_ROLES))


def compute_scope(user: User) -> Scope:
    memberships = list(Membership.objects.filter(user=user, active=True).only("id", "role", "path", "department_id"))
    roles = frozenset(m.role for m in memberships)
    permissions: set[str] = set()
    for role in roles:
        permissions |= ROLE_PERMISSIONS.get(role, frozenset())
    return Scope(
        user_id=user.pk,
        paths=minimal_prefixes(m.path for m in memberships if m.path and m.role not in SITE_ROLES),
        grid_codes=tuple(sorted({m.path for m in memberships if "-G" in m.path})),
        department_ids=tuple(sorted({m.department_id for m in memberships if m.department_id})),
        roles=roles,
        permissions=frozenset(permissions),
        membership_ids=tuple(m.id for m in memberships),
    )


class MembershipQuerySet(ScopedQuerySet["Membership"]):
    pass


class Membership(TimeStampedModel):
    """A user's role in one jurisdiction: a division, a grid, or a department."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=24, choices=Role.choices)
    division = models.ForeignKey(
        "regions.Division",
        verbose_name=_("division"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    grid = models.ForeignKey(
        "regions.Grid",
        verbose_name=_("grid"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    # The scope prefix this membership grants: the grid's or division's path; empty for department roles.
    path = models.CharField(_("jurisdiction path"), max_length=40, blank=True, db_index=True)
    active = models.BooleanField(_("active"), default=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["user__username", "role"]
        constraints = [
            models.CheckConstraint(
                name="membership_one_anchor",
                condition=(
                    Q(grid__isnull=False, division__isnull=True, department__isnull=True)
                    | Q(grid__isnull=True, division__isnull=False, department__isnull=True)
                    | Q(grid__isnull=True, division__isnull=True, department__isnull=False)
                ),
            ),
            models.UniqueConstraint(
                fields=["user", "role", "division", "grid", "department"], name="membership_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.anchor_label()}"

    def anchor_label(self) -> str:
        anchor: Any = self.grid or self.division or self.department
        return str(anchor) if anchor else ""

    @staticmethod
    def anchor_kind_for(role: str) -> str:
        if role in GRID_ROLES:
            return "grid"
        if role in DEPARTMENT_ROLES:
            return "department"
        return "division"


def request_user(request: Any) -> User:
    """The logged-in user of a request that passed ``login_required`` (or DRF's IsAuthenticated)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionError("an authenticated user is required")
    return user
