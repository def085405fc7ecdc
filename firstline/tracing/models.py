"""Cases, exposures, derived contacts, venues with their check-ins, and transmission clusters.

The chain of evidence is stored, not inferred on the fly: a case's infectious window (from the policy edition),
the exposures (who met whom, when, where, how, and who says so), and the contacts derived from them with the
exposures they rest on. A contact released because its only exposure was rejected, or its case excluded, keeps
its row (status released, with the reason), so nothing that was once decided is lost.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from firstline.core.models import TimeStampedModel, VersionedModel
from firstline.core.scoping import ScopedQuerySet


class Classification(models.TextChoices):
    CONFIRMED = "confirmed", _("confirmed case")
    ASYMPTOMATIC = "asymptomatic", _("asymptomatic infection")
    SUSPECTED = "suspected", _("suspected case")
    EXCLUDED = "excluded", _("excluded")


# Classifications whose infectious window makes close contacts. A suspected case already does (contacts are
# traced while the result is awaited); an excluded one releases them.
ACTIVE_CLASSIFICATIONS = (Classification.CONFIRMED, Classification.ASYMPTOMATIC, Classification.SUSPECTED)


class FoundBy(models.TextChoices):
    ARRIVAL_SCREENING = "arrival_screening", _("arrival screening")
    CLINIC = "clinic", _("fever clinic / hospital")
    ROUTINE_TESTING = "routine_testing", _("routine testing")
    QUARANTINE = "quarantine", _("under quarantine as a contact")
    CAMPAIGN = "campaign", _("door-to-door campaign")
    OTHER = "other", _("other")


class Outcome(models.TextChoices):
    UNDER_CARE = "under_care", _("under treatment / isolation")
    RECOVERED = "recovered", _("recovered and discharged")
    DIED = "died", _("died")
    TRANSFERRED = "transferred", _("transferred elsewhere")


class Case(VersionedModel):
    """A confirmed, asymptomatic, suspected (or excluded) case, with its infectious window."""

    person = models.ForeignKey(
        "people.Person", verbose_name=_("person"), on_delete=models.PROTECT, related_name="cases"
    )
    # The person's jurisdiction when the case was reported.
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    classification = models.CharField(_("classification"), max_length=14, choices=Classification.choices)
    onset_date = models.DateField(_("symptom onset"), null=True, blank=True)
    sampling_date = models.DateField(_("sampling date"), null=True, blank=True)
    last_negative_date = models.DateField(_("last negative test"), null=True, blank=True)
    report_date = models.DateField(_("report date"))
    isolated_on = models.DateField(
        _("isolated on"), null=True, blank=True, help_text=_("The day the case was isolated; the report date if empty.")
    )
    found_by = models.CharField(_("found by"), max_length=20, choices=FoundBy.choices, default=FoundBy.OTHER)
    isolation_place = models.CharField(_("isolation / treatment place"), max_length=200, blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, default=Outcome.UNDER_CARE)
    outcome_date = models.DateField(_("outcome date"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # The window the edition in force gives, stored so contact queries are plain range conditions.
    edition = models.ForeignKey(
        "policy.PolicyEdition",
        verbose_name=_("edition"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    infectious_from = models.DateField(_("infectious from"))
    infectious_until = models.DateField(_("infectious until"))
    window = models.JSONField(_("how the window was set"), default=dict, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-report_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=~Q(classification="excluded"), name="case_one_open_per_person"
            ),
            models.CheckConstraint(
                name="case_onset_not_after_report",
                condition=Q(onset_date__isnull=True) | Q(onset_date__lte=F("report_date")),
            ),
            models.CheckConstraint(name="case_window_ordered", condition=Q(infectious_until__gte=F("infectious_from"))),
        ]
        indexes = [
            models.Index(fields=["classification", "report_date"], name="case_class_report_idx"),
            models.Index(fields=["path", "report_date"], name="case_path_report_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_classification_display()} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.classification in ACTIVE_CLASSIFICATIONS


class Setting(models.TextChoices):
    HOUSEHOLD = "household", _("household")
    WORKPLACE = "workplace", _("workplace")
    SHARED_MEAL = "shared_meal", _("shared meal")
    TRANSPORT = "transport", _("transport")
    VENUE = "venue", _("venue")
    CARE = "care", _("care")
    OTHER = "other", _("other")


class Proximity(models.TextChoices):
    UNKNOWN = "unknown", _("unknown")
    TOUCH = "touch", _("physical contact")
    WITHIN_1M = "within_1m", _("within 1 m")
    WITHIN_2M = "within_2m", _("within 2 m")
    SAME_ROOM = "same_room", _("same room / vehicle")
    SAME_VENUE = "same_venue", _("same venue")


class Protection(models.TextChoices):
    UNKNOWN = "unknown", _("unknown")
    NONE = "none", _("none")
    PARTIAL = "partial", _("partial (mask only)")
    EFFECTIVE = "effective", _("effective (full PPE)")


class ExposureOrigin(models.TextChoices):
    MANUAL = "manual", _("entered by the epidemiologist")
    HOUSEHOLD = "household", _("household membership")
    COPRESENCE = "copresence", _("venue co-presence")
    IMPORTED = "imported", _("imported list")


class ExposureStatus(models.TextChoices):
    # Found by the platform, not counted until someone accepts it (when auto-accept is off for its origin).
    CANDIDATE = "candidate", _("candidate")
    # Counted, but nobody has verified it yet (automatic exposures accepted by default).
    PENDING = "pending", _("accepted, pending verification")
    CONFIRMED = "confirmed", _("confirmed")
    REJECTED = "rejected", _("rejected")


# Exposures that make contacts.
COUNTED_STATUSES = (ExposureStatus.PENDING, ExposureStatus.CONFIRMED)


class Exposure(VersionedModel):
    """Source person (a case or a contact) → exposed person, over a span of time, with the evidence."""

    source = models.ForeignKey(
        "people.Person", verbose_name=_("source"), on_delete=models.PROTECT, related_name="exposures_caused"
    )
    exposed = models.ForeignKey(
        "people.Person", verbose_name=_("exposed person"), on_delete=models.PROTECT, related_name="exposures"
    )
    # The exposed person's jurisdiction: whoever follows that person sees the exposure.
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("until"))
    setting = models.CharField(_("setting"), max_length=12, choices=Setting.choices)
    proximity = models.CharField(_("proximity"), max_length=12, choices=Proximity.choices, default=Proximity.UNKNOWN)
    protection = models.CharField(
        _("protection"), max_length=10, choices=Protection.choices, default=Protection.UNKNOWN
    )
    evidence = models.TextField(_("evidence"), blank=True)
    origin = models.CharField(_("found by"), max_length=12, choices=ExposureOrigin.choices)
    status = models.CharField(_("status"), max_length=10, choices=ExposureStatus.choices)
    venue = models.ForeignKey(
        "tracing.Venue", verbose_name=_("venue"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    overlap_minutes = models.PositiveIntegerField(_("overlap (minutes)"), null=True, blank=True)
    # Automatic exposures carry a key so a second run finds the first one instead of adding a twin.
    key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("reason"), max_length=300, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("exposure")
        verbose_name_plural = _("exposures")
        ordering = ["-start", "-id"]
        constraints = [
            models.CheckConstraint(name="exposure_not_self", condition=~Q(source=F("exposed"))),
            models.CheckConstraint(name="exposure_end_after_start", condition=Q(end__gte=F("start"))),
        ]
        indexes = [
            models.Index(fields=["source", "status", "start"], name="exposure_source_idx"),
            models.Index(fields=["exposed", "status", "start"], name="exposure_exposed_idx"),
            models.Index(fields=["status", "origin"], name="exposure_status_origin_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id}→{self.exposed_id} {self.start:%Y-%m-%d}"

    @property
    def counted(self) -> bool:
        return self.status in COUNTED_STATUSES


class ContactKind(models.TextChoices):
    CLOSE = "close", _("close contact")
    SECONDARY = "secondary", _("secondary contact")


class ContactStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    RELEASED = "released", _("released")


class Contact(VersionedModel):
    """A person derived as a close or secondary contact, with the exposures the derivation rests on.

    One row per person: a secondary contact who is then found exposed to a case becomes a close contact; a contact
    whose exposures no longer hold is released (the row stays, with the reason).
    """

    person = models.OneToOneField(
        "people.Person", verbose_name=_("person"), on_delete=models.PROTECT, related_name="contact"
    )
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    kind = models.CharField(_("kind"), max_length=10, choices=ContactKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=ContactStatus.choices, default=ContactStatus.ACTIVE)
    first_exposure_at = models.DateTimeField(_("first exposure"))
    last_exposure_at = models.DateTimeField(_("last exposure"))
    # When the contact was isolated (quarantine started): later exposures from them make no secondary contacts.
    isolated_at = models.DateTimeField(_("isolated at"), null=True, blank=True)
    # The case the derivation starts from (for a secondary contact: the case of the close contact it came through).
    index_case = models.ForeignKey(
        Case, verbose_name=_("index case"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    exposures = models.ManyToManyField(Exposure, verbose_name=_("evidence"), related_name="contacts", blank=True)
    measure = models.ForeignKey(
        "policy.Measure", verbose_name=_("measure"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    release_reason = models.CharField(_("release reason"), max_length=300, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-last_exposure_at", "-id"]
        indexes = [models.Index(fields=["status", "kind"], name="contact_status_kind_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class VenueCategory(models.TextChoices):
    SUPERMARKET = "supermarket", _("supermarket")
    MARKET = "market", _("market")
    RESTAURANT = "restaurant", _("restaurant")
    HOTEL = "hotel", _("hotel")
    CLINIC = "clinic", _("clinic / hospital")
    PHARMACY = "pharmacy", _("pharmacy")
    SCHOOL = "school", _("school")
    OFFICE = "office", _("office")
    FACTORY = "factory", _("factory / workshop")
    SHOP = "shop", _("shop")
    BANK = "bank", _("bank")
    GOVERNMENT = "government", _("government service hall")
    RELIGIOUS = "religious", _("monastery / temple")
    GYM = "gym", _("gym / sports")
    ENTERTAINMENT = "entertainment", _("entertainment")
    BUS = "bus", _("bus")
    TAXI = "taxi", _("taxi")
    STATION = "station", _("station / airport")
    RESIDENTIAL = "residential", _("residential compound gate")
    OTHER = "other", _("other")


class Venue(VersionedModel):
    """A place with a venue QR code (场所码): scanning it records a check-in."""

    code = models.CharField(_("venue code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=120)
    category = models.CharField(_("category"), max_length=16, choices=VenueCategory.choices)
    address = models.CharField(_("address"), max_length=300, blank=True)
    grid = models.ForeignKey(
        "regions.Grid", verbose_name=_("grid"), null=True, blank=True, on_delete=models.PROTECT, related_name="venues"
    )
    # The grid's path, or the division's code when the venue belongs to no grid.
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    default_stay_minutes = models.PositiveSmallIntegerField(_("default stay (minutes)"), default=30)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("venue")
        verbose_name_plural = _("venues")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["path", "name"], name="venue_path_name_idx")]
        constraints = [
            models.CheckConstraint(name="venue_stay_positive", condition=Q(default_stay_minutes__gte=1)),
        ]

    def __str__(self) -> str:
        return self.name


class CheckInSource(models.TextChoices):
    PUBLIC = "public", _("scanned by the visitor")
    STAFF = "staff", _("entered by staff")
    IMPORT = "import", _("imported")


class CheckIn(models.Model):
    """One visit to a venue. Append-only and short-lived: deleted after the retention period.

    On PostgreSQL the table is partitioned by day on ``start`` (migration 0002), so retention drops whole
    partitions; the primary key there is (id, start). Nothing references a check-in by foreign key: exposures
    found from check-ins copy what they need into their evidence.
    """

    id = models.BigAutoField(primary_key=True)
    # No single-column indexes: (venue, start) and (person, start) below serve those look-ups, and every index is
    # one more write per check-in.
    venue = models.ForeignKey(
        Venue, verbose_name=_("venue"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    person = models.ForeignKey(
        "people.Person",
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # What the visitor gave (normalised); the person is found from it when known.
    phone = models.CharField(_("phone"), max_length=11, blank=True)
    id_number = models.CharField(_("ID number"), max_length=32, blank=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    start = models.DateTimeField(_("checked in"))
    end = models.DateTimeField(_("checked out"))
    # True when the visitor checked out; otherwise ``end`` is start + the venue's default stay.
    end_known = models.BooleanField(_("check-out recorded"), default=False)
    # Accompanying persons (同行人员) are check-ins of their own pointing at the main one.
    party_of = models.BigIntegerField(_("accompanying"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=8, choices=CheckInSource.choices, default=CheckInSource.PUBLIC)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    PII_FIELDS = {"id_number": "id_number", "phone": "phone"}

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["-start", "-id"]
        indexes = [
            models.Index(fields=["venue", "start"], name="checkin_venue_start_idx"),
            models.Index(fields=["person", "start"], name="checkin_person_start_idx"),
            models.Index(fields=["phone", "start"], name="checkin_phone_start_idx"),
            # Visits scanned with an ID number and no known person: co-presence looks them up by number.
            models.Index(fields=["id_number", "start"], name="checkin_id_number_start_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.venue_id} {self.start:%Y-%m-%d %H:%M}"


class ClusterQuerySet(ScopedQuerySet["Cluster"]):
    def visibility_q(self, scope):  # type: ignore[no-untyped-def]
        # A cluster is visible to whoever sees one of its members.
        member_q = ClusterMember.objects.visibility_q(scope)
        if member_q is None:
            return None
        return Q(pk__in=ClusterMember.objects.filter(member_q).values("cluster_id"))


class Cluster(TimeStampedModel):
    """A transmission chain: a connected component of cases and contacts over counted exposures.

    Recomputed as a whole (``tracing.clusters``); ``key`` (the smallest person id in it) keeps a cluster's
    identity across recomputations while its membership grows.
    """

    key = models.BigIntegerField(_("key"), unique=True)
    label = models.CharField(_("label"), max_length=40)
    size = models.PositiveIntegerField(_("persons"))
    case_count = models.PositiveIntegerField(_("cases"))
    exposure_count = models.PositiveIntegerField(_("exposures"))
    first_date = models.DateField(_("first exposure"))
    last_date = models.DateField(_("last exposure"))
    active = models.BooleanField(_("active"))
    # The first case's jurisdiction (for lists); visibility goes by members.
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)

    objects = ClusterQuerySet.as_manager()

    class Meta:
        verbose_name = _("transmission cluster")
        verbose_name_plural = _("transmission clusters")
        ordering = ["-active", "-last_date", "-size"]

    def __str__(self) -> str:
        return self.label


class MemberRole(models.TextChoices):
    CASE = "case", _("case")
    CLOSE = "close", _("close contact")
    SECONDARY = "secondary", _("secondary contact")
    OTHER = "other", _("exposed person")


class ClusterMember(models.Model):
    # No database constraints: only the recomputation writes these rows, and checking 100,000 fresh rows' keys at
    # commit doubled its time (Django still cascades deletes).
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="members", db_constraint=False)
    person = models.OneToOneField("people.Person", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    role = models.CharField(_("role"), max_length=10, choices=MemberRole.choices)
    classification = models.CharField(_("classification"), max_length=14, blank=True)
    path = models.CharField(_("jurisdiction path"), max_length=40)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("cluster member")
        verbose_name_plural = _("cluster members")
        # One index for the jurisdiction prefix (and equality): db_index would add a second, plain one on
        # PostgreSQL, one more write for each of 100,000 members.
        indexes = [models.Index(fields=["path"], name="cluster_member_path_idx", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return f"{self.cluster_id}:{self.person_id}"
