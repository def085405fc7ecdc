"""Quarantine sites and home quarantine, scheduled samplings and lab results, daily health checks.

A ``Placement`` says where a person under a measure is: a room of a centralised site or their own home. It follows
the person's governing measure (the strictest active one; see ``firstline.quarantine.measures``), so a measure
extended by a new exposure moves the placement's due date and its samplings with it. Samplings are the measure's
test days made concrete; a lab result lands on the sampling it belongs to. Health checks are one row per placement,
day and slot (the slots are the ``HEALTH_CHECK_TIMES`` setting), so a second entry for a slot updates the first.

Visibility: placements, samplings and checks carry the person's home ``path`` (grid and division officers see
their residents wherever they are placed) and the site's ``site_path`` (the division hosting a site sees who is
in it); site staff see the sites they are assigned to (``FacilityStaff``), not a division.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from firstline.core.models import TimeStampedModel, VersionedModel
from firstline.core.scoping import Scope, ScopedQuerySet


def _site_staff_q(scope: Scope, facility_field: str) -> Q | None:
    """Rows at the sites the user is assigned to (site staff only)."""
    if scope.user_id is None or "site_staff" not in scope.roles:
        return None
    sites = FacilityStaff.objects.filter(user_id=scope.user_id, active=True).values("facility_id")
    return Q(**{f"{facility_field}__in": sites})


def _or(*conditions: Q | None) -> Q | None:
    result: Q | None = None
    for condition in conditions:
        if condition is not None:
            result = condition if result is None else result | condition
    return result


_M = TypeVar("_M", bound=models.Model)


class SiteScopedQuerySet(ScopedQuerySet[_M], Generic[_M]):
    """Home path, the hosting site's path, or the user's own sites."""

    facility_field = "facility_id"

    def visibility_q(self, scope: Scope) -> Q | None:
        condition = super().visibility_q(scope)
        site_paths = None
        for prefix in scope.paths:
            branch = Q(site_path__startswith=prefix)
            site_paths = branch if site_paths is None else site_paths | branch
        return _or(condition, site_paths, _site_staff_q(scope, self.facility_field))


# --- Sites -------------------------------------------------------------------------------------------------------


class FacilityQuerySet(ScopedQuerySet["Facility"]):
    def visibility_q(self, scope: Scope) -> Q | None:
        return _or(super().visibility_q(scope), _site_staff_q(scope, "id"))

    def active(self) -> FacilityQuerySet:
        return self.filter(active=True)


class Facility(VersionedModel):
    """A centralised quarantine site (集中隔离点): a hotel or a purpose-built site, with floors and rooms."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    address = models.CharField(_("address"), max_length=300, blank=True)
    division = models.ForeignKey(
        "regions.Division", verbose_name=_("division"), on_delete=models.PROTECT, related_name="+"
    )
    # The hosting division's code: officers of that division and above see the site.
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    active = models.BooleanField(_("in use"), default=True)
    note = models.TextField(_("note"), blank=True)

    objects = FacilityQuerySet.as_manager()

    class Meta:
        verbose_name = _("quarantine site")
        verbose_name_plural = _("quarantine sites")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class SiteRole(models.TextChoices):
    MANAGER = "manager", _("site manager")
    DOCTOR = "doctor", _("doctor")
    NURSE = "nurse", _("nurse")
    SAMPLER = "sampler", _("sampler")
    SECURITY = "security", _("security")
    LOGISTICS = "logistics", _("logistics")
    CLEANING = "cleaning", _("cleaning and disinfection")


