"""Writes of notices (公告) and public reports (rumours, violations, unregistered arrivals).

Notices: a division publishes to its subtree; draft → published → withdrawn, every change audited and versioned.
Public reports: anyone may file one (no login); it is routed to a township, becomes a task for its officer, and is
triaged (verified / false / duplicate / referred to a department); a rumour found false can be answered with a
notice. Uploads are checked by their content, not their name: attachments must really be PDF, image or office
files; report photos must really be images and are re-encoded (which drops EXIF data such as GPS positions).
"""

from __future__ import annotations

import datetime
import io
import uuid
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from firstline.accounts.models import Department, User
from firstline.accounts.roles import Perm
from firstline.accounts.selectors import officer_for
from firstline.community.models import (
    Notice,
    NoticeAttachment,
    NoticeRead,
    NoticeStatus,
    PublicReport,
    ReportKind,
    ReportStatus,
)
from firstline.community.notices import selectors
from firstline.core import audit, context
from firstline.core.concurrency import versioned_update
from firstline.core.models import AuditAction
from firstline.core.scoping import require, scope_of
from firstline.dispatch.models import OPEN_STATUSES, Task, TaskPriority, TaskStatus
from firstline.dispatch.services import task_create
from firstline.regions.models import TOWNSHIP_CODE_LENGTH, Division, township_code

MB = 1024 * 1024
NOTICE_FIELDS = ("title", "body", "effective_from", "expires_on", "pinned")
TITLE_MAX = 200
BODY_MAX = 20_000
DESCRIPTION_MAX = 5_000
PLACE_MAX = 200
CONTACT_MAX = 60
TRIAGE_OUTCOMES = (ReportStatus.VERIFIED, ReportStatus.FALSE, ReportStatus.DUPLICATE, ReportStatus.REFERRED)
RECEIPT_SALT = "firstline.community.report-receipt"
SOURCE_SALT = "firstline.community.report-source"
TASK_KIND = "public_report"
REFERRAL_TASK_KIND = "public_report_referral"

# --- uploads -----------------------------------------------------------------------------------------------------

# What a notice attachment may be: its extension decides the kind, its first bytes must agree.
_IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
_IMAGE_EXTENSIONS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".gif": "GIF", ".webp": "WEBP"}
_OOXML = {
    ".docx": ("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ".xlsx": ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".pptx": ("ppt/presentation.xml", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
}
_ODF = {
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
}
_OLE2 = {".doc": "application/msword", ".xls": "application/vnd.ms-excel", ".ppt": "application/vnd.ms-powerpoint"}
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ATTACHMENT_EXTENSIONS = (".pdf", *_IMAGE_EXTENSIONS, *_OOXML, *_ODF, *_OLE2)


def _head(upload: UploadedFile, size: int = 2048) -> bytes:
    upload.seek(0)
    head = upload.read(size)
    upload.seek(0)
    return bytes(head)


def _image_format(upload: UploadedFile) -> str | None:
    """The Pillow format of a real, decodable image (not too many pixels), or None."""
    from PIL import Image, UnidentifiedImageError

    upload.seek(0)
    try:
        with warnings.catch_warnings():
            # A decompression bomb (an enormous pixel count in a small file) is refused, not decoded.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                image.verify()
                found = image.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning):
        return None
    finally:
        upload.seek(0)
    return found if found in _IMAGE_FORMATS else None


def _zip_names(upload: UploadedFile) -> set[str] | None:
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            return set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    finally:
        upload.seek(0)


def _odf_mimetype(upload: UploadedFile) -> str:
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            info = archive.getinfo("mimetype")
            if info.file_size > 200:
                return ""
            return archive.read(info).decode("ascii", "replace").strip()
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return ""
    finally:
        upload.seek(0)


