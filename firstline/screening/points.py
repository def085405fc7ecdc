"""Writes on self-registration points (the places a printed QR code leads to), and their QR codes.

Kept beside ``services.py`` (arrivals) as the points' own small use cases: create one, switch it on or off.
"""

from __future__ import annotations

import io
import secrets

import segno
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from firstline.accounts.models import User
from firstline.accounts.roles import Perm
from firstline.core import audit
from firstline.core.models import AuditAction
from firstline.core.scoping import require, scope_of
from firstline.regions.models import Division
from firstline.screening.models import PointKind, RegistrationPoint

TOKEN_BYTES = 12  # 16 URL-safe characters: unguessable, short enough for a small QR code


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


@transaction.atomic
def point_create(*, actor: User, kind: str, name: str, division: Division | None) -> RegistrationPoint:
    """A community or checkpoint registration point inside the actor's jurisdiction, with a random public code."""
    require(actor, Perm.POINT_MANAGE)
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors.setdefault("name", []).append(_("The name is required."))
    if kind not in PointKind.values:
        errors.setdefault("kind", []).append(_("Unknown kind %(kind)r.") % {"kind": kind})
    if division is None:
        errors.setdefault("division", []).append(_("Choose the division the point belongs to."))
    elif not scope_of(actor).covers_path(division.code):
        errors.setdefault("division", []).append(_("This division is outside your jurisdiction."))
    if errors:
        raise ValidationError(errors)
    assert division is not None
    for _attempt in range(3):
        try:
            with transaction.atomic():
                point = RegistrationPoint.objects.create(
                    kind=kind,
                    name=name[:120],
                    division=division,
                    path=division.code,
                    token=new_token(),
                    created_by=actor,
                )
            break
        except IntegrityError:  # a token collision: astronomically rare, try another
            continue
    else:
        raise ValidationError({"name": [_("Could not create a unique public code; try again.")]})
    audit.record(actor=actor, action=AuditAction.CREATE, instance=point, changes=audit.diff({}, audit.snapshot(point)))
    return point


@transaction.atomic
def point_set_active(*, actor: User, point: RegistrationPoint, active: bool) -> RegistrationPoint:
    """Switch a point on or off; an inactive point's QR code leads nowhere (404)."""
    require(actor, Perm.POINT_MANAGE)
    if not scope_of(actor).covers_path(point.path):
        raise ValidationError({"point": [_("This point is outside your jurisdiction.")]})
    if point.active == active:
        return point
    before = audit.snapshot(point)
    RegistrationPoint.objects.filter(pk=point.pk).update(active=active)
    point.active = active
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=point, changes=audit.diff(before, audit.snapshot(point))
    )
    return point


def qr_svg_inline(url: str, *, scale: int = 8) -> str:
    """The QR code as an inline ``<svg>`` element (no XML declaration), to print on the poster."""
    # omitsize: a viewBox instead of a fixed size, so the print stylesheet sizes it on the page.
    return str(segno.make(url, error="m").svg_inline(scale=scale, border=2, omitsize=True, svgclass="fl-qr"))


def qr_file(url: str, *, kind: str, scale: int = 10) -> bytes:
    """The QR code as a downloadable SVG or PNG file."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind=kind, scale=scale, border=4)
    return buffer.getvalue()