class FacilityStaff(TimeStampedModel):
    """A user working at a site, in a site role; a site-staff user sees only the sites listed here."""

    facility = models.ForeignKey(Facility, verbose_name=_("site"), on_delete=models.CASCADE, related_name="staff")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="site_assignments"
    )
    site_role = models.CharField(_("site role"), max_length=12, choices=SiteRole.choices)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("site staff")
        verbose_name_plural = _("site staff")
        ordering = ["facility", "site_role", "user"]
        constraints = [models.UniqueConstraint(fields=["facility", "user"], name="facility_staff_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_site_role_display()} · {self.facility}"


class Floor(models.Model):
    facility = models.ForeignKey(Facility, verbose_name=_("site"), on_delete=models.CASCADE, related_name="floors")
    label = models.CharField(_("floor"), max_length=20)
    position = models.SmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("floor")
        verbose_name_plural = _("floors")
        ordering = ["facility", "position", "label"]
        constraints = [models.UniqueConstraint(fields=["facility", "label"], name="floor_unique_label")]

    def __str__(self) -> str:
        return f"{self.facility} {self.label}"


class RoomState(models.TextChoices):
    AVAILABLE = "available", _("available")
    OCCUPIED = "occupied", _("occupied")
    DISINFECTING = "disinfecting", _("disinfecting")
    OUT_OF_SERVICE = "out_of_service", _("out of service")


class Room(VersionedModel):
    facility = models.ForeignKey(Facility, verbose_name=_("site"), on_delete=models.CASCADE, related_name="rooms")
    floor = models.ForeignKey(Floor, verbose_name=_("floor"), on_delete=models.PROTECT, related_name="rooms")
    number = models.CharField(_("room"), max_length=20)
    capacity = models.PositiveSmallIntegerField(_("beds"), default=1)
    state = models.CharField(_("state"), max_length=16, choices=RoomState.choices, default=RoomState.AVAILABLE)
    state_since = models.DateTimeField(_("state since"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        ordering = ["facility", "floor__position", "number"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "number"], name="room_unique_number"),
            models.CheckConstraint(name="room_capacity_positive", condition=Q(capacity__gte=1)),
        ]
        indexes = [models.Index(fields=["facility", "state"], name="room_facility_state_idx")]

    def __str__(self) -> str:
        return f"{self.facility} {self.number}"


# --- Placements --------------------------------------------------------------------------------------------------


class PlacementKind(models.TextChoices):
    CENTRALISED = "centralised", _("centralised site")
    HOME = "home", _("at home")


class PlacementPhase(models.TextChoices):
    MAIN = "main", _("measure")
    FOLLOW_ON = "follow_on", _("follow-on measure")


class PlacementStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    TRANSFERRED = "transferred", _("transferred")
    RELEASED = "released", _("released")
    ENDED = "ended", _("ended (became a case, hospital …)")
    CANCELLED = "cancelled", _("cancelled")


class PlacementQuerySet(SiteScopedQuerySet["Placement"]):
    def active(self) -> PlacementQuerySet:
        return self.filter(status=PlacementStatus.ACTIVE)


class Placement(VersionedModel):
    """Where a person under a measure is kept: a room of a site, or their home under a grid's watch."""

    person = models.ForeignKey(
        "people.Person", verbose_name=_("person"), on_delete=models.PROTECT, related_name="placements"
    )
    measure = models.ForeignKey(
        "policy.Measure",
        verbose_name=_("measure"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="placements",
    )
    kind = models.CharField(_("where"), max_length=12, choices=PlacementKind.choices)
    phase = models.CharField(_("phase"), max_length=10, choices=PlacementPhase.choices, default=PlacementPhase.MAIN)
    facility = models.ForeignKey(
        Facility, verbose_name=_("site"), null=True, blank=True, on_delete=models.PROTECT, related_name="placements"
    )
    room = models.ForeignKey(
        Room, verbose_name=_("room"), null=True, blank=True, on_delete=models.PROTECT, related_name="placements"
    )
    # The person's household when placed: a room never mixes households.
    household = models.ForeignKey(
        "regions.Household",
        verbose_name=_("household"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Home placements: the grid responsible for daily checks.
    grid = models.ForeignKey(
        "regions.Grid", verbose_name=_("grid"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible worker"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    site_path = models.CharField(_("site's jurisdiction"), max_length=40, blank=True, db_index=True)
    start_at = models.DateTimeField(_("placed at"))
    due_date = models.DateField(_("release due"))
    seal_number = models.CharField(_("seal number"), max_length=40, blank=True)
    sensor_number = models.CharField(_("door sensor number"), max_length=40, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=PlacementStatus.choices, default=PlacementStatus.ACTIVE
    )
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(_("reason"), max_length=300, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    transferred_from = models.ForeignKey(
        "self",
        verbose_name=_("transferred from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transferred_to",
    )
    lost_since = models.DateTimeField(_("lost to follow-up since"), null=True, blank=True)
    certificate_number = models.CharField(_("release certificate"), max_length=40, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PlacementQuerySet.as_manager()

    class Meta:
        verbose_name = _("placement")
        verbose_name_plural = _("placements")
        ordering = ["-start_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(status="active"), name="placement_one_active_per_person"
            ),
            models.CheckConstraint(
                name="placement_site_has_room",
                condition=Q(kind="home") | Q(facility__isnull=False, room__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_date"], name="placement_status_due_idx"),
            models.Index(fields=["facility", "status"], name="placement_facility_status_idx"),
            models.Index(fields=["room", "status"], name="placement_room_status_idx"),
            models.Index(fields=["grid", "status"], name="placement_grid_status_idx"),
        ]

    def __str__(self) -> str:
        where = str(self.room) if self.room_id else str(_("home"))
        return f"{self.person} · {where}"

    @property
    def is_active(self) -> bool:
        return self.status == PlacementStatus.ACTIVE


class CareNeedKind(models.TextChoices):
    FOOD = "food", _("food")
    MEDICINE = "medicine", _("medicine")
    DAILY = "daily", _("daily necessities")
    MEDICAL = "medical", _("medical care")
    OTHER = "other", _("other")


class CareNeedStatus(models.TextChoices):
    OPEN = "open", _("open")
    DONE = "done", _("done")
    CANCELLED = "cancelled", _("cancelled")


class CareNeedQuerySet(ScopedQuerySet["CareNeed"]):
    pass


class CareNeed(VersionedModel):
    """Supplies or help a person in home quarantine needs; the community's care queue picks these up."""

    placement = models.ForeignKey(
        Placement, verbose_name=_("placement"), on_delete=models.CASCADE, related_name="care_needs"
    )
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    kind = models.CharField(_("need"), max_length=10, choices=CareNeedKind.choices)
    description = models.CharField(_("details"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=CareNeedStatus.choices, default=CareNeedStatus.OPEN)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = CareNeedQuerySet.as_manager()

    class Meta:
        verbose_name = _("care need")
        verbose_name_plural = _("care needs")
        ordering = ["status", "-created_at"]

    def __str__(self) -> str:
        return self.get_kind_display()


# --- Samplings and results ---------------------------------------------------------------------------------------


class SamplingStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("scheduled")
    SAMPLED = "sampled", _("sampled")
    MISSED = "missed", _("missed")
    CANCELLED = "cancelled", _("cancelled")


class TestResult(models.TextChoices):
    PENDING = "", _("awaiting result")
    NEGATIVE = "negative", _("negative")
    POSITIVE = "positive", _("positive")
    INVALID = "invalid", _("invalid, repeat")


class ResultSource(models.TextChoices):
    MANUAL = "manual", _("entered")
    IMPORT = "import", _("imported lab list")
    API = "api", _("lab system (API)")


class SamplingQuerySet(SiteScopedQuerySet["Sampling"]):
    def open(self) -> SamplingQuerySet:
        return self.filter(status=SamplingStatus.SCHEDULED)


class Sampling(VersionedModel):
    """One nucleic-acid sampling: scheduled from a measure's test day (or unscheduled), sampled, resulted."""

    person = models.ForeignKey(
        "people.Person", verbose_name=_("person"), on_delete=models.PROTECT, related_name="samplings"
    )
    measure = models.ForeignKey(
        "policy.Measure", verbose_name=_("measure"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    placement = models.ForeignKey(
        Placement,
        verbose_name=_("placement"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="samplings",
    )
    facility = models.ForeignKey(
        Facility, verbose_name=_("site"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    site_path = models.CharField(_("site's jurisdiction"), max_length=40, blank=True, db_index=True)
    # The team sent to sample at home (e.g. the health department's sampling team), when not the grid or site.
    team = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("sampling team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    due_date = models.DateField(_("due"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=SamplingStatus.choices, default=SamplingStatus.SCHEDULED
    )
    sampled_at = models.DateTimeField(_("sampled at"), null=True, blank=True)
    sampler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sampler"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    sampler_name = models.CharField(_("sampler"), max_length=60, blank=True)
    tube_code = models.CharField(_("tube barcode"), max_length=40, blank=True)
    result = models.CharField(_("result"), max_length=10, choices=TestResult.choices, blank=True, default="")
    result_at = models.DateTimeField(_("result at"), null=True, blank=True)
    lab = models.CharField(_("laboratory"), max_length=100, blank=True)
    result_source = models.CharField(_("result from"), max_length=8, choices=ResultSource.choices, blank=True)
    import_job = models.ForeignKey(
        "screening.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    case = models.ForeignKey(
        "tracing.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = SamplingQuerySet.as_manager()

    class Meta:
        verbose_name = _("sampling")
        verbose_name_plural = _("samplings")
        ordering = ["due_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "due_date"],
                condition=Q(due_date__isnull=False) & ~Q(status="cancelled"),
                name="sampling_one_per_due_day",
            ),
            models.UniqueConstraint(fields=["tube_code"], condition=~Q(tube_code=""), name="sampling_unique_tube"),
        ]
        indexes = [
            models.Index(fields=["status", "due_date"], name="sampling_status_due_idx"),
            models.Index(fields=["placement", "due_date"], name="sampling_placement_due_idx"),
            models.Index(fields=["person", "sampled_at"], name="sampling_person_at_idx"),
            models.Index(fields=["facility", "status", "due_date"], name="sampling_facility_due_idx"),
        ]

    def __str__(self) -> str:
        day = self.due_date or (self.sampled_at.date() if self.sampled_at else None)
        return f"{self.person} {day.isoformat() if day else ''}"


# --- Daily health checks -----------------------------------------------------------------------------------------


class Symptom(models.TextChoices):
    FEVER = "fever", _("fever or chills")
    COUGH = "cough", _("cough")
    SORE_THROAT = "sore_throat", _("sore throat")
    FATIGUE = "fatigue", _("fatigue or muscle ache")
    BREATH = "breath", _("shortness of breath")
    SMELL_TASTE = "smell_taste", _("loss of smell or taste")
    RUNNY_NOSE = "runny_nose", _("runny or blocked nose")
    DIARRHOEA = "diarrhoea", _("diarrhoea")
    OTHER = "other", _("other")


class CheckSource(models.TextChoices):
    STAFF = "staff", _("recorded by staff")
    SELF = "self", _("self-report")
    API = "api", _("device / API")


class HealthCheckQuerySet(SiteScopedQuerySet["HealthCheck"]):
    pass


class HealthCheck(TimeStampedModel):
    """Temperature and symptoms for one slot of one day of a placement (one row per slot: re-entry updates)."""

    placement = models.ForeignKey(
        Placement, verbose_name=_("placement"), on_delete=models.CASCADE, related_name="checks"
    )
    person = models.ForeignKey("people.Person", verbose_name=_("person"), on_delete=models.PROTECT, related_name="+")
    facility = models.ForeignKey(
        Facility, verbose_name=_("site"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    site_path = models.CharField(_("site's jurisdiction"), max_length=40, blank=True)
    day = models.DateField(_("day"))
    slot = models.PositiveSmallIntegerField(_("slot"))
    at = models.DateTimeField(_("time"))
    temperature = models.DecimalField(_("temperature (°C)"), max_digits=3, decimal_places=1)
    symptoms = models.JSONField(_("symptoms"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    alert = models.BooleanField(_("alert"), default=False)
    source = models.CharField(_("source"), max_length=6, choices=CheckSource.choices, default=CheckSource.STAFF)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = HealthCheckQuerySet.as_manager()

    class Meta:
        verbose_name = _("health check")
        verbose_name_plural = _("health checks")
        ordering = ["-day", "-slot"]
        constraints = [models.UniqueConstraint(fields=["placement", "day", "slot"], name="health_check_one_per_slot")]
        indexes = [models.Index(fields=["day", "alert"], name="health_check_day_alert_idx")]

    def __str__(self) -> str:
        return f"{self.person} {self.day.isoformat()} #{self.slot + 1} {self.temperature}°C"