def attachment_content_type(upload: UploadedFile) -> str:
    """The content type of an acceptable notice attachment; ValidationError naming the file otherwise.

    Accepted: PDF, JPEG/PNG/GIF/WebP images, Word/Excel/PowerPoint (97–2003 and current) and OpenDocument files,
    up to ``NOTICE_ATTACHMENT_MAX_MB``. The content must match the extension: a renamed program is refused.
    """
    name = upload.name or ""
    limit = settings.NOTICE_ATTACHMENT_MAX_MB
    if (upload.size or 0) > limit * MB:
        raise ValidationError({"attachments": [_("%(name)s is larger than %(mb)d MB.") % {"name": name, "mb": limit}]})
    if not upload.size:
        raise ValidationError({"attachments": [_("%(name)s is empty.") % {"name": name}]})
    extension = PurePath(name).suffix.lower()
    head = _head(upload)
    content_type = ""
    if extension == ".pdf":
        content_type = "application/pdf" if b"%PDF-" in head[:1024] else ""
    elif extension in _IMAGE_EXTENSIONS:
        found = _image_format(upload)
        content_type = _IMAGE_FORMATS[found] if found == _IMAGE_EXTENSIONS[extension] else ""
    elif extension in _OOXML:
        marker, ooxml_type = _OOXML[extension]
        names = _zip_names(upload) if head.startswith(b"PK\x03\x04") else None
        content_type = ooxml_type if names and "[Content_Types].xml" in names and marker in names else ""
    elif extension in _ODF:
        content_type = _ODF[extension] if _odf_mimetype(upload) == _ODF[extension] else ""
    elif extension in _OLE2:
        content_type = _OLE2[extension] if head.startswith(_OLE2_MAGIC) else ""
    else:
        raise ValidationError(
            {
                "attachments": [
                    _("%(name)s: only PDF, images (JPEG, PNG, GIF, WebP) and office documents are accepted.")
                    % {"name": name}
                ]
            }
        )
    if not content_type:
        raise ValidationError(
            {
                "attachments": [
                    _("%(name)s is not really a %(kind)s file: its content does not match its name.")
                    % {"name": name, "kind": extension.lstrip(".").upper()}
                ]
            }
        )
    return content_type


def clean_report_photo(upload: UploadedFile) -> ContentFile[bytes]:
    """A report photo re-encoded as JPEG (orientation applied, every metadata block dropped); ValidationError for a
    file over ``REPORT_PHOTO_MAX_MB`` or one that is not really an image."""
    from PIL import Image, ImageOps

    limit = settings.REPORT_PHOTO_MAX_MB
    if (upload.size or 0) > limit * MB:
        raise ValidationError({"photo": [_("The photo is larger than %(mb)d MB.") % {"mb": limit}]})
    if _image_format(upload) is None:
        raise ValidationError({"photo": [_("This file is not a photo: send a JPEG, PNG, GIF or WebP image.")]})
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                image.seek(0)  # the first frame of an animation
                upright = ImageOps.exif_transpose(image) or image
                pixels = upright.convert("RGB")
        buffer = io.BytesIO()
        # A fresh image written without exif/icc/xmp: what the reporter's phone recorded about them stays behind.
        pixels.save(buffer, format="JPEG", quality=85, optimize=True)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning) as exc:
        raise ValidationError({"photo": [_("This photo could not be read: send another one.")]}) from exc
    return ContentFile(buffer.getvalue(), name=f"{uuid.uuid4().hex}.jpg")


# --- notices -----------------------------------------------------------------------------------------------------


def _require_publisher(actor: User, path: str) -> None:
    require(actor, Perm.NOTICE_PUBLISH)
    if not scope_of(actor).covers_path(path):
        raise PermissionDenied(_("Only the division that published this notice, or one above it, may change it."))


