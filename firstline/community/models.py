"""The three asks of the letter beyond screening, tracing and quarantine.

- Frontline care (关心关爱一线): ``FrontlineWorker`` flags a person (and their account) as working on the front line
  with their post; a ``CareRequest`` for a practical difficulty is routed to the township of the worker's home,
  handled through a task, and closed by the requester's confirmation. Supplies needed by people in home quarantine
  (``quarantine.CareNeed``) land in the same queue.
- Party members and volunteers (八个带头): ``Volunteer`` registry, ``Commitment`` (the eight take-the-leads, shipped as
  data) and ``PledgeSignature``; ``Post`` with ``Shift`` rows make the duty roster; ``ServiceEntry`` adds service
  done outside a shift. Service records are derived from these, tasks done and households covered.
- Notices and rumour control (不信谣、不造谣、不传谣): a ``Notice`` published by a division to its subtree, with
  attachments and read receipts; a ``PublicReport`` from anyone (no login) is triaged by the township.
"""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from firstline.core.models import TimeStampedModel, VersionedModel
from firstline.core.scoping import Scope, ScopedQuerySet
from firstline.regions.models import ancestor_codes

# --- Frontline care ----------------------------------------------------------------------------------------------


class FrontlinePost(models.TextChoices):
    GRID = "grid", _("grid worker")
    CHECKPOINT = "checkpoint", _("checkpoint staff")
    QUARANTINE_SITE = "quarantine_site", _("quarantine-site staff")
    MEDICAL = "medical", _("medical staff")
    POLICE = "police", _("police officer on duty")
    VOLUNTEER = "volunteer", _("volunteer")
    OTHER = "other", _("other")


_M = TypeVar("_M", bound=models.Model)


class MineQuerySet(ScopedQuerySet[_M], Generic[_M]):
    """Rows inside the user's jurisdiction, and the user's own wherever they are (``mine_field`` names the account:
    a site-staff nurse sees her own frontline record and shifts though she holds no jurisdiction)."""

    mine_field = "user_id"

    def visibility_q(self, scope: Scope) -> Q | None:
        condition = super().visibility_q(scope)
        if scope.user_id is None:
            return condition
        mine = Q(**{self.mine_field: scope.user_id})
        return mine if condition is None else condition | mine


class FrontlineWorkerQuerySet(MineQuerySet["FrontlineWorker"]):
    pass


class FrontlineWorker(VersionedModel):
    """A person working on the front line, with their post; their home decides who looks after their family."""

    person = models.OneToOneField(
        "people.Person", verbose_name=_("person"), on_delete=models.PROTECT, related_name="frontline"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="frontline",
    )
    post_kind = models.CharField(_("post"), max_length=16, choices=FrontlinePost.choices)
    post = models.CharField(_("where / what"), max_length=120, blank=True)
    organisation = models.CharField(_("organisation"), max_length=120, blank=True)
    # The person's home path: care requests go to the township / party organisation there.
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    active = models.BooleanField(_("on the front line now"), default=True)
    since = models.DateField(_("since"), null=True, blank=True)

    objects = FrontlineWorkerQuerySet.as_manager()

    class Meta:
        verbose_name = _("frontline worker")
        verbose_name_plural = _("frontline workers")
        ordering = ["-active", "path", "id"]

    def __str__(self) -> str:
        return f"{self.person} · {self.get_post_kind_display()}"


class CareCategory(models.TextChoices):
    FAMILY_CARE = "family_care", _("a family member needs care")
    CHILD_CARE = "child_care", _("child care")
    MEALS = "meals", _("meals and supplies")
    TRANSPORT = "transport", _("transport")
    HEALTH = "health", _("health")
    HOUSING = "housing", _("housing")
    OTHER = "other", _("other")


class CareUrgency(models.IntegerChoices):
    NORMAL = 2, _("normal")
    HIGH = 3, _("high")
    URGENT = 4, _("urgent")


class CareStatus(models.TextChoices):
    OPEN = "open", _("open")
    ASSIGNED = "assigned", _("assigned")
    HANDLED = "handled", _("handled, awaiting confirmation")
    CLOSED = "closed", _("closed")
    CANCELLED = "cancelled", _("cancelled")


OPEN_CARE_STATUSES = (CareStatus.OPEN, CareStatus.ASSIGNED)


class CareSource(models.TextChoices):
    FRONTLINE = "frontline", _("frontline worker")
    QUARANTINE = "quarantine", _("home quarantine supplies")


