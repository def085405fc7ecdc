"""Helpers and fixtures shared by the notices and public-report tests (imported by test_notices_*.py)."""

from __future__ import annotations

import datetime
import io
import os
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from firstline.community.models import Notice, PublicReport
from firstline.community.notices import services
from firstline.regions.models import Division


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _english(client: Any) -> Iterator[None]:
    """Messages asserted in English (the UI default is Simplified Chinese): services and pages alike."""
    from django.utils import translation

    client.cookies["django_language"] = "en"
    with translation.override("en"):
        yield


def division(code: str) -> Division:
    return Division.objects.get(code=code)


def make_notice(
    city: Any,
    *,
    actor: str = "township",
    code: str = "632701001",
    title: str = "关于做好返乡人员登记的通知",
    body: str = "各社区：\n\n请返乡人员主动登记。",
    publish: bool = True,
    days_ago: int = 0,
    **values: Any,
) -> Notice:
    notice = services.notice_create(
        actor=city[actor],
        division=division(code),
        title=title,
        body=body,
        effective_from=values.pop("effective_from", timezone.localdate() - datetime.timedelta(days=days_ago)),
        **values,
    )
    if publish:
        notice = services.notice_publish(actor=city[actor], notice=notice)
    return notice


def make_report(
    *,
    kind: str = "rumour",
    description: str = "听说明天全城封控，要赶紧囤菜",
    place: str = "",
    code: str | None = "632701001001",
    contact: str = "",
    **values: Any,
) -> PublicReport:
    return services.report_submit(
        kind=kind,
        description=description,
        place=place,
        contact=contact,
        division=division(code) if code else None,
        source_address=values.pop("source_address", "203.0.113.7"),
        **values,
    )


def pdf_upload(name: str = "通知.pdf", size: int = 0) -> SimpleUploadedFile:
    content = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    if size > len(content):
        content += b"%" + b"0" * (size - len(content) - 1)
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def docx_upload(name: str = "名单.docx") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/octet-stream")


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (40, 30), *, noise: bool = False, exif: Any = None) -> bytes:
    from PIL import Image

    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (200, 30, 30))
    buffer = io.BytesIO()
    kwargs: dict[str, Any] = {"exif": exif} if exif is not None else {}
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def photo_upload(name: str = "photo.jpg", **kwargs: Any) -> SimpleUploadedFile:
    fmt = "JPEG" if name.lower().endswith((".jpg", ".jpeg")) else "PNG"
    return SimpleUploadedFile(name, image_bytes(fmt, **kwargs), content_type=f"image/{fmt.lower()}")