def _clean_notice(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    title = " ".join(str(values.get("title") or "").split())
    body = str(values.get("body") or "").replace("\r\n", "\n").strip()
    if not title:
        errors["title"] = [_("The title is required.")]
    elif len(title) > TITLE_MAX:
        errors["title"] = [_("At most %(n)d characters.") % {"n": TITLE_MAX}]
    if not body:
        errors["body"] = [_("The text is required.")]
    elif len(body) > BODY_MAX:
        errors["body"] = [_("At most %(n)d characters.") % {"n": BODY_MAX}]
    effective_from = values.get("effective_from")
    expires_on = values.get("expires_on")
    if not isinstance(effective_from, datetime.date):
        errors["effective_from"] = [_("Give the date the notice takes effect.")]
    elif isinstance(expires_on, datetime.date) and expires_on < effective_from:
        errors["expires_on"] = [_("The end date is before the notice takes effect.")]
    if errors:
        raise ValidationError(errors)
    return {
        "title": title,
        "body": body,
        "effective_from": effective_from,
        "expires_on": expires_on if isinstance(expires_on, datetime.date) else None,
        "pinned": bool(values.get("pinned")),
    }


def _check_uploads(uploads: Sequence[UploadedFile]) -> list[tuple[UploadedFile, str]]:
    """Every upload checked; all bad files reported at once."""
    checked: list[tuple[UploadedFile, str]] = []
    messages: list[str] = []
    for upload in uploads:
        try:
            checked.append((upload, attachment_content_type(upload)))
        except ValidationError as error:
            messages.extend(error.message_dict.get("attachments", error.messages))
    if messages:
        raise ValidationError({"attachments": messages})
    return checked


def _store_attachments(notice: Notice, checked: list[tuple[UploadedFile, str]]) -> list[NoticeAttachment]:
    stored: list[NoticeAttachment] = []
    for upload, content_type in checked:
        name = PurePath(upload.name or "file").name[:200]
        attachment = NoticeAttachment(notice=notice, name=name, size=upload.size or 0, content_type=content_type)
        # Stored under a random name: the original name is shown, never used as a path.
        attachment.file.save(f"{uuid.uuid4().hex}{PurePath(name).suffix.lower()}", upload, save=False)
        attachment.save()
        stored.append(attachment)
    return stored


@transaction.atomic
def notice_create(
    *,
    actor: User,
    division: Division,
    title: str,
    body: str,
    effective_from: datetime.date | None = None,
    expires_on: datetime.date | None = None,
    pinned: bool = False,
    attachments: Sequence[UploadedFile] = (),
) -> Notice:
    """A draft notice of ``division`` (inside the actor's jurisdiction) to everyone below it."""
    require(actor, Perm.NOTICE_PUBLISH)
    if division is None or not scope_of(actor).covers_path(division.code):
        raise ValidationError({"division": [_("Choose a division inside your jurisdiction.")]})
    values = _clean_notice(
        {
            "title": title,
            "body": body,
            "effective_from": effective_from or timezone.localdate(),
            "expires_on": expires_on,
            "pinned": pinned,
        }
    )
    checked = _check_uploads(attachments)
    notice = Notice.objects.create(division=division, path=division.code, created_by=actor, **values)
    stored = _store_attachments(notice, checked)
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        instance=notice,
        changes=audit.diff({}, audit.snapshot(notice)),
        note=", ".join(a.name for a in stored)[:1000],
    )
    return notice


@transaction.atomic
def notice_update(*, actor: User, notice: Notice, expected_version: int, data: Mapping[str, Any]) -> Notice:
    """Change the text, dates or pin of a draft or published notice (``data`` holds the changed fields)."""
    _require_publisher(actor, notice.path)
    unknown = set(data) - set(NOTICE_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in sorted(unknown)})
    if notice.status == NoticeStatus.WITHDRAWN:
        raise ValidationError({"status": [_("A withdrawn notice cannot be edited: publish a new one.")]})
    merged = {name: getattr(notice, name) for name in NOTICE_FIELDS}
    merged.update(data)
    values = _clean_notice(merged)
    changed = {key: value for key, value in values.items() if getattr(notice, key) != value}
    if not changed:
        return notice
    before = audit.snapshot(notice)
    notice = versioned_update(notice, expected_version=expected_version, values=changed)
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=notice, changes=audit.diff(before, audit.snapshot(notice))
    )
    return notice


@transaction.atomic
def notice_publish(*, actor: User, notice: Notice, expected_version: int | None = None) -> Notice:
    """Publish a draft: everyone below the division sees it (and the public page, once it takes effect)."""
    _require_publisher(actor, notice.path)
    if notice.status != NoticeStatus.DRAFT:
        raise ValidationError(
            {
                "status": [
                    _("Only a draft can be published; this notice is %(status)s.")
                    % {"status": notice.get_status_display()}
                ]
            }
        )
    before = audit.snapshot(notice)
    notice = versioned_update(
        notice,
        expected_version=notice.version if expected_version is None else expected_version,
        values={"status": NoticeStatus.PUBLISHED, "published_at": timezone.now(), "published_by": actor},
    )
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=notice, changes=audit.diff(before, audit.snapshot(notice))
    )
    return notice


