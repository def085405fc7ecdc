"""The release certificate (解除隔离医学观察证明) as an A4 PDF.

Like the venue poster (``firstline.tracing.venues.poster``) it uses reportlab's built-in CID font STSong-Light for
the Chinese text (no font file ships or embeds) and is written in Chinese whatever the viewer's language: it is
handed to the person and shown to their community and employer. STSong-Light's UCS-2 map has no "·" or "–", so the
text uses plain hyphens.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from firstline.core.pii import shown
from firstline.policy.explain import measure_label
from firstline.quarantine.models import Placement, PlacementKind, PlacementPhase, Sampling, SamplingStatus, TestResult

CJK_FONT = "STSong-Light"
LATIN_BOLD = "Helvetica-Bold"


def _register_fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def _day(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "hour"):
        value = timezone.localtime(value).date()
    return str(value.isoformat())


def _result(sampling: Sampling) -> str:
    if sampling.status != SamplingStatus.SAMPLED:
        return str(sampling.get_status_display())
    return str(TestResult(sampling.result).label) if sampling.result in TestResult.values else sampling.result


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines that fit ``width`` (character by character: Chinese has no spaces)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    current = ""
    for char in text:
        if stringWidth(current + char, font, size) > width and current:
            lines.append(current)
            current = char
        else:
            current += char
    if current:
        lines.append(current)
    return lines


def certificate_pdf(
    placement: Placement,
    *,
    full_pii: bool,
    samplings: Sequence[Sampling] = (),
    follow_on: Placement | None = None,
    issuer: str = "",
) -> bytes:
    """One A4 page: title, certificate number, who, which measure where and when, the tests of the stay, the
    follow-on measure that starts now, and a place for the issuing office's seal. The ID number shows as the
    printing user may see it."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    _register_fonts()
    width, height = A4
    margin = 64.0
    usable = width - 2 * margin
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    person = placement.person
    measure = placement.measure
    with translation.override("zh-hans"):
        title = _("Certificate of release from quarantine")
        pdf.setTitle(f"{title} {placement.certificate_number}")
        pdf.setSubject(placement.certificate_number)
        pdf.setCreator("Firstline")
        pdf.setFont(CJK_FONT, 22)
        pdf.drawCentredString(width / 2, height - 90, title)
        pdf.setFont(LATIN_BOLD, 11)
        pdf.drawRightString(width - margin, height - 118, placement.certificate_number)
        pdf.setFont(CJK_FONT, 10)
        pdf.drawRightString(
            width - margin - pdf.stringWidth(placement.certificate_number, LATIN_BOLD, 11) - 6,
            height - 118,
            _("No."),
        )

        if placement.kind == PlacementKind.CENTRALISED and placement.facility is not None:
            where = placement.facility.name
            if placement.room is not None:
                where = f"{where} {placement.room.number}"
        else:
            household = getattr(person, "household", None)
            where = _("at home") + (f" ({household.address})" if household is not None else "")
        measure_type = ""
        if measure is not None:
            measure_type = (
                measure.follow_on_type if placement.phase == PlacementPhase.FOLLOW_ON else measure.measure_type
            )
        rows = [
            (_("Name"), person.name),
            (_("ID number"), shown(person.id_number, "id_number", full=full_pii)),
            (_("Measure"), measure_label(measure_type) if measure_type else ""),
            (_("Place"), where),
            (_("Period"), f"{_day(placement.start_at)} - {_day(placement.ended_at)}"),
            (_("Released on"), _day(placement.ended_at)),
        ]
        y = height - 160
        for label, value in rows:
            pdf.setFont(CJK_FONT, 13)
            pdf.drawString(margin, y, f"{label}:")
            for n, line in enumerate(_wrap(str(value), CJK_FONT, 13, usable - 110)):
                pdf.drawString(margin + 110, y - n * 18, line)
                if n:
                    y -= 18
            y -= 26

        body = _(
            "The person named above has completed the measure and met the conditions for release: every "
            "scheduled nucleic-acid test was negative."
        )
        pdf.setFont(CJK_FONT, 12)
        for line in _wrap(body, CJK_FONT, 12, usable):
            pdf.drawString(margin, y, line)
            y -= 18
        y -= 8

        tested = [s for s in samplings if s.status != SamplingStatus.CANCELLED]
        if tested:
            pdf.setFont(CJK_FONT, 12)
            pdf.drawString(margin, y, _("Tests"))
            y -= 18
            pdf.setFont(CJK_FONT, 11)
            for sampling in tested[:14]:
                line = f"{_day(sampling.due_date or sampling.sampled_at)}    {_result(sampling)}"
                if sampling.lab:
                    line = f"{line}    {sampling.lab}"
                pdf.drawString(margin + 16, y, line[:70])
                y -= 16
            y -= 8

        if follow_on is not None and measure is not None:
            text = _("From now: %(measure)s until %(end)s, at home; tests on %(days)s.") % {
                "measure": measure_label(measure.follow_on_type),
                "end": _day(follow_on.due_date),
                "days": ", ".join(str(d) for d in measure.follow_on_test_dates or []) or "-",
            }
            pdf.setFont(CJK_FONT, 12)
            for line in _wrap(text, CJK_FONT, 12, usable):
                pdf.drawString(margin, y, line)
                y -= 18

        pdf.setFont(CJK_FONT, 13)
        pdf.drawRightString(width - margin, 170, issuer or (placement.facility.name if placement.facility else ""))
        pdf.drawRightString(width - margin, 148, _("(seal)"))
        pdf.drawRightString(width - margin, 126, _day(placement.ended_at))
        pdf.setFont(CJK_FONT, 9)
        pdf.setFillColorRGB(0.35, 0.35, 0.35)
        pdf.drawString(margin, 60, _("Keep this certificate; it may be asked for at checkpoints and by your employer."))
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
