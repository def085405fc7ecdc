from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from firstline.core import identity
from firstline.core.models import TimeStampedModel, VersionedModel
from firstline.core.scoping import ScopedQuerySet


class IdType(models.TextChoices):
    RESIDENT = identity.RESIDENT_ID, _("resident ID card")
    RESIDENT15 = identity.OLD_RESIDENT_ID, _("old 15-digit resident ID")
    HMT_PERMIT = identity.HMT_PERMIT, _("Hong Kong / Macao / Taiwan residence permit")
    PASSPORT = identity.PASSPORT, _("passport")
    OTHER = identity.OTHER, _("other document")


class Sex(models.TextChoices):
    MALE = "M", _("male")
    FEMALE = "F", _("female")
    UNKNOWN = "", _("unknown")


class PersonQuerySet(ScopedQuerySet["Person"]):
    def active(self) -> PersonQuerySet:
        return self.filter(merged_into__isnull=True)


class Person(VersionedModel):
    """One human being. The ID number is the identity (names repeat: 扎西, 卓玛 …); the phone comes second."""

    name = models.CharField(_("name"), max_length=100)
    name_pinyin = models.CharField(_("pinyin"), max_length=200, blank=True, db_index=True)
    name_initials = models.CharField(_("pinyin initials"), max_length=50, blank=True, db_index=True)
    id_type = models.CharField(_("ID type"), max_length=12, choices=IdType.choices, default=IdType.RESIDENT)
    id_number = models.CharField(_("ID number"), max_length=32)
    phone = models.CharField(_("phone"), max_length=11, blank=True, db_index=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    ethnicity = models.CharField(_("ethnicity"), max_length=20, blank=True)
    household = models.ForeignKey(
        "regions.Household",
        verbose_name=_("household"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    # The household's grid path, or a division code when the person has no household here yet.
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
        # Almost every row is NULL: a full index on it lures planners into scanning it for "IS NULL"; the
        # partial index below serves "who was merged into X" only.
        db_index=False,
    )

    PII_FIELDS: ClassVar[dict[str, str]] = {"id_number": "id_number", "phone": "phone"}

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["id_type", "id_number"], name="person_unique_id"),
            models.CheckConstraint(condition=~Q(id_number=""), name="person_id_number_not_empty"),
        ]
        indexes = [
            models.Index(fields=["path", "name"], name="person_path_name_idx"),
            models.Index(fields=["name", "birth_date"], name="person_name_birth_idx"),
            models.Index(fields=["merged_into"], name="person_merged_into_idx", condition=Q(merged_into__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.name


class DuplicateDismissal(TimeStampedModel):
    """“Not a duplicate”: remembered so the pair never comes back for review (a Go.Data complaint)."""

    person_low = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    person_high = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    dismissed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("duplicate dismissal")
        verbose_name_plural = _("duplicate dismissals")
        constraints = [
            models.UniqueConstraint(fields=["person_low", "person_high"], name="dismissal_unique_pair"),
            models.CheckConstraint(condition=Q(person_low__lt=models.F("person_high")), name="dismissal_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.person_low_id} ≠ {self.person_high_id}"