@transaction.atomic
def notice_withdraw(*, actor: User, notice: Notice, expected_version: int | None = None, reason: str = "") -> Notice:
    """Withdraw a notice: it disappears for everyone below and from the public page (the record stays)."""
    _require_publisher(actor, notice.path)
    if notice.status == NoticeStatus.WITHDRAWN:
        raise ValidationError({"status": [_("This notice is already withdrawn.")]})
    before = audit.snapshot(notice)
    notice = versioned_update(
        notice,
        expected_version=notice.version if expected_version is None else expected_version,
        values={"status": NoticeStatus.WITHDRAWN},
    )
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=notice,
        changes=audit.diff(before, audit.snapshot(notice)),
        note=" ".join(reason.split())[:1000],
    )
    return notice


@transaction.atomic
def notice_attach(*, actor: User, notice: Notice, uploads: Sequence[UploadedFile]) -> list[NoticeAttachment]:
    """Add files to a notice that is not withdrawn; all refused if one is not acceptable."""
    _require_publisher(actor, notice.path)
    if notice.status == NoticeStatus.WITHDRAWN:
        raise ValidationError({"attachments": [_("A withdrawn notice cannot be edited: publish a new one.")]})
    if not uploads:
        raise ValidationError({"attachments": [_("Choose at least one file.")]})
    stored = _store_attachments(notice, _check_uploads(uploads))
    for attachment in stored:
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            instance=notice,
            changes={"attachments": [None, attachment.name]},
            note=f"attached {attachment.name} ({attachment.content_type}, {attachment.size} bytes)",
        )
    return stored


@transaction.atomic
def notice_attachment_remove(*, actor: User, attachment: NoticeAttachment) -> None:
    notice = attachment.notice
    _require_publisher(actor, notice.path)
    if notice.status == NoticeStatus.WITHDRAWN:
        raise ValidationError({"attachments": [_("A withdrawn notice cannot be edited: publish a new one.")]})
    name, storage, stored_name = attachment.name, attachment.file.storage, attachment.file.name
    attachment.delete()
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=notice,
        changes={"attachments": [name, None]},
        note=f"removed {name}",
    )
    if stored_name:
        transaction.on_commit(lambda: storage.delete(stored_name))


def notice_mark_read(*, user: Any, notice: Notice) -> None:
    """The read receipt of a staff user who opened a published notice (once; later openings change nothing).

    The receipt row is the record of the read (user and time), so it is not written to the audit log as well.
    """
    if notice.status != NoticeStatus.PUBLISHED or not getattr(user, "is_authenticated", False):
        return
    NoticeRead.objects.bulk_create([NoticeRead(notice=notice, user=user)], ignore_conflicts=True)


# --- public reports ----------------------------------------------------------------------------------------------


def source_hash(address: str | None) -> str:
    """A keyed hash of the reporter's network address (rate limits, abuse review): the address itself is not kept."""
    if not address:
        return ""
    return salted_hmac(SOURCE_SALT, address, algorithm="sha256").hexdigest()


def receipt_token(report: PublicReport) -> str:
    """The reporter's link to what became of their report (signed: report numbers cannot be guessed)."""
    return signing.dumps(report.pk, salt=RECEIPT_SALT, compress=True)


