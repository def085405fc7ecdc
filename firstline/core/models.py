from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from firstline.core.scoping import Scope, ScopedQuerySet


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class VersionedModel(TimeStampedModel):
    """A record people edit concurrently: every write bumps ``version`` (optimistic locking)."""

    version = models.PositiveIntegerField(_("version"), default=1)

    # Fields whose values are personal data: masked in pages, history and exports for roles without full PII.
    PII_FIELDS: ClassVar[dict[str, str]] = {}

    class Meta:
        abstract = True


class AuditAction(models.TextChoices):
    CREATE = "create", _("created")
    UPDATE = "update", _("updated")
    DELETE = "delete", _("deleted")
    MERGE = "merge", _("merged")
    REVEAL = "reveal", _("revealed personal data")
    EXPORT = "export", _("exported")
    LOGIN = "login", _("logged in")
    LOGIN_FAILED = "login_failed", _("login failed")
    OTHER = "other", _("other")


class AuditEventQuerySet(ScopedQuerySet["AuditEvent"]):
    def visibility_q(self, scope: Scope) -> Q | None:
        """Events inside the scope; events without a place (account changes) only for a city-wide scope."""
        condition = super().visibility_q(scope)
        if not scope.covers_path(settings.FIRSTLINE_CITY_CODE):
            return condition
        placeless = Q(path="")
        return placeless if condition is None else condition | placeless


class AuditEvent(models.Model):
    """One write or sensitive read. Append-only: nothing updates or deletes these rows."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept as text too, so the log stays readable if the account is ever removed.
    actor_username = models.CharField(_("actor username"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices, db_index=True)
    content_type = models.ForeignKey(
        ContentType, verbose_name=_("record type"), null=True, blank=True, on_delete=models.PROTECT
    )
    object_id = models.CharField(_("record id"), max_length=64, blank=True)
    object_repr = models.CharField(_("record"), max_length=200, blank=True)
    path = models.CharField(_("jurisdiction path"), max_length=40, blank=True, db_index=True)
    version = models.PositiveIntegerField(_("version after"), null=True, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "-at"], name="audit_object_idx"),
            models.Index(fields=["actor", "-at"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username} {self.action} {self.object_repr}"

    def change_rows(self) -> list[tuple[str, Any, Any]]:
        return [(field, pair[0], pair[1]) for field, pair in sorted(self.changes.items())]
