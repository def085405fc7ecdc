"""Arrivals and their travel history, self-registration points, imports, 协查 batches and door-to-door campaigns."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from firstline.core.models import TimeStampedModel, VersionedModel
from firstline.core.scoping import Scope, ScopedQuerySet
from firstline.riskareas.models import RiskLevel


class Transport(models.TextChoices):
    TRAIN = "train", _("train")
    FLIGHT = "flight", _("flight")
    CAR = "car", _("car")
    BUS = "bus", _("bus")
    OTHER = "other", _("other")


class HealthCode(models.TextChoices):
    GREEN = "green", _("green")
    YELLOW = "yellow", _("yellow")
    RED = "red", _("red")


class ArrivalSource(models.TextChoices):
    GRID_WORKER = "grid_worker", _("grid worker")
    CHECKPOINT = "checkpoint", _("checkpoint")
    SELF_REGISTRATION = "self_registration", _("self-registration")
    IMPORT = "import", _("import")
    ASSIST = "assist", _("investigation assistance (协查)")
    CAMPAIGN = "campaign", _("door-to-door campaign")


class ArrivalStatus(models.TextChoices):
    # Self-registrations wait for a grid worker; staff entries are verified when saved.
    PENDING = "pending", _("waiting for verification")
    VERIFIED = "verified", _("verified")
    REJECTED = "rejected", _("rejected")


class ArrivalQuerySet(ScopedQuerySet["Arrival"]):
    def unresolved(self) -> ArrivalQuerySet:
        """The township queue: arrivals whose address did not resolve to a household."""
        return self.filter(household__isnull=True)


class Arrival(VersionedModel):
    """One arrival of one person on one day (the same person and day is one record: imports update it)."""

    person = models.ForeignKey(
        "people.Person", verbose_name=_("person"), on_delete=models.PROTECT, related_name="arrivals"
    )
    # The destination household's grid path, or the township/community code while the address is unresolved.
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    household = models.ForeignKey(
        "regions.Household",
        verbose_name=_("destination household"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="arrivals",
    )
    origin = models.CharField(_("coming from"), max_length=200, blank=True)
    arrival_date = models.DateField(_("arrival date"))
    arrival_time = models.TimeField(_("arrival time"), null=True, blank=True)
    transport = models.CharField(_("transport"), max_length=8, choices=Transport.choices, blank=True)
    transport_no = models.CharField(_("train / flight / plate"), max_length=40, blank=True)
    health_code = models.CharField(_("health code"), max_length=8, choices=HealthCode.choices, blank=True)
    vaccine_doses = models.PositiveSmallIntegerField(_("vaccine doses"), null=True, blank=True)
    last_negative_test_at = models.DateTimeField(_("last negative test"), null=True, blank=True)
    destination_address = models.CharField(_("destination address"), max_length=300, blank=True)
    release_certificate = models.BooleanField(_("showed a release certificate"), default=False)
    source = models.CharField(_("source"), max_length=20, choices=ArrivalSource.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=ArrivalStatus.choices, default=ArrivalStatus.VERIFIED, db_index=True
    )
    needs_review = models.BooleanField(
        _("needs review"), default=False, help_text=_("A travel place was not recognised or a match is possible.")
    )
    registration_point = models.ForeignKey(
        "screening.RegistrationPoint",
        verbose_name=_("registration point"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="arrivals",
    )
    import_job = models.ForeignKey(
        "screening.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="arrivals"
    )
    measure = models.ForeignKey(
        "policy.Measure",
        verbose_name=_("current measure"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = ArrivalQuerySet.as_manager()

    PII_FIELDS = {"destination_address": "address"}

    class Meta:
        verbose_name = _("arrival")
        verbose_name_plural = _("arrivals")
        ordering = ["-arrival_date", "-id"]
        indexes = [
            models.Index(fields=["path", "arrival_date"], name="arrival_path_date_idx"),
            models.Index(fields=["arrival_date"], name="arrival_date_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["person", "arrival_date"], name="arrival_one_per_person_day"),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.arrival_date.isoformat()}"


class TravelItem(models.Model):
    """One place on the trip, with the days spent there (inclusive)."""

    arrival = models.ForeignKey(Arrival, on_delete=models.CASCADE, related_name="travel")
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    place_text = models.CharField(_("place"), max_length=200)
    place_code = models.CharField(_("division code"), max_length=12, blank=True)
    place_remainder = models.CharField(_("below the county"), max_length=200, blank=True)
    date_from = models.DateField(_("from"))
    date_to = models.DateField(_("to"))

    class Meta:
        verbose_name = _("travel history item")
        verbose_name_plural = _("travel history")
        ordering = ["arrival", "position"]
        indexes = [models.Index(fields=["place_code", "date_to"], name="travel_code_to_idx")]
        constraints = [
            models.CheckConstraint(name="travel_dates_in_order", condition=Q(date_to__gte=models.F("date_from"))),
        ]

    def __str__(self) -> str:
        return f"{self.place_text} {self.date_from.isoformat()}–{self.date_to.isoformat()}"


class MatchKind(models.TextChoices):
    DEFINITE = "definite", _("inside the area")
    POSSIBLE = "possible", _("possibly inside (the place given is broader than the area)")
    COUNTY = "county", _("same county as a risk area")


class MatchStatus(models.TextChoices):
    ACCEPTED = "accepted", _("counts")
    PENDING = "pending", _("to confirm")
    CONFIRMED = "confirmed", _("confirmed by a grid worker")
    CLEARED = "cleared", _("cleared by a grid worker")


COUNTING_MATCH_STATUSES = (MatchStatus.ACCEPTED, MatchStatus.CONFIRMED)


class TravelMatch(TimeStampedModel):
    """A travel item against a risk-area period. Possible matches wait for a grid worker to confirm or clear."""

    arrival = models.ForeignKey(Arrival, on_delete=models.CASCADE, related_name="matches")
    travel = models.ForeignKey(TravelItem, on_delete=models.CASCADE, related_name="matches")
    period = models.ForeignKey("riskareas.RiskAreaPeriod", on_delete=models.PROTECT, related_name="+")
    area = models.ForeignKey("riskareas.RiskArea", on_delete=models.PROTECT, related_name="+")
    level = models.CharField(_("level"), max_length=8, choices=RiskLevel.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=MatchKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=MatchStatus.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("risk-area match")
        verbose_name_plural = _("risk-area matches")
        constraints = [models.UniqueConstraint(fields=["travel", "period"], name="match_one_per_travel_period")]

    def __str__(self) -> str:
        return f"{self.travel} ~ {self.area} ({self.kind})"


class PointKind(models.TextChoices):
    COMMUNITY = "community", _("community")
    CHECKPOINT = "checkpoint", _("road checkpoint")


class RegistrationPoint(TimeStampedModel):
    """A community or checkpoint with a public self-registration page reached by a printed QR code."""

    kind = models.CharField(_("kind"), max_length=12, choices=PointKind.choices)
    name = models.CharField(_("name"), max_length=120)
    division = models.ForeignKey(
        "regions.Division", verbose_name=_("division"), on_delete=models.PROTECT, related_name="+"
    )
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    token = models.CharField(_("public code"), max_length=32, unique=True)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("registration point")
        verbose_name_plural = _("registration points")
        ordering = ["path", "name"]

    def __str__(self) -> str:
        return self.name


class ImportKind(models.TextChoices):
    ARRIVALS = "arrivals", _("arrival list")
    ASSIST = "assist", _("协查 list")
    LAB_RESULTS = "lab_results", _("lab results")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("uploaded")
    VALIDATING = "validating", _("checking")
    VALIDATED = "validated", _("checked")
    IMPORTING = "importing", _("importing")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class ImportMode(models.TextChoices):
    ALL_OR_NOTHING = "all", _("all rows or nothing")
    VALID_ONLY = "valid", _("import the valid rows, give me the rest")


class ImportJobQuerySet(ScopedQuerySet["ImportJob"]):
    def visibility_q(self, scope: Scope) -> Q | None:
        """Jobs uploaded inside the user's jurisdiction, and the user's own uploads wherever they were made."""
        condition = super().visibility_q(scope)
        if scope.user_id is None:
            return condition
        mine = Q(uploaded_by_id=scope.user_id)
        return mine if condition is None else condition | mine


class ImportJob(TimeStampedModel):
    """A bulk import as a job row: the file, its column mapping, progress and the summary."""

    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices, default=ImportKind.ARRIVALS)
    status = models.CharField(_("status"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    original_name = models.CharField(_("file name"), max_length=255)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    # The uploader's jurisdiction root at upload time (the job is visible inside it).
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    header_row = models.PositiveIntegerField(_("header row"), default=1)
    headers = models.JSONField(_("headers"), default=list, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    mode = models.CharField(_("mode"), max_length=6, choices=ImportMode.choices, default=ImportMode.ALL_OR_NOTHING)
    dry_run = models.BooleanField(_("dry run"), default=True)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows processed"), default=0)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    error_file = models.FileField(_("error workbook"), upload_to="imports/errors/%Y/%m/", blank=True)
    message = models.TextField(_("message"), blank=True)
    assist_batch = models.ForeignKey(
        "screening.AssistBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="imports"
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def progress_percent(self) -> int:
        if not self.rows_total:
            return 100 if self.status in (ImportStatus.DONE, ImportStatus.VALIDATED) else 0
        return min(100, round(100 * self.rows_done / self.rows_total))


class ColumnMapping(TimeStampedModel):
    """A mapping of a sheet's headers to our fields, saved by a user for the next file of the same layout."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    signature = models.CharField(_("header signature"), max_length=64, db_index=True)
    headers = models.JSONField(_("headers"), default=list)
    mapping = models.JSONField(_("column mapping"), default=dict)

    class Meta:
        verbose_name = _("saved column mapping")
        verbose_name_plural = _("saved column mappings")
        constraints = [models.UniqueConstraint(fields=["owner", "signature"], name="mapping_one_per_layout")]

    def __str__(self) -> str:
        return self.name