def report_for_receipt(token: str) -> PublicReport | None:
    try:
        pk = signing.loads(token, salt=RECEIPT_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(pk, int):
        return None
    return PublicReport.objects.select_related("answer", "division").filter(pk=pk).first()


def township_of(division: Division) -> Division:
    """The township (street/town/township) above a village or community; the division itself at township or above."""
    if len(division.code) <= TOWNSHIP_CODE_LENGTH:
        return division
    return Division.objects.get(code=township_code(division.code))


def report_route(*, division: Division | None, place: str) -> Division:
    """Where a public report is handled.

    From a division's public page: that division's township (or the division itself when it is a township or
    higher; a county-level page first looks for a division named in the place). Without a division (the API):
    the division of the city whose name appears in the place text, else the city command.
    """
    if division is not None and len(division.code) >= 9:
        return township_of(division)
    root = division.code if division is not None else settings.FIRSTLINE_CITY_CODE
    named = selectors.division_named_in(place, within=root)
    if named is not None:
        return township_of(named)
    if division is not None:
        return division
    city = Division.objects.filter(code=settings.FIRSTLINE_CITY_CODE).first()
    if city is None:
        raise ValidationError({"place": [_("Reports cannot be received: the city's division is not set up.")]})
    return city


def _report_task(report: PublicReport) -> Task | None:
    officer = officer_for(report.division.code)
    if officer is None:
        return None
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Public report: %(kind)s") % {"kind": report.get_kind_display()}
        if report.place:
            title = f"{title} · {report.place}"
    priority = TaskPriority.NORMAL if report.kind == ReportKind.RUMOUR else TaskPriority.HIGH
    return task_create(
        actor=None,
        title=title[:200],
        kind=TASK_KIND,
        related=report,
        path=report.path,
        assignee_user=officer,
        priority=priority,
    )


def _snapshot(report: PublicReport) -> dict[str, Any]:
    """The audited fields: the reporter's contact and address hash stay out of the log."""
    values = audit.snapshot(report)
    values.pop("source_hash", None)
    values["contact"] = "(given)" if report.contact else ""
    return values


@transaction.atomic
def report_submit(
    *,
    kind: str,
    description: str,
    place: str = "",
    occurred_at: datetime.datetime | None = None,
    contact: str = "",
    photo: UploadedFile | None = None,
    division: Division | None = None,
    source_address: str | None = None,
) -> PublicReport:
    """A report from the public (no login), routed to a township and handed to its officer as a task."""
    errors: dict[str, list[str]] = {}
    description = str(description or "").replace("\r\n", "\n").strip()
    place = " ".join(str(place or "").split())
    contact = " ".join(str(contact or "").split())
    if not description:
        if not (place or contact or photo or occurred_at):
            errors["description"] = [_("The report is empty: describe what you saw or heard.")]
        else:
            errors["description"] = [_("Describe what you saw or heard.")]
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = [_("At most %(n)d characters.") % {"n": DESCRIPTION_MAX}]
    if kind not in ReportKind.values:
        errors["kind"] = [_("Choose what you are reporting: a rumour, a violation or an unregistered arrival.")]
    if len(place) > PLACE_MAX:
        errors["place"] = [_("At most %(n)d characters.") % {"n": PLACE_MAX}]
    if len(contact) > CONTACT_MAX:
        errors["contact"] = [_("At most %(n)d characters.") % {"n": CONTACT_MAX}]
    if occurred_at is not None:
        if timezone.is_naive(occurred_at):
            occurred_at = timezone.make_aware(occurred_at)
        if occurred_at > timezone.now():
            errors["occurred_at"] = [_("The time is in the future.")]
    picture: ContentFile[bytes] | None = None
    if photo is not None:
        try:
            picture = clean_report_photo(photo)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    routed = report_route(division=division, place=place)
    report = PublicReport(
        kind=kind,
        description=description,
        place=place,
        occurred_at=occurred_at,
        contact=contact,
        division=routed,
        path=routed.code,
        source_hash=source_hash(source_address),
    )
    if picture is not None:
        report.photo.save(picture.name or "photo.jpg", picture, save=False)
    report.save()
    # The reporter's address must not reach the audit log either: record without the request's address.
    with context.bound(context.RequestContext()):
        audit.record(actor=None, action=AuditAction.CREATE, instance=report, changes=audit.diff({}, _snapshot(report)))
        task = _report_task(report)
    if task is not None:
        PublicReport.objects.filter(pk=report.pk).update(task=task)
        report.task = task
    return report


def _require_triage(actor: User, report: PublicReport) -> None:
    """Triage decisions belong to the jurisdiction the report was routed to (or one above it)."""
    require(actor, Perm.REPORT_HANDLE)
    if not scope_of(actor).covers_path(report.path):
        raise PermissionDenied(_("Only the jurisdiction this report was routed to may triage it."))


def _close_task(actor: User | None, task: Task | None, status: str) -> None:
    """The triage task is done once the report is triaged (a referral's task is cancelled if the referral is)."""
    task = Task.objects.filter(pk=task.pk).first() if task is not None else None
    if task is None or task.status not in OPEN_STATUSES:
        return
    before = audit.snapshot(task)
    task = versioned_update(task, expected_version=task.version, values={"status": status, "closed_at": timezone.now()})
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=task, changes=audit.diff(before, audit.snapshot(task))
    )


