"""Divisions (official codes), grids below villages/communities, buildings and households.

Every row carries a ``path`` that is a prefix of its descendants' paths: a subtree is a prefix query.
Division codes already have that property (GB/T 2260 + statistical codes); grids, buildings and households
extend their parent's code with fixed-width suffixes, so ``-G001`` is never a prefix of ``-G0010``.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from firstline.core.models import TimeStampedModel, VersionedModel
from firstline.core.scoping import Scope, ScopedQuerySet

DIVISION_CODE_LENGTHS = {
    "province": 2,
    "prefecture": 4,
    "county": 6,
    "street": 9,
    "town": 9,
    "township": 9,
    "community": 12,
    "village": 12,
}
# The lengths a division code can have, shortest first (province … village/community).
CODE_LENGTHS = tuple(sorted(set(DIVISION_CODE_LENGTHS.values())))
TOWNSHIP_CODE_LENGTH = DIVISION_CODE_LENGTHS["township"]


def division_code(path: str) -> str:
    """The division part of a jurisdiction path (a grid's or household's path starts with its division's code)."""
    return path.split("-")[0]


def ancestor_codes(path: str) -> list[str]:
    """The division codes at and above a path, shortest first: ``632701001001-G001`` → 63, 6327, 632701, …"""
    code = division_code(path)
    return [code[:n] for n in CODE_LENGTHS if n <= len(code)]


def township_code(path: str) -> str:
    """The township / street office a path lies in ("" for a path above township level)."""
    code = division_code(path)
    return code[:TOWNSHIP_CODE_LENGTH] if len(code) >= TOWNSHIP_CODE_LENGTH else ""


GRID_SUFFIX = re.compile(r"^-G\d{3}$")
BUILDING_SUFFIX = re.compile(r"^-B\d{3}$")
HOUSEHOLD_SUFFIX = re.compile(r"^-H\d{4}$")


class DivisionLevel(models.TextChoices):
    PROVINCE = "province", _("province")
    PREFECTURE = "prefecture", _("prefecture")
    COUNTY = "county", _("county / county-level city")
    STREET = "street", _("street office")
    TOWN = "town", _("town")
    TOWNSHIP = "township", _("township")
    COMMUNITY = "community", _("community")
    VILLAGE = "village", _("village")


TOWNSHIP_LEVELS = {DivisionLevel.STREET, DivisionLevel.TOWN, DivisionLevel.TOWNSHIP}
VILLAGE_LEVELS = {DivisionLevel.COMMUNITY, DivisionLevel.VILLAGE}


class DivisionQuerySet(ScopedQuerySet["Division"]):
    def visibility_q(self, scope: Scope) -> Q | None:
        """Divisions inside the scope, plus the village/community of each of the user's grids (their own)."""
        condition = super().visibility_q(scope)
        villages = sorted({path.split("-")[0] for path in scope.paths if "-" in path})
        if not villages:
            return condition
        own = Q(code__in=villages)
        return own if condition is None else condition | own


class Division(TimeStampedModel):
    code = models.CharField(_("code"), max_length=12, primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=12, choices=DivisionLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    synthetic = models.BooleanField(
        _("synthetic"), default=False, help_text=_("Invented for the demo: not an official division.")
    )

    scope_path_field = "code"
    objects = DivisionQuerySet.as_manager()

    class Meta:
        verbose_name = _("division")
        verbose_name_plural = _("divisions")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level="province", parent__isnull=True) | ~Q(level="province"),
                name="division_province_is_root",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def path(self) -> str:
        return self.code

    @property
    def depth(self) -> int:
        return list(DIVISION_CODE_LENGTHS.values()).index(len(self.code)) if self.code else 0

    def clean(self) -> None:
        validate_division(self.code, self.level, self.parent_id)


def validate_division(code: str, level: str, parent_code: str | None) -> None:
    """Raise ValidationError when a division's code does not fit its level or parent."""
    if not code.isdigit():
        raise ValidationError({"code": _("A division code has digits only.")})
    expected = DIVISION_CODE_LENGTHS.get(level)
    if expected is None:
        raise ValidationError({"level": _("Unknown level %(level)s.") % {"level": level}})
    if len(code) != expected:
        raise ValidationError({"code": _("A %(level)s code has %(n)d digits.") % {"level": level, "n": expected}})
    if level == DivisionLevel.PROVINCE:
        if parent_code:
            raise ValidationError({"parent_code": _("A province has no parent.")})
        return
    if not parent_code:
        raise ValidationError({"parent_code": _("Every division below a province needs a parent code.")})
    if not code.startswith(parent_code) or len(parent_code) >= len(code):
        raise ValidationError({"parent_code": _("The code must extend its parent's code.")})


class GridKind(models.TextChoices):
    COMPREHENSIVE = "comprehensive", _("comprehensive grid")
    DEDICATED = "dedicated", _("dedicated grid (institution)")


class Grid(VersionedModel):
    code = models.CharField(_("code"), max_length=20, unique=True)
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    name = models.CharField(_("name"), max_length=100)
    division = models.ForeignKey(
        Division, verbose_name=_("village / community"), on_delete=models.PROTECT, related_name="grids"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=GridKind.choices, default=GridKind.COMPREHENSIVE)
    institution = models.CharField(
        _("institution"),
        max_length=100,
        blank=True,
        help_text=_("For a dedicated grid: the school, company …"),
    )
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("grid leader"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_grids",
    )
    synthetic = models.BooleanField(_("synthetic"), default=False)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class Building(TimeStampedModel):
    code = models.CharField(_("code"), max_length=24, unique=True)
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    grid = models.ForeignKey(Grid, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="buildings")
    name = models.CharField(_("name"), max_length=100)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Household(VersionedModel):
    code = models.CharField(_("code"), max_length=30, unique=True)
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    grid = models.ForeignKey(Grid, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="households")
    building = models.ForeignKey(
        Building,
        verbose_name=_("building"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="households",
    )
    address = models.CharField(_("address"), max_length=200)
    # Pastoral households move between seasonal pastures: where they are now is separate, dated data.
    current_location = models.CharField(_("current location (pasture)"), max_length=200, blank=True)
    current_location_on = models.DateField(_("location updated on"), null=True, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible cadre / party member"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="covered_households",
        help_text=_("The cadre or party member who covers this household."),
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["code"]
        indexes = [models.Index(fields=["grid", "responsible"], name="household_coverage_idx")]

    def __str__(self) -> str:
        return self.address
