"""The venue's QR code (场所码) as SVG, PNG and an A4 PDF poster to print and put up at the door.

The PDF uses reportlab's built-in CID font STSong-Light for the Chinese text, so no font file ships or embeds
(every PDF reader in China has the Adobe-GB1 collection it maps to), and draws the QR code from segno's module
matrix as filled rectangles: vector output, sharp at any print size.
"""

from __future__ import annotations

import io

import segno
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from firstline.tracing.models import Venue

CJK_FONT = "STSong-Light"
LATIN_BOLD = "Helvetica-Bold"
LATIN = "Helvetica"
RED = (0.70, 0.15, 0.12)


def _qr(url: str) -> segno.QRCode:
    return segno.make(url, error="m")


def qr_svg_inline(url: str, *, scale: int = 8) -> str:
    """The QR code as an inline ``<svg>`` element (a viewBox, no fixed size: the print stylesheet sizes it)."""
    return str(_qr(url).svg_inline(scale=scale, border=2, omitsize=True, svgclass="fl-qr"))


def qr_file(url: str, *, kind: str, scale: int = 10) -> bytes:
    """The QR code as a downloadable SVG or PNG file."""
    buffer = io.BytesIO()
    _qr(url).save(buffer, kind=kind, scale=scale, border=4)
    return buffer.getvalue()


def _register_fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def _fit(text: str, font: str, size: float, width: float) -> float:
    """The largest font size ≤ ``size`` at which ``text`` fits ``width`` points."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    while size > 8 and stringWidth(text, font, size) > width:
        size -= 1
    return size


def poster_pdf(venue: Venue, url: str) -> bytes:
    """An A4 portrait page: the venue's name and category, the QR code, the code in large type, how to check in
    (in Chinese, whatever the viewer's language: the poster is for the visitors) and the address it leads to."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    _register_fonts()
    width, height = A4
    margin = 48.0
    usable = width - 2 * margin
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    with translation.override("zh-hans"):
        pdf.setTitle(f"{venue.name} - {_('Venue QR code')}")
        pdf.setSubject(venue.code)
        pdf.setCreator("Firstline")
        # Red band across the top, as on the printed registration posters.
        pdf.setFillColorRGB(*RED)
        pdf.rect(0, height - 40, width, 40, stroke=0, fill=1)
        pdf.setFillColorRGB(1, 1, 1)
        pdf.setFont(CJK_FONT, 16)
        # No "·" in the PDF's Chinese text: STSong-Light's UCS-2 map has no glyph for U+00B7.
        pdf.drawCentredString(width / 2, height - 27, f"{_('Venue QR code')}    {_('Please scan to check in')}")

        pdf.setFillColorRGB(0, 0, 0)
        size = _fit(venue.name, CJK_FONT, 34, usable)
        pdf.setFont(CJK_FONT, size)
        pdf.drawCentredString(width / 2, height - 100, venue.name)
        pdf.setFont(CJK_FONT, 16)
        pdf.setFillColorRGB(0.3, 0.3, 0.3)
        subtitle = str(venue.get_category_display())
        if venue.address:
            subtitle = f"{subtitle}    {venue.address}"
        pdf.drawCentredString(width / 2, height - 128, subtitle[:60])

        # The QR code, module by module (runs of dark modules merged into one rectangle per row).
        matrix = [list(row) for row in _qr(url).matrix]
        modules = len(matrix)
        border = 2
        side = 340.0
        unit = side / (modules + 2 * border)
        left = (width - side) / 2
        top = height - 150
        pdf.setFillColorRGB(0, 0, 0)
        for r, row in enumerate(matrix):
            c = 0
            while c < modules:
                if not row[c]:
                    c += 1
                    continue
                run = c
                while run < modules and row[run]:
                    run += 1
                x = left + (border + c) * unit
                y = top - (border + r + 1) * unit
                # A hair wider than the run so adjacent rectangles leave no white seams when rasterised.
                pdf.rect(x, y, (run - c) * unit + 0.2, unit + 0.2, stroke=0, fill=1)
                c = run
        y = top - side - 34
        pdf.setFont(LATIN_BOLD, 28)
        pdf.drawCentredString(width / 2, y, venue.code)
        pdf.setFont(CJK_FONT, 12)
        pdf.setFillColorRGB(0.3, 0.3, 0.3)
        pdf.drawCentredString(width / 2, y - 18, _("Venue code"))

        pdf.setFillColorRGB(0, 0, 0)
        steps = [
            _("Scan the code with WeChat or your phone's camera."),
            _("Enter your mobile number or ID number, and the people with you."),
            _("Show the thank-you page at the door; tap “check out” when you leave."),
        ]
        y -= 58
        for number, step in enumerate(steps, start=1):
            line = f"{number}. {step}"
            pdf.setFont(CJK_FONT, _fit(line, CJK_FONT, 15, usable - 20))
            pdf.drawString(margin + 20, y, line)
            y -= 24
        pdf.setFont(LATIN, 9)
        pdf.setFillColorRGB(0.35, 0.35, 0.35)
        pdf.drawCentredString(width / 2, y - 10, url)
        pdf.setFont(CJK_FONT, 10)
        foot = _("Your information is used for epidemic prevention only and deleted after %(days)d days.") % {
            "days": settings.CHECKIN_RETENTION_DAYS
        }
        pdf.drawCentredString(width / 2, 40, foot)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
