"""The self-report link of a home placement: /h/<token>/, no login.

The token is the placement id signed (salted) with the site's secret: it cannot be guessed or altered, works for as
long as the placement is active (released, transferred or ended: the link leads to a friendly "no longer in use"
page) and shows nothing but the person's given name and today's slots.
"""

from __future__ import annotations

from typing import Any

import segno
from django.core import signing
from django.urls import reverse

from firstline.quarantine.models import Placement, PlacementKind, PlacementStatus

SALT = "firstline.quarantine.self-report"


def token_for(placement: Placement) -> str:
    return signing.Signer(salt=SALT).sign_object(placement.pk)


def placement_for_token(token: str) -> Placement | None:
    """The active home placement a token names; None for a tampered token or a placement no longer active."""
    try:
        pk = signing.Signer(salt=SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(pk, int):
        return None
    return (
        Placement.objects.filter(pk=pk, kind=PlacementKind.HOME, status=PlacementStatus.ACTIVE)
        .select_related("person")
        .first()
    )


def path_for(placement: Placement) -> str:
    return reverse("health_public:report", args=[token_for(placement)])


def url_for(request: Any, placement: Placement) -> str:
    return str(request.build_absolute_uri(path_for(placement)))


def qr_svg_inline(url: str, *, scale: int = 6) -> str:
    """The link as an inline ``<svg>`` QR code (a viewBox, sized by the stylesheet)."""
    return str(segno.make(url, error="m").svg_inline(scale=scale, border=2, omitsize=True, svgclass="fl-qr"))


def given_name(name: str) -> str:
    """The name shown on the public page: a Latin name's first word; of a Chinese or Tibetan name only the last
    characters (the given part of a Han name; the personal part of a four-character Tibetan name), the rest as *."""
    name = (name or "").strip()
    if " " in name:
        return name.split()[0]
    if len(name) <= 1:
        return name
    kept = 1 if len(name) == 2 else 2
    return "*" * (len(name) - kept) + name[-kept:]
