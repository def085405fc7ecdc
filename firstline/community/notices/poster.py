"""The QR code of a division's public notices page, for the A4 poster put up in the community and for download."""

from __future__ import annotations

import io

import segno
from django.http import HttpRequest
from django.urls import reverse

QR_FORMATS = {"svg": "image/svg+xml", "png": "image/png"}


def public_url(request: HttpRequest, code: str) -> str:
    """The absolute address of the division's public page (what the QR code holds)."""
    return request.build_absolute_uri(reverse("notices_public:division", args=[code]))


def _qr(url: str) -> segno.QRCode:
    return segno.make(url, error="m")


def qr_svg_inline(url: str, *, scale: int = 8) -> str:
    """The QR code as an inline ``<svg>`` (a viewBox, no fixed size: the print stylesheet sizes it)."""
    return str(_qr(url).svg_inline(scale=scale, border=2, omitsize=True, svgclass="fl-qr"))


def qr_file(url: str, *, kind: str, scale: int = 10) -> bytes:
    """The QR code as a downloadable SVG or PNG file."""
    if kind not in QR_FORMATS:
        raise ValueError(f"unknown QR format {kind!r}")
    buffer = io.BytesIO()
    _qr(url).save(buffer, kind=kind, scale=scale, border=4)
    return buffer.getvalue()