def referral_allowed(report: PublicReport, department: Department) -> bool:
    """A department serving the report's place (the city's police, a township's market regulation office)."""
    served = department.division_id or ""
    return report.path.startswith(served) or served.startswith(report.path)


def _original(actor: User, report: PublicReport, duplicate_of: PublicReport | int | None) -> PublicReport:
    pk = duplicate_of.pk if isinstance(duplicate_of, PublicReport) else duplicate_of
    if not pk:
        raise ValidationError({"duplicate_of": [_("Give the number of the report this one repeats.")]})
    visible = selectors.reports_visible_to(actor)
    target = visible.filter(pk=pk).first()
    if target is None:
        raise ValidationError({"duplicate_of": [_("There is no report %(n)s among yours.") % {"n": pk}]})
    # Point at the first report of a chain, so duplicates never form loops.
    seen = {report.pk}
    while target.duplicate_of_id and target.duplicate_of_id not in seen:
        seen.add(target.pk)
        parent = visible.filter(pk=target.duplicate_of_id).first()
        if parent is None:
            break
        target = parent
    if target.pk == report.pk:
        raise ValidationError({"duplicate_of": [_("A report cannot be a duplicate of itself.")]})
    return target


@transaction.atomic
def report_triage(
    *,
    actor: User,
    report: PublicReport,
    expected_version: int,
    outcome: str,
    note: str = "",
    duplicate_of: PublicReport | int | None = None,
    department: Department | None = None,
) -> PublicReport:
    """Record the triage: verified, false, a duplicate (linked to the first report) or referred to a department
    (which then sees the report and gets a task). The triage task is closed; a change of mind is allowed, audited."""
    _require_triage(actor, report)
    if outcome not in TRIAGE_OUTCOMES:
        raise ValidationError({"outcome": [_("Choose verified, false, duplicate or referred.")]})
    note = str(note or "").replace("\r\n", "\n").strip()
    values: dict[str, Any] = {
        "status": outcome,
        "triage_note": note,
        "triaged_by": actor,
        "triaged_at": timezone.now(),
        "duplicate_of": None,
        "referred_to": None,
    }
    if outcome == ReportStatus.DUPLICATE:
        values["duplicate_of"] = _original(actor, report, duplicate_of)
    if outcome == ReportStatus.REFERRED:
        if department is None:
            raise ValidationError({"department": [_("Choose the department the report is referred to.")]})
        if not referral_allowed(report, department):
            raise ValidationError(
                {"department": [_("%(name)s does not serve this report's place.") % {"name": department.name}]}
            )
        values["referred_to"] = department
    if outcome != ReportStatus.FALSE:
        values["answer"] = None
    previous_task = report.task
    was_referred_to = report.referred_to_id
    before = _snapshot(report)
    report = versioned_update(report, expected_version=expected_version, values=values)
    if was_referred_to and was_referred_to != report.referred_to_id:
        _close_task(actor, previous_task, TaskStatus.CANCELLED)
    elif previous_task is not None and previous_task.kind == TASK_KIND:
        _close_task(actor, previous_task, TaskStatus.DONE)
    if outcome == ReportStatus.REFERRED and was_referred_to != report.referred_to_id:
        assert department is not None
        with translation.override(settings.LANGUAGE_CODE):
            title = _("Referred public report: %(kind)s") % {"kind": report.get_kind_display()}
            if report.place:
                title = f"{title} · {report.place}"
        task = task_create(
            actor=actor,
            title=title[:200],
            kind=REFERRAL_TASK_KIND,
            related=report,
            path=report.path,
            assignee_department=department,
            priority=TaskPriority.HIGH,
            notes=note,
        )
        PublicReport.objects.filter(pk=report.pk).update(task=task)
        report.task = task
    audit.record(actor=actor, action=AuditAction.UPDATE, instance=report, changes=audit.diff(before, _snapshot(report)))
    return report