class AssistBatch(VersionedModel):
    """A 协查 list pushed from the level above, with its deadlines."""

    reference = models.CharField(_("reference"), max_length=80, blank=True)
    source = models.CharField(_("sent by"), max_length=200)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    deadline_at = models.DateTimeField(_("report back by"))
    locate_within_hours = models.PositiveSmallIntegerField(_("locate within (hours)"))
    control_within_hours = models.PositiveSmallIntegerField(_("control within (hours)"))
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    note = models.TextField(_("note"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("协查 batch")
        verbose_name_plural = _("协查 batches")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.reference or self.source} ({timezone.localtime(self.received_at):%Y-%m-%d %H:%M})"


class AssistStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    LOCATED = "located", _("located")
    CONTROLLED = "controlled", _("controlled (measure assigned)")
    NOT_FOUND = "not_found", _("not found")
    LEFT = "left", _("has left")
    TRANSFERRED = "transferred", _("out of jurisdiction (transferred)")


ASSIST_FINAL_STATUSES = (AssistStatus.CONTROLLED, AssistStatus.NOT_FOUND, AssistStatus.LEFT, AssistStatus.TRANSFERRED)


class AssistItem(VersionedModel):
    """One person on a 协查 list, distributed to a township/grid, followed from pending to a final status."""

    batch = models.ForeignKey(AssistBatch, verbose_name=_("batch"), on_delete=models.CASCADE, related_name="items")
    row_number = models.PositiveIntegerField(_("row"), default=0)
    name = models.CharField(_("name"), max_length=100)
    id_type = models.CharField(_("ID type"), max_length=12, blank=True)
    id_number = models.CharField(_("ID number"), max_length=32, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    origin = models.CharField(_("coming from"), max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    person = models.ForeignKey(
        "people.Person", verbose_name=_("person"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The township/community/grid the item was distributed to.
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    household = models.ForeignKey(
        "regions.Household", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=AssistStatus.choices, default=AssistStatus.PENDING, db_index=True
    )
    located_at = models.DateTimeField(_("located at"), null=True, blank=True)
    controlled_at = models.DateTimeField(_("controlled at"), null=True, blank=True)
    left_to = models.CharField(_("left for"), max_length=200, blank=True)
    transferred_to = models.CharField(_("transferred to"), max_length=200, blank=True)
    outcome_note = models.TextField(_("outcome"), blank=True)
    arrival = models.ForeignKey(Arrival, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    measure = models.ForeignKey("policy.Measure", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    PII_FIELDS = {"id_number": "id_number", "phone": "phone", "address": "address"}

    class Meta:
        verbose_name = _("协查 person")
        verbose_name_plural = _("协查 persons")
        ordering = ["batch", "row_number", "id"]
        indexes = [models.Index(fields=["batch", "status"], name="assist_batch_status_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.batch})"


class CampaignQuerySet(ScopedQuerySet["Campaign"]):
    def visibility_q(self, scope: Scope) -> Q | None:
        """A campaign is seen inside its division and by everyone working inside it (a grid sees its village's)."""
        condition = super().visibility_q(scope)
        inside: Q | None = None
        for prefix in scope.paths:
            # The campaign's division is an ancestor of (or equal to) the user's path.
            branch = Q(path__in=[prefix[:n] for n in range(2, len(prefix) + 1)])
            inside = branch if inside is None else inside | branch
        if inside is None:
            return condition
        return inside if condition is None else condition | inside


class Campaign(VersionedModel):
    """全覆盖入户排查: every household of a division visited within a date range."""

    name = models.CharField(_("name"), max_length=120)
    division = models.ForeignKey(
        "regions.Division", verbose_name=_("division"), on_delete=models.PROTECT, related_name="+"
    )
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    date_from = models.DateField(_("from"))
    date_to = models.DateField(_("to"))
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("door-to-door campaign")
        verbose_name_plural = _("door-to-door campaigns")
        ordering = ["-date_from", "-id"]
        constraints = [
            models.CheckConstraint(name="campaign_dates_in_order", condition=Q(date_to__gte=models.F("date_from"))),
        ]

    def __str__(self) -> str:
        return self.name


class VisitOutcome(models.TextChoices):
    VISITED = "visited", _("visited")
    NOBODY_HOME = "nobody_home", _("nobody home")
    REFUSED = "refused", _("refused")


class HouseholdVisit(VersionedModel):
    """The latest visit of a household in a campaign; a revisit updates it (the history keeps each)."""

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="visits")
    household = models.ForeignKey(
        "regions.Household", verbose_name=_("household"), on_delete=models.PROTECT, related_name="+"
    )
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=VisitOutcome.choices)
    visited_at = models.DateTimeField(_("visited at"))
    visited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    members_present = models.PositiveSmallIntegerField(_("members present"), default=0)
    returnees_found = models.PositiveSmallIntegerField(_("returnees found"), default=0)
    symptoms = models.BooleanField(_("anyone with symptoms"), default=False)
    unvaccinated = models.PositiveSmallIntegerField(_("members not vaccinated"), default=0)
    note = models.TextField(_("note"), blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("household visit")
        verbose_name_plural = _("household visits")
        ordering = ["-visited_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "household"], name="visit_one_per_household")]
        indexes = [models.Index(fields=["campaign", "path"], name="visit_campaign_path_idx")]

    def __str__(self) -> str:
        return f"{self.household} {self.get_outcome_display()}"


class ReevaluationStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class Reevaluation(TimeStampedModel):
    """A background re-evaluation of arrivals after the risk list or the policy changed, with its change list."""

    reason = models.CharField(_("reason"), max_length=300)
    kind = models.CharField(_("kind"), max_length=12)  # "areas" | "edition"
    area_ids = models.JSONField(_("risk areas"), default=list, blank=True)
    edition_id = models.PositiveIntegerField(_("edition"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=ReevaluationStatus.choices, default=ReevaluationStatus.QUEUED
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rows_total = models.PositiveIntegerField(_("arrivals to check"), default=0)
    rows_done = models.PositiveIntegerField(_("arrivals checked"), default=0)
    # [{"change": "created", "measure": "home_quarantine", "count": 12, "path_counts": {...}}]
    summary = models.JSONField(_("change list"), default=list, blank=True)
    changed = models.JSONField(_("changed arrivals"), default=list, blank=True)  # [[arrival id, change, measure]]
    message = models.TextField(_("message"), blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("re-evaluation")
        verbose_name_plural = _("re-evaluations")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.reason
