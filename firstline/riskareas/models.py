"""The official list of medium/high-risk areas, with the days each area was at each level.

A ``RiskArea`` is a place as published (a division code where it could be parsed, plus the free text below the
county such as a 小区 or a village). Its ``periods`` record the level it had on which days: a level change closes
the open period and opens another, so matching a trip of last month uses the level the area had *then*.
Days are half-open: a period is in force on ``valid_from <= day < valid_until`` (``valid_until`` is the first day
of the next level, or the day the area was lifted).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from firstline.core.models import TimeStampedModel, VersionedModel
from firstline.core.scoping import Scope, ScopedQuerySet


class RiskLevel(models.TextChoices):
    HIGH = "high", _("high risk")
    MEDIUM = "medium", _("medium risk")
    LOW = "low", _("low risk")


# Higher is stricter; used to tell a raise from a lowering.
LEVEL_RANK = {RiskLevel.LOW: 1, RiskLevel.MEDIUM: 2, RiskLevel.HIGH: 3}


class Place(models.Model):
    """Cache of parsed place strings: each distinct text is parsed once (see riskareas.places)."""

    text = models.CharField(_("place as given"), max_length=200, unique=True)
    normalized = models.CharField(_("normalised"), max_length=200, blank=True)
    code = models.CharField(_("division code"), max_length=12, blank=True, db_index=True)
    level = models.CharField(_("level"), max_length=12, blank=True)
    province = models.CharField(_("province"), max_length=40, blank=True)
    prefecture = models.CharField(_("prefecture"), max_length=40, blank=True)
    county = models.CharField(_("county"), max_length=40, blank=True)
    remainder = models.CharField(_("below the county"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("parsed place")
        verbose_name_plural = _("parsed places")

    def __str__(self) -> str:
        return self.text

    @property
    def recognised(self) -> bool:
        return bool(self.code)


class RiskAreaQuerySet(ScopedQuerySet["RiskArea"]):
    def visibility_q(self, scope: Scope) -> Q | None:
        """The list is public information: every signed-in user sees all of it."""
        return Q() if scope.user_id is not None else None

    def in_force_on(self, day: datetime.date) -> RiskAreaQuerySet:
        """Listed (at any level) on ``day``: first listed by then and not yet lifted."""
        return self.filter(first_listed_on__lte=day).filter(Q(lifted_at__isnull=True) | Q(lifted_at__gt=day))


class RiskArea(VersionedModel):
    place = models.CharField(_("place as published"), max_length=200)
    division_code = models.CharField(
        _("division code"),
        max_length=12,
        blank=True,
        db_index=True,
        help_text=_("The most specific official code of the place (a prefix: 61, 6101, 610113 …)."),
    )
    scope_text = models.CharField(
        _("scope below the division"),
        max_length=200,
        blank=True,
        help_text=_("Free text below the county, e.g. a street, 小区 or village; empty means the whole division."),
    )
    level = models.CharField(_("current level"), max_length=8, choices=RiskLevel.choices)
    effective_from = models.DateField(_("at this level since"))
    first_listed_on = models.DateField(_("first listed on"))
    lifted_at = models.DateField(_("lifted on"), null=True, blank=True)
    source_notice = models.CharField(_("source notice"), max_length=300, blank=True)
    needs_review = models.BooleanField(
        _("place not recognised"), default=False, help_text=_("Kept as free text; a person should set the code.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = RiskAreaQuerySet.as_manager()

    class Meta:
        verbose_name = _("risk area")
        verbose_name_plural = _("risk areas")
        ordering = ["-effective_from", "place", "id"]
        indexes = [
            models.Index(fields=["level", "effective_from"], name="riskarea_level_from_idx"),
            models.Index(fields=["lifted_at"], name="riskarea_lifted_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                name="riskarea_lifted_after_effective",
                condition=Q(lifted_at__isnull=True) | Q(lifted_at__gte=models.F("effective_from")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.place} ({self.get_level_display()})"

    @property
    def is_lifted(self) -> bool:
        return self.lifted_at is not None


class RiskAreaPeriod(TimeStampedModel):
    """The days an area spent at one level: in force on valid_from <= day < valid_until."""

    area = models.ForeignKey(RiskArea, verbose_name=_("risk area"), on_delete=models.CASCADE, related_name="periods")
    level = models.CharField(_("level"), max_length=8, choices=RiskLevel.choices)
    valid_from = models.DateField(_("from"))
    valid_until = models.DateField(_("until (exclusive)"), null=True, blank=True)
    # Copied from the area so that matching needs no join.
    division_code = models.CharField(_("division code"), max_length=12, blank=True, db_index=True)
    scope_text = models.CharField(_("scope below the division"), max_length=200, blank=True)
    source_notice = models.CharField(_("source notice"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("risk level period")
        verbose_name_plural = _("risk level periods")
        ordering = ["area", "valid_from", "id"]
        indexes = [models.Index(fields=["valid_from", "valid_until"], name="riskperiod_days_idx")]
        constraints = [
            models.CheckConstraint(
                name="riskperiod_until_after_from",
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=models.F("valid_from")),
            ),
        ]

    def __str__(self) -> str:
        until = self.valid_until.isoformat() if self.valid_until else "…"
        return f"{self.area.place}: {self.level} {self.valid_from.isoformat()}–{until}"

    def covers(self, first: datetime.date, last: datetime.date) -> bool:
        """Do the days first..last (inclusive) overlap this period?"""
        return last >= self.valid_from and (self.valid_until is None or first < self.valid_until)

    @property
    def last_day(self) -> datetime.date | None:
        return self.valid_until - datetime.timedelta(days=1) if self.valid_until else None
