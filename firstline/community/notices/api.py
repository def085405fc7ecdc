"""API of notices and public reports.

``/notices/``: what the caller sees (their subtree, and the published notices from above); publishers create,
edit (``version``), publish and withdraw; opening one (retrieve) records the read receipt. ``/reports/``: ``POST``
needs no login (rate-limited per address, ``REPORT_RATE_LIMIT``: 429 with ``Retry-After``); reading, editing and
triage need ``report.handle`` and the report inside the caller's jurisdiction (or referred to their department).
Reporters' contact details are masked unless the caller handles reports with full personal-data rights; ``reveal``
unmasks one (audited).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, mixins, parsers, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from firstline.accounts.models import Department, request_user
from firstline.accounts.roles import Perm
from firstline.community.models import (
    Notice,
    NoticeAttachment,
    NoticeStatus,
    PublicReport,
    ReportKind,
    ReportStatus,
)
from firstline.community.notices import selectors, services
from firstline.community.notices.public import REPORT_SCOPE, report_rate_limit
from firstline.core import ratelimit
from firstline.core.middleware import client_ip
from firstline.core.pii import shown
from firstline.core.scoping import scope_of
from firstline.regions.models import Division

# -- notices -----------------------------------------------------------------------------------------------------


class NoticeAttachmentSerializer(serializers.ModelSerializer[NoticeAttachment]):
    url = serializers.SerializerMethodField(help_text="Where to download the file (logged in).")

    class Meta:
        model = NoticeAttachment
        fields = ["id", "name", "size", "content_type", "url"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, attachment: NoticeAttachment) -> str:
        path = reverse("community:notice_attachment", args=[attachment.notice_id, attachment.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class NoticeSerializer(serializers.ModelSerializer[Notice]):
    division = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Division.objects.none(),
        help_text="Code of the publishing division (yours or one below); everyone below it sees the notice.",
    )
    division_name = serializers.CharField(source="division.name", read_only=True)
    attachments = NoticeAttachmentSerializer(many=True, read_only=True)
    is_read = serializers.SerializerMethodField(help_text="Whether the caller has opened the notice.")
    version = serializers.IntegerField(required=False, help_text="Required on PATCH: the version you edited.")

    class Meta:
        model = Notice
        fields = [
            "id",
            "division",
            "division_name",
            "path",
            "title",
            "body",
            "effective_from",
            "expires_on",
            "pinned",
            "status",
            "published_at",
            "attachments",
            "is_read",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "path", "status", "published_at", "created_at", "updated_at"]
        # Blank values reach the service, which reports every bad field at once with the domain's messages.
        extra_kwargs = {
            "title": {"allow_blank": True},
            "body": {"allow_blank": True},
            "effective_from": {"required": False},
            "pinned": {"required": False},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["division"].queryset = selectors.publishable_divisions(request.user)  # type: ignore[attr-defined]

    def get_is_read(self, notice: Notice) -> bool:
        return bool(getattr(notice, "is_read", False))


class NoticeFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=NoticeStatus.choices)
    pinned = filters.BooleanFilter()
    division = filters.CharFilter(field_name="path", lookup_expr="startswith", label="division code (its subtree)")
    current = filters.BooleanFilter(method="filter_current", label="in force today (published, effective)")
    unread = filters.BooleanFilter(method="filter_unread", label="published and not yet opened by the caller")

    class Meta:
        model = Notice
        fields = ["status", "pinned"]

    def filter_current(self, queryset: QuerySet[Notice], name: str, value: bool | None) -> QuerySet[Notice]:
        from django.utils import timezone

        if value is None:
            return queryset
        condition = selectors.effective_q(timezone.localdate())
        return queryset.filter(condition) if value else queryset.exclude(condition)

    def filter_unread(self, queryset: QuerySet[Notice], name: str, value: bool | None) -> QuerySet[Notice]:
        if not value:
            return queryset
        return queryset.filter(Q(status=NoticeStatus.PUBLISHED) & Q(is_read=False))


class VersionSerializer(serializers.Serializer):  # type: ignore[type-arg]
    version = serializers.IntegerField(required=False, help_text="The version you saw (409 if it changed).")


class WithdrawSerializer(VersionSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class AttachmentUploadSerializer(serializers.Serializer):  # type: ignore[type-arg]
    files = serializers.ListField(
        child=serializers.FileField(),
        help_text="PDF, images or office documents; each checked by its content (multipart, repeat the field).",
    )


class ReaderSerializer(serializers.Serializer):  # type: ignore[type-arg]
    username = serializers.CharField()
    display_name = serializers.CharField()
    where = serializers.CharField(help_text="Path of the reader's post.")
    read_at = serializers.DateTimeField(allow_null=True)


_READERS = inline_serializer(
    name="NoticeReaders",
    fields={
        "audience": serializers.IntegerField(),
        "read": serializers.IntegerField(),
        "unread": serializers.IntegerField(),
        "count": serializers.IntegerField(help_text="Readers matching the filter."),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": ReaderSerializer(many=True),
    },
)


def _require_publish(user: Any) -> None:
    if not scope_of(user).has(Perm.NOTICE_PUBLISH):
        raise PermissionDenied(_("Your role may not publish notices."))


class NoticeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Notice],
):
    """Notices the caller sees. POST creates a draft (``notice.publish``, for a division in the caller's
    jurisdiction); PATCH edits it while ``version`` is current (409 otherwise); GET of one records the read
    receipt."""

    serializer_class = NoticeSerializer
    filterset_class = NoticeFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Notice.objects.none()
        user = self.request.user
        return (
            selectors.with_read_state(selectors.notices_visible_to(user), user)
            .select_related("division")
            .prefetch_related("attachments")
            .order_by("-pinned", "-effective_from", "-id")
        )

    def _notice(self, *, write: bool = False) -> Notice:
        notice = selectors.notice_get_for_user(self.request.user, self.kwargs["pk"], write=write)
        self.check_object_permissions(self.request, notice)
        return notice

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        notice = self._notice()
        services.notice_mark_read(user=request.user, notice=notice)
        if notice.status == NoticeStatus.PUBLISHED:
            notice.is_read = True  # type: ignore[attr-defined]
        return Response(self.get_serializer(notice).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _require_publish(request.user)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        notice = services.notice_create(
            actor=request_user(request),
            division=data["division"],
            title=data.get("title", ""),
            body=data.get("body", ""),
            effective_from=data.get("effective_from"),
            expires_on=data.get("expires_on"),
            pinned=bool(data.get("pinned")),
        )
        return Response(self.get_serializer(notice).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _require_publish(request.user)
        notice = self._notice(write=True)
        serializer = self.get_serializer(notice, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "version" not in data:
            raise exceptions.ValidationError({"version": [_("Give the version you edited (optimistic locking).")]})
        version = data.pop("version")
        if "division" in data and data.pop("division") != notice.division:
            raise exceptions.ValidationError({"division": [_("The publishing division cannot be changed.")]})
        notice = services.notice_update(actor=request_user(request), notice=notice, expected_version=version, data=data)
        return Response(self.get_serializer(self._notice()).data)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(request=VersionSerializer, responses={200: NoticeSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        """Publish a draft to everyone below its division."""
        _require_publish(request.user)
        body = VersionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.notice_publish(
            actor=request_user(request),
            notice=self._notice(write=True),
            expected_version=body.validated_data.get("version"),
        )
        return Response(self.get_serializer(self._notice()).data)

    @extend_schema(request=WithdrawSerializer, responses={200: NoticeSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        """Withdraw a notice: it disappears below and from the public page."""
        _require_publish(request.user)
        body = WithdrawSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.notice_withdraw(
            actor=request_user(request),
            notice=self._notice(write=True),
            expected_version=body.validated_data.get("version"),
            reason=body.validated_data.get("reason", ""),
        )
        return Response(self.get_serializer(self._notice()).data)

    @extend_schema(request=AttachmentUploadSerializer, responses={201: NoticeAttachmentSerializer(many=True)})
    @action(detail=True, methods=["post"], parser_classes=[parsers.MultiPartParser, parsers.FormParser])
    def attachments(self, request: Request, pk: str | None = None) -> Response:
        """Attach files (multipart ``files``); all refused if one is too large or not what its name says."""
        _require_publish(request.user)
        notice = self._notice(write=True)
        uploads = request.FILES.getlist("files")
        stored = services.notice_attach(actor=request_user(request), notice=notice, uploads=uploads)
        data = NoticeAttachmentSerializer(stored, many=True, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={200: _READERS},
        parameters=[
            OpenApiParameter("state", str, enum=["read", "unread"], description="read or not read yet"),
            OpenApiParameter("q", str, description="name or account"),
            OpenApiParameter("page", int),
        ],
        description="Who of the staff below the notice's division has read it (publishers of that division). "
        "Filter with ``state=read|unread`` and ``q``; paged.",
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def readers(self, request: Request, pk: str | None = None) -> Response:
        if not scope_of(request.user).has(Perm.NOTICE_PUBLISH):
            raise PermissionDenied(_("Your role may not see read receipts."))
        notice = self._notice(write=True)
        readers = selectors.notice_audience(
            notice, filters={"state": request.query_params.get("state"), "q": request.query_params.get("q")}
        )
        page = self.paginate_queryset(readers)  # type: ignore[arg-type]
        rows = ReaderSerializer(page if page is not None else readers, many=True).data
        response = self.get_paginated_response(rows) if page is not None else Response({"results": rows})
        response.data.update(selectors.notice_read_counts(notice))
        return response


# -- public reports ----------------------------------------------------------------------------------------------


class ReportSubmitSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """What anyone may report (no login)."""

    kind = serializers.ChoiceField(choices=ReportKind.choices)
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=services.DESCRIPTION_MAX, help_text="What was seen or heard."
    )
    place = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=services.PLACE_MAX,
        help_text="Where; a township or community named here routes the report to that township.",
    )
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, help_text="When; not in the future.")
    contact = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=services.CONTACT_MAX,
        help_text="Optional phone or other contact; only the officers handling reports see it.",
    )
    photo = serializers.FileField(required=False, allow_null=True, help_text="Optional image (multipart).")
    division = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=12,
        help_text="Optional division code of the public page the report comes from.",
    )


class ReportReceiptSerializer(serializers.Serializer):  # type: ignore[type-arg]
    receipt = serializers.CharField(help_text="Signed token of the reporter's receipt page.")
    receipt_url = serializers.URLField(help_text="The page showing what became of the report.")
    kind = serializers.CharField()
    status = serializers.CharField()
    routed_to = serializers.CharField(help_text="The division handling the report.")


class ReportSerializer(serializers.ModelSerializer[PublicReport]):
    division: serializers.SlugRelatedField[Division] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    division_name = serializers.CharField(source="division.name", read_only=True)
    referred_to: serializers.SlugRelatedField[Department] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    # Plain text here (the values are those of ``ReportSubmit.kind``): one enum component for the choice set.
    kind = serializers.CharField(
        required=False, help_text="rumour, violation or unregistered_arrival (the jurisdiction may correct it)."
    )
    contact = serializers.CharField(read_only=True, help_text="Masked unless the caller may see it in full.")
    photo = serializers.SerializerMethodField(help_text="Where to fetch the photo (logged in), or null.")
    version = serializers.IntegerField(required=False, help_text="Required on PATCH: the version you edited.")

    class Meta:
        model = PublicReport
        fields = [
            "id",
            "kind",
            "description",
            "place",
            "occurred_at",
            "photo",
            "contact",
            "division",
            "division_name",
            "path",
            "status",
            "duplicate_of",
            "referred_to",
            "answer",
            "triage_note",
            "triaged_by",
            "triaged_at",
            "task",
            "version",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "description",
            "place",
            "occurred_at",
            "path",
            "status",
            "duplicate_of",
            "answer",
            "triaged_by",
            "triaged_at",
            "task",
            "created_at",
        ]

    @extend_schema_field(OpenApiTypes.URI)
    def get_photo(self, report: PublicReport) -> str | None:
        if not report.photo:
            return None
        path = reverse("community:report_photo", args=[report.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def to_representation(self, instance: PublicReport) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["contact"] = shown(instance.contact or "", "phone", full=bool(self.context.get("full_contact")))
        return data


class ReportFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=ReportKind.choices)
    status = filters.ChoiceFilter(choices=ReportStatus.choices)
    division = filters.CharFilter(field_name="path", lookup_expr="startswith", label="division code (its subtree)")
    since = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = PublicReport
        fields = ["kind", "status"]


class TriageSerializer(serializers.Serializer):  # type: ignore[type-arg]
    outcome = serializers.ChoiceField(choices=[(s, s) for s in services.TRIAGE_OUTCOMES])
    note = serializers.CharField(required=False, allow_blank=True)
    duplicate_of = serializers.IntegerField(required=False, allow_null=True, help_text="For a duplicate.")
    department = serializers.CharField(required=False, allow_blank=True, help_text="Department code, for a referral.")
    version = serializers.IntegerField()


class AnswerSerializer(serializers.Serializer):  # type: ignore[type-arg]
    notice = serializers.IntegerField(required=False, allow_null=True, help_text="Link this existing notice …")
    division = serializers.CharField(required=False, help_text="… or write a new one: its division code,")
    title = serializers.CharField(required=False, allow_blank=True)
    body = serializers.CharField(required=False, allow_blank=True)
    effective_from = serializers.DateField(required=False)
    expires_on = serializers.DateField(required=False, allow_null=True)
    pinned = serializers.BooleanField(required=False, default=False)
    publish = serializers.BooleanField(required=False, default=True)
    version = serializers.IntegerField()


_RATE_LIMITED = OpenApiResponse(
    inline_serializer(
        name="ReportRateLimited",
        fields={
            "detail": serializers.CharField(),
            "code": serializers.CharField(),
            "retry_after": serializers.IntegerField(),
        },
    ),
    description="Too many reports from this address (``REPORT_RATE_LIMIT``); see Retry-After.",
)
_FIELD_ERRORS = OpenApiResponse(
    inline_serializer(
        name="ReportErrors", fields={"description": serializers.ListField(child=serializers.CharField())}
    ),
    description="Field names (``kind``, ``description``, ``occurred_at``, ``photo`` …) with messages.",
)


class ReportViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[PublicReport],
):
    """Public reports. ``POST`` is public (no login, rate-limited); the rest needs ``report.handle`` and the report in
    the caller's jurisdiction or referred to their department."""

    serializer_class = ReportSerializer
    filterset_class = ReportFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    parser_classes = [parsers.JSONParser, parsers.MultiPartParser, parsers.FormParser]

    def _is_public_post(self) -> bool:
        request = getattr(self, "request", None)
        action_map = getattr(self, "action_map", {}) or {}
        return request is not None and request.method == "POST" and action_map.get("post") == "create"

    def get_authenticators(self) -> list[Any]:
        # Reports are anonymous by design: no session, no CSRF, no token lookup.
        if self._is_public_post():
            return []
        return super().get_authenticators()

    def get_permissions(self) -> Any:
        if self._is_public_post():
            return [permissions.AllowAny()]
        return super().get_permissions()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return PublicReport.objects.none()
        if not scope_of(self.request.user).has(Perm.REPORT_HANDLE):
            raise PermissionDenied(_("Your role does not handle public reports."))
        return selectors.reports_visible_to(self.request.user).select_related("division", "referred_to")

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["full_contact"] = services.contact_shown_in_full(self.request.user)
        return context

    def _report(self) -> PublicReport:
        if not scope_of(self.request.user).has(Perm.REPORT_HANDLE):
            raise PermissionDenied(_("Your role does not handle public reports."))
        return selectors.report_get_for_user(self.request.user, self.kwargs["pk"])

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self._report()).data)

    @extend_schema(
        request={"multipart/form-data": ReportSubmitSerializer, "application/json": ReportSubmitSerializer},
        responses={201: ReportReceiptSerializer, 400: _FIELD_ERRORS, 429: _RATE_LIMITED},
        auth=[],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """File a report (no login): a rumour, a violation, or an arrival who has not registered."""
        try:
            ratelimit.hit(request._request, scope=REPORT_SCOPE, limit=report_rate_limit())
        except ratelimit.RateLimited as exc:
            body = {
                "detail": _("Too many reports from this address. Try again in %(seconds)d seconds.")
                % {"seconds": exc.retry_after},
                "code": "rate_limited",
                "retry_after": exc.retry_after,
            }
            return Response(
                body, status=status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(exc.retry_after)}
            )
        serializer = ReportSubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        division = None
        if data.get("division"):
            division = Division.objects.filter(code=data["division"]).first()
            if division is None:
                raise exceptions.ValidationError({"division": [_("Unknown division code.")]})
        report = services.report_submit(
            kind=data["kind"],
            description=data.get("description", ""),
            place=data.get("place", ""),
            occurred_at=data.get("occurred_at"),
            contact=data.get("contact", ""),
            photo=data.get("photo"),
            division=division,
            source_address=client_ip(request._request),
        )
        token = services.receipt_token(report)
        result = {
            "receipt": token,
            "receipt_url": request.build_absolute_uri(reverse("notices_public:receipt", args=[token])),
            "kind": report.kind,
            "status": report.status,
            "routed_to": report.division.name,
        }
        return Response(result, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Correct the kind (jurisdiction) or the handling note (jurisdiction, or the department referred to)."""
        report = self._report()
        keys = set(request.data.keys())
        if "version" not in keys:
            raise exceptions.ValidationError({"version": [_("Give the version you edited (optimistic locking).")]})
        try:
            version = int(request.data["version"])
        except (TypeError, ValueError) as exc:
            raise exceptions.ValidationError({"version": [_("A whole number.")]}) from exc
        data = {key: request.data[key] for key in keys if key in {"kind", "triage_note"}}
        unknown = sorted(keys - {"kind", "triage_note", "version"})
        if unknown:
            raise exceptions.ValidationError({name: [_("This field cannot be changed here.")] for name in unknown})
        report = services.report_update(actor=request_user(request), report=report, expected_version=version, data=data)
        return Response(self.get_serializer(report).data)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(request=TriageSerializer, responses={200: ReportSerializer})
    @action(detail=True, methods=["post"])
    def triage(self, request: Request, pk: str | None = None) -> Response:
        """Verified, false, duplicate (``duplicate_of``) or referred (``department`` code)."""
        report = self._report()
        body = TriageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        department = None
        if data.get("department"):
            department = Department.objects.filter(code=data["department"]).first()
            if department is None:
                raise exceptions.ValidationError({"department": [_("Unknown department code.")]})
        report = services.report_triage(
            actor=request_user(request),
            report=report,
            expected_version=data["version"],
            outcome=data["outcome"],
            note=data.get("note", ""),
            duplicate_of=data.get("duplicate_of"),
            department=department,
        )
        return Response(self.get_serializer(selectors.report_get_for_user(request.user, report.pk)).data)

    @extend_schema(request=AnswerSerializer, responses={200: ReportSerializer})
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, pk: str | None = None) -> Response:
        """Answer a rumour found false: link ``notice`` (an id), or write a new notice (``division``, ``title``,
        ``body`` …; published at once unless ``publish`` is false)."""
        report = self._report()
        body = AnswerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        actor = request_user(request)
        if data.get("notice"):
            notice = selectors.answer_candidates(actor).filter(pk=data["notice"]).first()
            if notice is None:
                raise exceptions.ValidationError({"notice": [_("Choose a notice you can see that is not withdrawn.")]})
            report = services.report_answer(actor=actor, report=report, expected_version=data["version"], notice=notice)
        else:
            division = selectors.publishable_divisions(actor).filter(code=data.get("division") or "").first()
            if division is None:
                raise exceptions.ValidationError(
                    {"division": [_("Give the code of a division inside your jurisdiction, or a notice id.")]}
                )
            report, _notice = services.report_answer_with_notice(
                actor=actor,
                report=report,
                expected_version=data["version"],
                division=division,
                title=data.get("title", ""),
                body=data.get("body", ""),
                effective_from=data.get("effective_from"),
                expires_on=data.get("expires_on"),
                pinned=data.get("pinned", False),
                publish=data.get("publish", True),
            )
        return Response(self.get_serializer(selectors.report_get_for_user(request.user, report.pk)).data)

    @extend_schema(
        request=None,
        responses={200: inline_serializer(name="ReportContact", fields={"contact": serializers.CharField()})},
    )
    @action(detail=True, methods=["post"])
    def reveal(self, request: Request, pk: str | None = None) -> Response:
        """The reporter's contact unmasked (roles that may reveal personal data); the reveal is audited."""
        report = self._report()
        return Response({"contact": services.report_contact_reveal(actor=request_user(request), report=report)})


def register(router: BaseRouter) -> None:
    """Called from firstline.community.api.register."""
    router.register("notices", NoticeViewSet, basename="notice")
    router.register("reports", ReportViewSet, basename="report")