@transaction.atomic
def report_update(*, actor: User, report: PublicReport, expected_version: int, data: Mapping[str, Any]) -> PublicReport:
    """Correct the kind (the jurisdiction) or add to the handling note (the jurisdiction or the department the
    report was referred to)."""
    require(actor, Perm.REPORT_HANDLE)
    scope = scope_of(actor)
    in_jurisdiction = scope.covers_path(report.path)
    referred_here = bool(report.referred_to_id) and report.referred_to_id in scope.department_ids
    if not (in_jurisdiction or referred_here):
        raise PermissionDenied(_("Only the jurisdiction or the department handling this report may change it."))
    allowed = {"triage_note", "kind"} if in_jurisdiction else {"triage_note"}
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in sorted(unknown)})
    values: dict[str, Any] = {}
    if "kind" in data:
        if data["kind"] not in ReportKind.values:
            raise ValidationError({"kind": [_("Unknown kind.")]})
        values["kind"] = data["kind"]
    if "triage_note" in data:
        values["triage_note"] = str(data["triage_note"] or "").replace("\r\n", "\n").strip()
    values = {key: value for key, value in values.items() if getattr(report, key) != value}
    if not values:
        return report
    before = _snapshot(report)
    report = versioned_update(report, expected_version=expected_version, values=values)
    audit.record(actor=actor, action=AuditAction.UPDATE, instance=report, changes=audit.diff(before, _snapshot(report)))
    return report


def _require_answerable(report: PublicReport) -> None:
    if report.kind != ReportKind.RUMOUR or report.status != ReportStatus.FALSE:
        raise ValidationError({"answer": [_("Only a rumour found to be false is answered with a notice.")]})


@transaction.atomic
def report_answer(*, actor: User, report: PublicReport, expected_version: int, notice: Notice) -> PublicReport:
    """Link a notice (published or draft, one the actor sees) as the official answer to a false rumour."""
    _require_triage(actor, report)
    _require_answerable(report)
    if not selectors.notices_visible_to(actor).filter(pk=notice.pk).exclude(status=NoticeStatus.WITHDRAWN).exists():
        raise ValidationError({"notice": [_("Choose a notice you can see that is not withdrawn.")]})
    before = _snapshot(report)
    report = versioned_update(report, expected_version=expected_version, values={"answer": notice})
    audit.record(actor=actor, action=AuditAction.UPDATE, instance=report, changes=audit.diff(before, _snapshot(report)))
    return report


@transaction.atomic
def report_answer_with_notice(
    *,
    actor: User,
    report: PublicReport,
    expected_version: int,
    division: Division,
    title: str,
    body: str,
    effective_from: datetime.date | None = None,
    expires_on: datetime.date | None = None,
    pinned: bool = False,
    publish: bool = True,
) -> tuple[PublicReport, Notice]:
    """Write a notice that refutes the rumour (published at once unless ``publish`` is False) and link it."""
    _require_triage(actor, report)
    _require_answerable(report)
    notice = notice_create(
        actor=actor,
        division=division,
        title=title,
        body=body,
        effective_from=effective_from,
        expires_on=expires_on,
        pinned=pinned,
    )
    if publish:
        notice = notice_publish(actor=actor, notice=notice)
    report = report_answer(actor=actor, report=report, expected_version=expected_version, notice=notice)
    return report, notice


def answer_draft(report: PublicReport) -> dict[str, str]:
    """A starting text for the notice answering a rumour (the handler edits it before publishing)."""
    summary = " ".join(report.description.split())
    short = summary if len(summary) <= 40 else f"{summary[:40]}…"
    return {
        "title": _("Rumour refuted: %(summary)s") % {"summary": short},
        "body": _(
            "A message is going around that:\n“%(description)s”\n\nThis is not true. Please do not believe or "
            "spread it, and follow only official notices. If you see such messages, report them to us."
        )
        % {"description": summary},
    }


def contact_shown_in_full(user: Any) -> bool:
    """Reporters' contact details: unmasked only for report handlers who see full personal data."""
    scope = scope_of(user)
    return scope.has(Perm.REPORT_HANDLE) and scope.has(Perm.PII_FULL)


@transaction.atomic
def report_contact_reveal(*, actor: User, report: PublicReport) -> str:
    """Unmask one reporter's contact for a handler whose role may reveal personal data; the reveal is audited."""
    scope = scope_of(actor)
    if not scope.has(Perm.REPORT_HANDLE) or not (scope.has(Perm.PII_REVEAL) or scope.has(Perm.PII_FULL)):
        raise PermissionDenied(_("Your role may not see reporters' contact details."))
    audit.record(actor=actor, action=AuditAction.REVEAL, instance=report, note="contact")
    return report.contact
