"""Policy editions, their measure rules, and the measures assigned to people.

Every duration, look-back, test day and anchor is a row here, never a constant in code: the rules changed several
times in 2021–2022 and differ by place and disease. ``firstline.policy.engine`` evaluates them.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from firstline.core.models import VersionedModel
from firstline.core.scoping import Scope, ScopedQuerySet


class Trigger(models.TextChoices):
    RISK_HIGH = "risk_high", _("was in a high-risk area")
    RISK_MEDIUM = "risk_medium", _("was in a medium-risk area")
    RISK_LOW = "risk_low", _("was in a low-risk area of an affected county")
    CLOSE_CONTACT = "close_contact", _("close contact")
    SECONDARY_CONTACT = "secondary_contact", _("secondary contact")
    COMPANION = "companion", _("spatio-temporal companion")


RISK_TRIGGERS = (Trigger.RISK_HIGH, Trigger.RISK_MEDIUM, Trigger.RISK_LOW)


class MeasureType(models.TextChoices):
    CENTRALISED_QUARANTINE = "centralised_quarantine", _("centralised quarantine")
    HOME_QUARANTINE = "home_quarantine", _("home quarantine")
    HOME_HEALTH_MONITORING = "home_health_monitoring", _("home health monitoring")
    TESTS_ONLY = "tests_only", _("tests only")
    SELF_MONITORING = "self_monitoring", _("self monitoring")
    NONE = "none", _("no measure")


# Strictness of a measure: the engine picks the strictest matching rule.
SEVERITY = {
    MeasureType.NONE: 0,
    MeasureType.SELF_MONITORING: 1,
    MeasureType.TESTS_ONLY: 2,
    MeasureType.HOME_HEALTH_MONITORING: 3,
    MeasureType.HOME_QUARANTINE: 4,
    MeasureType.CENTRALISED_QUARANTINE: 5,
}

# Measures that take a person out of circulation: the grid must reach them within hours, not a day.
URGENT_MEASURES = frozenset({MeasureType.CENTRALISED_QUARANTINE, MeasureType.HOME_QUARANTINE})


class Anchor(models.TextChoices):
    """Where day 1 of a period falls (DOMAIN.md, 填平补齐)."""

    LEFT_AREA = "left_area", _("day after leaving the risk area's county")
    ARRIVAL = "arrival", _("day of arrival")
    LAST_EXPOSURE = "last_exposure", _("day after the last exposure")
    NOTIFIED = "notified", _("day the person is notified")


class EditionStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PUBLISHED = "published", _("published")


class PolicyEditionQuerySet(ScopedQuerySet["PolicyEdition"]):
    def visibility_q(self, scope: Scope) -> Q | None:
        """The rules are public to every signed-in user."""
        return Q() if scope.user_id is not None else None

    def published(self) -> PolicyEditionQuerySet:
        return self.filter(status=EditionStatus.PUBLISHED)

    def in_force_on(self, day: datetime.date) -> PolicyEdition | None:
        return self.published().filter(effective_from__lte=day).order_by("-effective_from", "-id").first()


class PolicyEdition(VersionedModel):
    """A set of measure rules in force from a date until the next published edition's date."""

    name = models.CharField(_("name"), max_length=120)
    effective_from = models.DateField(_("in force from"))
    status = models.CharField(_("status"), max_length=10, choices=EditionStatus.choices, default=EditionStatus.DRAFT)
    description = models.TextField(_("description"), blank=True)
    based_on = models.ForeignKey(
        "self", verbose_name=_("copied from"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Edition-wide parameters (DOMAIN.md): all data, never constants.
    infectious_days_before = models.PositiveSmallIntegerField(
        _("infectious window: days before onset/sampling"), default=2
    )
    window_from_last_negative = models.BooleanField(
        _("a negative test inside the window moves its start to that test"),
        default=False,
        help_text=_("9th edition: cases found by routine repeat testing are traced from their last negative test."),
    )
    min_tests_when_short = models.PositiveSmallIntegerField(
        _("minimum tests when the remaining period is short"), default=2
    )
    min_test_gap_hours = models.PositiveSmallIntegerField(_("minimum hours between tests"), default=24)
    expired_as_low_risk = models.BooleanField(
        _("a period that ran out before arrival is managed as a low-risk arrival"), default=True
    )
    lifting_shortens_measures = models.BooleanField(
        _("lowering or lifting an area shortens measures already started"), default=False
    )
    early_release_allowed = models.BooleanField(
        _("people may be released before the end date"),
        default=False,
        help_text=_("Release before the last day, with every scheduled test negative, and a reason recorded."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PolicyEditionQuerySet.as_manager()

    class Meta:
        verbose_name = _("policy edition")
        verbose_name_plural = _("policy editions")
        ordering = ["-effective_from", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.effective_from.isoformat()})"


class MeasureRule(models.Model):
    """What a trigger requires under one edition: the measure, its days, its tests and where day 1 falls."""

    edition = models.ForeignKey(
        PolicyEdition, verbose_name=_("edition"), on_delete=models.CASCADE, related_name="rules"
    )
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices)
    lookback_days = models.PositiveSmallIntegerField(
        _("look-back (days)"), null=True, blank=True, help_text=_("For risk-area triggers: how far back a stay counts.")
    )
    measure = models.CharField(_("measure"), max_length=24, choices=MeasureType.choices)
    duration_days = models.PositiveSmallIntegerField(_("duration (days)"))
    anchor = models.CharField(_("day 1 is"), max_length=16, choices=Anchor.choices)
    test_days = models.JSONField(_("test days"), default=list, blank=True, help_text=_("Day numbers, e.g. 1,2,3,5,7."))
    follow_on_measure = models.CharField(_("follow-on measure"), max_length=24, choices=MeasureType.choices, blank=True)
    follow_on_days = models.PositiveSmallIntegerField(_("follow-on duration (days)"), null=True, blank=True)
    follow_on_test_days = models.JSONField(_("follow-on test days"), default=list, blank=True)
    stay_home_until_negative = models.BooleanField(_("stay home until a negative result"), default=False)
    priority = models.SmallIntegerField(
        _("priority"), default=0, help_text=_("Breaks ties between equally strict measures: higher wins.")
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("measure rule")
        verbose_name_plural = _("measure rules")
        ordering = ["edition", "trigger"]
        constraints = [
            models.UniqueConstraint(fields=["edition", "trigger"], name="rule_one_per_trigger"),
            models.CheckConstraint(name="rule_duration_positive", condition=Q(duration_days__gte=1)),
        ]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} → {self.get_measure_display()} {self.duration_days}d"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.pk,
            "trigger": self.trigger,
            "lookback_days": self.lookback_days,
            "measure": self.measure,
            "duration_days": self.duration_days,
            "anchor": self.anchor,
            "test_days": list(self.test_days),
            "follow_on_measure": self.follow_on_measure,
            "follow_on_days": self.follow_on_days,
            "follow_on_test_days": list(self.follow_on_test_days),
            "stay_home_until_negative": self.stay_home_until_negative,
            "priority": self.priority,
        }


class MeasureStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    COMPLETED = "completed", _("completed")
    SUPERSEDED = "superseded", _("superseded")
    CANCELLED = "cancelled", _("cancelled")


class MeasureQuerySet(ScopedQuerySet["Measure"]):
    def current(self) -> MeasureQuerySet:
        return self.filter(status=MeasureStatus.ACTIVE)


class Measure(VersionedModel):
    """A measure assigned to a person, with the explanation of why and the calendar of tests."""

    person = models.ForeignKey(
        "people.Person", verbose_name=_("person"), on_delete=models.PROTECT, related_name="measures"
    )
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    edition = models.ForeignKey(PolicyEdition, verbose_name=_("edition"), on_delete=models.PROTECT, related_name="+")
    rule = models.ForeignKey(
        MeasureRule, verbose_name=_("rule"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices)
    measure_type = models.CharField(_("measure"), max_length=24, choices=MeasureType.choices)
    counted_from = models.DateField(_("day 1"))
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))
    test_dates = models.JSONField(_("test dates"), default=list, blank=True)
    follow_on_type = models.CharField(_("follow-on measure"), max_length=24, choices=MeasureType.choices, blank=True)
    follow_on_start = models.DateField(_("follow-on start"), null=True, blank=True)
    follow_on_end = models.DateField(_("follow-on end"), null=True, blank=True)
    follow_on_test_dates = models.JSONField(_("follow-on test dates"), default=list, blank=True)
    explanation = models.JSONField(_("explanation"), default=dict)
    status = models.CharField(_("status"), max_length=12, choices=MeasureStatus.choices, default=MeasureStatus.ACTIVE)
    # The record the measure is for (an arrival, a contact …).
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64, blank=True)
    source = GenericForeignKey("content_type", "object_id")
    superseded_by = models.ForeignKey(
        "self", verbose_name=_("superseded by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = MeasureQuerySet.as_manager()

    class Meta:
        verbose_name = _("assigned measure")
        verbose_name_plural = _("assigned measures")
        ordering = ["-start", "-id"]
        indexes = [
            models.Index(fields=["person", "status"], name="measure_person_status_idx"),
            models.Index(fields=["status", "end"], name="measure_status_end_idx"),
            models.Index(fields=["content_type", "object_id"], name="measure_source_idx"),
        ]
        constraints = [models.CheckConstraint(name="measure_end_after_start", condition=Q(end__gte=models.F("start")))]

    def __str__(self) -> str:
        return f"{self.get_measure_type_display()} {self.start.isoformat()}–{self.end.isoformat()}"