class CareRequestQuerySet(ScopedQuerySet["CareRequest"]):
    def visibility_q(self, scope: Scope) -> Q | None:
        """Requests inside the user's jurisdiction, the ones they filed, are the subject of, or handle."""
        condition = super().visibility_q(scope)
        if scope.user_id is None:
            return condition
        mine = Q(filed_by_id=scope.user_id) | Q(handler_id=scope.user_id) | Q(worker__user_id=scope.user_id)
        return mine if condition is None else condition | mine


class CareRequest(VersionedModel):
    """A practical difficulty of a frontline worker (or supplies for someone in home quarantine), to resolution."""

    source = models.CharField(_("from"), max_length=12, choices=CareSource.choices, default=CareSource.FRONTLINE)
    worker = models.ForeignKey(
        FrontlineWorker,
        verbose_name=_("frontline worker"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="care_requests",
    )
    # Who is helped (the worker themself for a frontline request; the quarantined person for supplies).
    person = models.ForeignKey("people.Person", verbose_name=_("person"), on_delete=models.PROTECT, related_name="+")
    care_need = models.OneToOneField(
        "quarantine.CareNeed",
        verbose_name=_("home-quarantine need"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="care_request",
    )
    category = models.CharField(_("category"), max_length=12, choices=CareCategory.choices)
    urgency = models.PositiveSmallIntegerField(_("urgency"), choices=CareUrgency.choices, default=CareUrgency.NORMAL)
    description = models.TextField(_("description"))
    household = models.ForeignKey(
        "regions.Household",
        verbose_name=_("household"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Routing: the township (or village) of the worker's home.
    division = models.ForeignKey(
        "regions.Division", verbose_name=_("handled by"), on_delete=models.PROTECT, related_name="+"
    )
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("filed by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    on_behalf = models.BooleanField(_("filed for the worker by someone else"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=CareStatus.choices, default=CareStatus.OPEN)
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handler"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    task = models.ForeignKey(
        "dispatch.Task", verbose_name=_("task"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_at = models.DateTimeField(_("due"), db_index=True)
    action_taken = models.TextField(_("what was done"), blank=True)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    reopened = models.PositiveSmallIntegerField(_("times reopened"), default=0)

    objects = CareRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("care request")
        verbose_name_plural = _("care requests")
        ordering = ["-urgency", "due_at", "id"]
        indexes = [models.Index(fields=["status", "due_at"], name="care_status_due_idx")]

    def __str__(self) -> str:
        return f"{self.get_category_display()} · {self.person}"


class CareEventKind(models.TextChoices):
    FILED = "filed", _("filed")
    ASSIGNED = "assigned", _("assigned")
    HANDLED = "handled", _("handled")
    CONFIRMED = "confirmed", _("confirmed")
    REOPENED = "reopened", _("reopened")
    ESCALATED = "escalated", _("escalated")
    CANCELLED = "cancelled", _("cancelled")
    NOTE = "note", _("note")


class CareEvent(models.Model):
    """The request's timeline as the requester and the handlers see it."""

    request = models.ForeignKey(CareRequest, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("time"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(_("what"), max_length=10, choices=CareEventKind.choices)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("care request event")
        verbose_name_plural = _("care request events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return self.get_kind_display()


# --- Party members and volunteers --------------------------------------------------------------------------------


class VolunteerKind(models.TextChoices):
    PARTY_MEMBER = "party_member", _("party member")
    VOLUNTEER = "volunteer", _("volunteer")


class VolunteerQuerySet(MineQuerySet["Volunteer"]):
    pass


class Volunteer(VersionedModel):
    """A party member or volunteer: who they are, their branch, skills and when they can serve."""

    person = models.OneToOneField(
        "people.Person", verbose_name=_("person"), on_delete=models.PROTECT, related_name="volunteer"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="volunteer",
    )
    kind = models.CharField(_("kind"), max_length=14, choices=VolunteerKind.choices)
    party_branch = models.CharField(_("party branch"), max_length=120, blank=True)
    skills = models.JSONField(_("skills"), default=list, blank=True)
    availability = models.CharField(_("availability"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=11, blank=True)
    # Where they serve (a division or grid path): who organises them sees them.
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    active = models.BooleanField(_("active"), default=True)
    joined_on = models.DateField(_("joined on"), null=True, blank=True)

    PII_FIELDS: ClassVar[dict[str, str]] = {"phone": "phone"}

    objects = VolunteerQuerySet.as_manager()

    class Meta:
        verbose_name = _("party member / volunteer")
        verbose_name_plural = _("party members and volunteers")
        ordering = ["path", "id"]

    def __str__(self) -> str:
        return f"{self.person} · {self.get_kind_display()}"


class Commitment(models.Model):
    """One of the eight take-the-leads (八个带头): a pledge to sign and a category of service. Data, editable."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    number = models.PositiveSmallIntegerField(_("number"))
    title = models.CharField(_("short title"), max_length=60)
    text = models.TextField(_("pledge text"))
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("commitment")
        verbose_name_plural = _("commitments")
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"


class PledgeSignature(TimeStampedModel):
    volunteer = models.ForeignKey(Volunteer, verbose_name=_("member"), on_delete=models.CASCADE, related_name="pledges")
    commitment = models.ForeignKey(
        Commitment, verbose_name=_("commitment"), on_delete=models.PROTECT, related_name="signatures"
    )
    signed_on = models.DateField(_("signed on"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("pledge")
        verbose_name_plural = _("pledges")
        ordering = ["commitment__number"]
        constraints = [models.UniqueConstraint(fields=["volunteer", "commitment"], name="pledge_once_per_member")]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.commitment}"


class PostKind(models.TextChoices):
    CHECKPOINT = "checkpoint", _("checkpoint")
    VENUE_DOOR = "venue_door", _("venue door")
    QUARANTINE_SITE = "quarantine_site", _("quarantine site")
    SCREENING = "screening", _("screening team")
    SUPPLY = "supply", _("supply delivery")
    DOOR_TO_DOOR = "door_to_door", _("door-to-door visits")
    OTHER = "other", _("other")


class Post(VersionedModel):
    """A place or team that needs people on duty, with the hours and staffing a roster must cover."""

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=PostKind.choices)
    place = models.CharField(_("place"), max_length=200, blank=True)
    division = models.ForeignKey(
        "regions.Division", verbose_name=_("division"), on_delete=models.PROTECT, related_name="+"
    )
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    # Daily hours to cover (a post open round the clock: 00:00–24:00) and people needed at any time.
    opens_at = models.TimeField(_("covered from"))
    closes_at = models.TimeField(_("covered until"), help_text=_("Earlier than the start means past midnight."))
    min_staff = models.PositiveSmallIntegerField(_("people needed at once"), default=1)
    active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("duty post")
        verbose_name_plural = _("duty posts")
        ordering = ["path", "name"]

    def __str__(self) -> str:
        return self.name


class ShiftStatus(models.TextChoices):
    PLANNED = "planned", _("planned")
    ON_DUTY = "on_duty", _("on duty")
    DONE = "done", _("done")
    MISSED = "missed", _("missed")
    CANCELLED = "cancelled", _("cancelled")


class ShiftQuerySet(MineQuerySet["Shift"]):
    mine_field = "volunteer__user_id"


class Shift(VersionedModel):
    """One person on one post for one span of time; a person is never in two places at once."""

    post = models.ForeignKey(Post, verbose_name=_("post"), on_delete=models.PROTECT, related_name="shifts")
    volunteer = models.ForeignKey(Volunteer, verbose_name=_("member"), on_delete=models.PROTECT, related_name="shifts")
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    status = models.CharField(_("status"), max_length=10, choices=ShiftStatus.choices, default=ShiftStatus.PLANNED)
    checked_in_at = models.DateTimeField(_("checked in"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("checked out"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ShiftQuerySet.as_manager()

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["start", "post", "id"]
        constraints = [models.CheckConstraint(name="shift_end_after_start", condition=Q(end__gt=models.F("start")))]
        indexes = [
            models.Index(fields=["volunteer", "start"], name="shift_volunteer_start_idx"),
            models.Index(fields=["post", "start"], name="shift_post_start_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} @ {self.post}"


class ServiceEntry(TimeStampedModel):
    """Service outside a rostered shift (a delivery run, an evening of phone calls), under a commitment."""

    volunteer = models.ForeignKey(
        Volunteer, verbose_name=_("member"), on_delete=models.CASCADE, related_name="service_entries"
    )
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    day = models.DateField(_("day"))
    hours = models.DecimalField(_("hours"), max_digits=4, decimal_places=1)
    commitment = models.ForeignKey(
        Commitment, verbose_name=_("commitment"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(_("what was done"), max_length=300)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("service entry")
        verbose_name_plural = _("service entries")
        ordering = ["-day", "-id"]
        constraints = [
            models.CheckConstraint(name="service_hours_range", condition=Q(hours__gt=0) & Q(hours__lte=24)),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} {self.day.isoformat()} {self.hours}h"


# --- Notices and public reports ----------------------------------------------------------------------------------


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PUBLISHED = "published", _("published")
    WITHDRAWN = "withdrawn", _("withdrawn")


class NoticeQuerySet(ScopedQuerySet["Notice"]):
    def visibility_q(self, scope: Scope) -> Q | None:
        """Notices of the user's divisions and of every division above them (a notice reaches its subtree)."""
        condition = super().visibility_q(scope)
        if scope.user_id is None:
            return condition
        above: Q | None = None
        for prefix in scope.paths:
            branch = Q(path__in=ancestor_codes(prefix), status=NoticeStatus.PUBLISHED)
            above = branch if above is None else above | branch
        if above is None:
            return condition
        return above if condition is None else condition | above


class Notice(VersionedModel):
    """An official notice of a division to everyone below it; public pages show the published ones."""

    division = models.ForeignKey(
        "regions.Division", verbose_name=_("published by"), on_delete=models.PROTECT, related_name="+"
    )
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    effective_from = models.DateField(_("effective from"))
    expires_on = models.DateField(_("until"), null=True, blank=True)
    pinned = models.BooleanField(_("pinned"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = NoticeQuerySet.as_manager()

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-pinned", "-effective_from", "-id"]
        indexes = [models.Index(fields=["status", "path"], name="notice_status_path_idx")]

    def __str__(self) -> str:
        return self.title


class NoticeAttachment(TimeStampedModel):
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to="notices/%Y/%m/")
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    content_type = models.CharField(_("type"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class NoticeRead(models.Model):
    """A read receipt: staff opened the notice."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(_("read at"), auto_now_add=True)

    class Meta:
        verbose_name = _("read receipt")
        verbose_name_plural = _("read receipts")
        constraints = [models.UniqueConstraint(fields=["notice", "user"], name="notice_read_once")]

    def __str__(self) -> str:
        return f"{self.notice_id}:{self.user_id}"


class ReportKind(models.TextChoices):
    RUMOUR = "rumour", _("a suspected rumour")
    VIOLATION = "violation", _("a violation of the rules")
    UNREGISTERED_ARRIVAL = "unregistered_arrival", _("an arrival who has not registered")


class ReportStatus(models.TextChoices):
    NEW = "new", _("new")
    VERIFIED = "verified", _("verified")
    FALSE = "false", _("false")
    DUPLICATE = "duplicate", _("duplicate")
    REFERRED = "referred", _("referred to a department")


class PublicReportQuerySet(ScopedQuerySet["PublicReport"]):
    def visibility_q(self, scope: Scope) -> Q | None:
        """Reports in the user's jurisdiction, and those referred to the user's departments."""
        condition = super().visibility_q(scope)
        if scope.department_ids:
            referred = Q(referred_to_id__in=scope.department_ids)
            condition = referred if condition is None else condition | referred
        return condition


class PublicReport(VersionedModel):
    """A report from the public (no login): a rumour, a violation, or an arrival who has not registered."""

    kind = models.CharField(_("kind"), max_length=22, choices=ReportKind.choices)
    description = models.TextField(_("what happened"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    occurred_at = models.DateTimeField(_("when"), null=True, blank=True)
    photo = models.ImageField(_("photo"), upload_to="reports/%Y/%m/", blank=True)
    contact = models.CharField(_("contact"), max_length=60, blank=True)
    division = models.ForeignKey(
        "regions.Division", verbose_name=_("routed to"), on_delete=models.PROTECT, related_name="+"
    )
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.NEW)
    duplicate_of = models.ForeignKey(
        "self", verbose_name=_("duplicate of"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    referred_to = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("referred to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    answer = models.ForeignKey(
        Notice,
        verbose_name=_("answered by notice"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="answered_reports",
    )
    triage_note = models.TextField(_("triage note"), blank=True)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    triaged_at = models.DateTimeField(_("triaged at"), null=True, blank=True)
    task = models.ForeignKey(
        "dispatch.Task", verbose_name=_("task"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A keyed hash of the reporter's address (rate limits, abuse review); never the address itself.
    source_hash = models.CharField(max_length=64, blank=True)

    PII_FIELDS: ClassVar[dict[str, str]] = {"contact": "phone"}

    objects = PublicReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("public report")
        verbose_name_plural = _("public reports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "path"], name="report_status_path_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"
