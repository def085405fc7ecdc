"""API of venues (场所码) and check-ins.

``POST /api/v1/checkins/`` is public (no login, no session, no CSRF: it carries no credentials) and hot: a city's
visitors scanning posters. It is kept lean: a JSON body skips DRF's request cycle (``checkin_post_json``), the venue
comes from the process's venue directory, the request is validated by hand rather than by a serializer, and on
PostgreSQL the service writes the visit in one statement (see ``services._INTAKE_SQL``). Per-address rate limiting
counts in the cache. The logged-in side (venues, check-in lists, check-out) is ordinary DRF.
"""

from __future__ import annotations

import datetime
import functools
import json
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core import identity, ratelimit
from firstline.core.pii import sees_full_pii, shown
from firstline.core.scoping import scope_of
from firstline.regions.models import Division, Grid
from firstline.tracing.models import CheckIn, CheckInSource, Venue, VenueCategory
from firstline.tracing.venues import selectors, services
from firstline.tracing.venues.public import RATE_SCOPE, rate_limit

# -- venues ------------------------------------------------------------------------------------------------------


class VenueSerializer(serializers.ModelSerializer[Venue]):
    grid = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Grid.objects.none(),
        required=False,
        allow_null=True,
        help_text="Grid code; the venue's jurisdiction is the grid's.",
    )
    division = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Division.objects.none(),
        required=False,
        allow_null=True,
        write_only=True,
        help_text="Division code, for a venue that belongs to no grid.",
    )
    version = serializers.IntegerField(required=False, help_text="Required on PATCH: the version you edited.")
    url = serializers.SerializerMethodField(help_text="The public check-in page the QR code leads to.")

    class Meta:
        model = Venue
        fields = [
            "id",
            "code",
            "name",
            "category",
            "address",
            "grid",
            "division",
            "path",
            "default_stay_minutes",
            "contact_phone",
            "active",
            "url",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "code", "path", "url", "created_at", "updated_at"]
        # Blank values reach the service, which reports every bad field at once with the domain's messages.
        extra_kwargs = {
            "name": {"allow_blank": True},
            "default_stay_minutes": {"required": False},
            "active": {"required": False},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["grid"].queryset = Grid.objects.visible_to(request.user)  # type: ignore[attr-defined]
            self.fields["division"].queryset = Division.objects.visible_to(request.user)  # type: ignore[attr-defined]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, venue: Venue) -> str:
        path = reverse("venue_public:checkin", args=[venue.code])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class VenueFilter(filters.FilterSet):
    category = filters.ChoiceFilter(choices=VenueCategory.choices)
    active = filters.BooleanFilter()
    division = filters.CharFilter(field_name="path", lookup_expr="startswith", label="grid or division code")
    grid = filters.CharFilter(field_name="grid__code", label="grid code")

    class Meta:
        model = Venue
        fields = ["category", "active"]


@extend_schema_view(
    list=extend_schema(parameters=[OpenApiParameter("search", str, description="name, address or code")]),
)
class VenueViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Venue],
):
    """Venues in the caller's jurisdiction. POST creates one with a random code (``venue.manage`` permission);
    PATCH changes it when ``version`` is still current (409 otherwise)."""

    serializer_class = VenueSerializer
    filterset_class = VenueFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        if not scope_of(self.request.user).has(Perm.PERSON_VIEW):
            return Venue.objects.none()
        return selectors.venue_list(user=self.request.user, filters={"q": self.request.query_params.get("search", "")})

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        venue = services.venue_create(
            actor=request_user(request),
            name=data.get("name", ""),
            category=data.get("category", ""),
            address=data.get("address", ""),
            grid=data.get("grid"),
            division=data.get("division"),
            default_stay_minutes=data.get("default_stay_minutes", 30),
            contact_phone=data.get("contact_phone", ""),
        )
        return Response(self.get_serializer(venue).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        venue = self.get_object()
        serializer = self.get_serializer(venue, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "version" not in data:
            raise exceptions.ValidationError({"version": ["Give the version you edited (optimistic locking)."]})
        version = data.pop("version")
        active = data.pop("active", None)
        actor = request_user(request)
        if data:
            venue = services.venue_update(actor=actor, venue=venue, expected_version=version, data=data)
            version = venue.version
        if active is not None and (active != venue.active or version != venue.version):
            venue = services.venue_set_active(actor=actor, venue=venue, active=active, expected_version=version)
        return Response(self.get_serializer(venue).data)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)


# -- check-ins ---------------------------------------------------------------------------------------------------


class CompanionInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField(max_length=100)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    id_number = serializers.CharField(max_length=40, required=False, allow_blank=True)


class CheckInCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Documents the request of ``POST /checkins/`` (the view validates it by hand, for speed)."""

    venue = serializers.CharField(max_length=16, help_text="The venue's code (printed on its QR poster).")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, help_text="Phone or ID number.")
    id_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
    id_type = serializers.ChoiceField(choices=identity.ID_TYPES, required=False, default=identity.RESIDENT_ID)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    start = serializers.DateTimeField(required=False, help_text="Defaults to now; not in the future, not too old.")
    end = serializers.DateTimeField(required=False, help_text="Defaults to start + the venue's default stay.")
    companions = CompanionInputSerializer(many=True, required=False, help_text="Accompanying persons (同行人员).")


class CheckInResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    venue = serializers.CharField(help_text="The venue's code.")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    end_known = serializers.BooleanField()
    deduplicated = serializers.BooleanField(help_text="True: the same person's visit of a few minutes ago.")
    checkout_token = serializers.CharField(help_text="POST it to /checkins/checkout/ when the visitor leaves.")


class CheckOutSerializer(serializers.Serializer):  # type: ignore[type-arg]
    token = serializers.CharField()
    end = serializers.DateTimeField(required=False, help_text="Defaults to now.")


class CheckInSerializer(serializers.ModelSerializer[CheckIn]):
    venue_code = serializers.CharField(source="venue.code", read_only=True)
    venue_name = serializers.CharField(source="venue.name", read_only=True)
    phone = serializers.CharField(help_text="Masked unless the caller sees full personal data.")
    id_number = serializers.CharField(help_text="Masked unless the caller sees full personal data.")

    class Meta:
        model = CheckIn
        fields = [
            "id",
            "venue",
            "venue_code",
            "venue_name",
            "person",
            "name",
            "phone",
            "id_number",
            "start",
            "end",
            "end_known",
            "party_of",
            "source",
            "created_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: CheckIn) -> dict[str, Any]:
        data = super().to_representation(instance)
        full = bool(self.context.get("full_pii"))
        for name in CheckIn.PII_FIELDS:
            data[name] = shown(data.get(name) or "", name, full=full)
        return data


class CheckInFilter(filters.FilterSet):
    # Plain numbers, not choices among all rows: an out-of-scope id must look like one without check-ins.
    venue = filters.NumberFilter(field_name="venue_id")
    person = filters.NumberFilter(field_name="person_id")
    start_from = filters.IsoDateTimeFilter(field_name="start", lookup_expr="gte")
    start_to = filters.IsoDateTimeFilter(field_name="start", lookup_expr="lt")

    class Meta:
        model = CheckIn
        fields = ["venue", "person"]


def _errors(error: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {key: [str(m) for m in messages] for key, messages in error.message_dict.items()}
    return {"non_field_errors": [str(m) for m in error.messages]}


def _when(data: dict[str, Any], name: str, errors: dict[str, list[str]]) -> datetime.datetime | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well-formed but impossible (month 13, offset beyond ±24 h)
        parsed = None
    if parsed is None:
        errors[name] = [_("Give a date and time in ISO 8601, e.g. 2021-10-20T09:30:00+08:00.")]
        return None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _text(data: dict[str, Any], name: str, errors: dict[str, list[str]], *, limit: int = 100) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[name] = [_("Give text.")]
        return ""
    if len(value) > limit:
        errors[name] = [_("At most %(n)d characters.") % {"n": limit}]
        return ""
    return value


def _too_many(exc: ratelimit.RateLimited) -> tuple[int, dict[str, Any], dict[str, str]]:
    body = {
        "detail": _("Too many check-ins from this address. Try again in %(seconds)d seconds.")
        % {"seconds": exc.retry_after},
        "code": "rate_limited",
        "retry_after": exc.retry_after,
    }
    return status.HTTP_429_TOO_MANY_REQUESTS, body, {"Retry-After": str(exc.retry_after)}


def checkin_intake_response(request: HttpRequest, data: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The public check-in: (status, body, headers) for a request body already parsed. Shared by the lean JSON path
    and DRF's ``create`` (other content types), so both answer alike."""
    try:
        ratelimit.hit(request, scope=RATE_SCOPE, limit=rate_limit())
    except ratelimit.RateLimited as exc:
        return _too_many(exc)
    if not isinstance(data, dict):
        return status.HTTP_400_BAD_REQUEST, {"non_field_errors": [_("Send a JSON object.")]}, {}
    errors: dict[str, list[str]] = {}
    code = _text(data, "venue", errors, limit=16)
    if not code and "venue" not in errors:
        errors["venue"] = [_("Give the venue's code.")]
    start = _when(data, "start", errors)
    end = _when(data, "end", errors)
    companions = data.get("companions") or []
    if not isinstance(companions, list) or not all(isinstance(item, dict) for item in companions):
        errors["companions"] = [_("Give a list of objects with name, phone and id_number.")]
        companions = []
    fields = {name: _text(data, name, errors) for name in ("phone", "id_number", "name")}
    id_type = _text(data, "id_type", errors) or identity.RESIDENT_ID
    if errors:
        return status.HTTP_400_BAD_REQUEST, errors, {}
    try:
        venue = selectors.venue_get_public(code)
    except Http404:
        body = {"detail": _("Unknown or switched-off venue code."), "code": "unknown_venue"}
        return status.HTTP_404_NOT_FOUND, body, {}
    try:
        checkin, created = services.checkin_intake(
            venue=venue,
            phone=fields["phone"],
            id_number=fields["id_number"],
            name=fields["name"],
            id_type=id_type,
            start=start,
            end=end,
            companions=companions,
            source=CheckInSource.PUBLIC,
        )
    except DjangoValidationError as error:
        return status.HTTP_400_BAD_REQUEST, _errors(error), {}
    result: dict[str, Any] = {
        "id": checkin.pk,
        "venue": venue.code,
        "start": checkin.start.isoformat(),
        "end": checkin.end.isoformat(),
        "end_known": checkin.end_known,
        "deduplicated": not created,
        "checkout_token": services.checkout_token(checkin),
    }
    return (status.HTTP_201_CREATED if created else status.HTTP_200_OK), result, {}


def checkin_post_json(request: HttpRequest) -> HttpResponse:
    """``POST /checkins/`` with a JSON body, outside DRF's request cycle.

    Measured in-process with the database stubbed: DRF's dispatch (request wrapping, authentication and permission
    checks, content negotiation, rendering) adds about 0.45 ms of CPU to a check-in whose own path takes about
    0.8 ms. At hundreds of scans a second on two web workers that is the difference that matters; the answers are
    the same as ``CheckInViewSet.create`` (which documents the endpoint and serves other content types).
    """
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        data = None
    code, body, headers = checkin_intake_response(request, data)
    response = JsonResponse(body, status=code, json_dumps_params={"ensure_ascii": False})
    for name, value in headers.items():
        response[name] = value
    return response


_UNKNOWN_VENUE = OpenApiResponse(
    inline_serializer(name="UnknownVenue", fields={"detail": serializers.CharField(), "code": serializers.CharField()}),
    description="Unknown or switched-off venue code.",
)
_FIELD_ERRORS = OpenApiResponse(
    inline_serializer(name="CheckInErrors", fields={"phone": serializers.ListField(child=serializers.CharField())}),
    description="Field names (``phone``, ``id_number``, ``start``, ``end``, ``companions[0].name`` …) with messages.",
)
_RATE_LIMITED = OpenApiResponse(
    inline_serializer(
        name="RateLimited",
        fields={
            "detail": serializers.CharField(),
            "code": serializers.CharField(),
            "retry_after": serializers.IntegerField(),
        },
    ),
    description="Too many requests from this address (``CHECKIN_RATE_LIMIT``); see Retry-After.",
)


@extend_schema_view(
    list=extend_schema(
        description="Check-ins at venues in the caller's jurisdiction (PII masked per role). Filter by ``venue`` "
        "and/or ``person`` (one of them is required) and a ``start`` range."
    )
)
class CheckInViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[CheckIn]):
    """Check-ins. ``POST`` is public (no login): what a visitor's phone sends after scanning a venue's code."""

    serializer_class = CheckInSerializer
    filterset_class = CheckInFilter

    def get_authenticators(self) -> list[Any]:
        # POSTs are anonymous by design (no session, no CSRF, no token lookup): skip authentication entirely.
        if getattr(self, "request", None) is not None and self.request.method == "POST":
            return []
        return super().get_authenticators()

    def get_permissions(self) -> Any:
        if self.request.method == "POST":
            return [permissions.AllowAny()]
        return super().get_permissions()

    def get_queryset(self) -> Any:
        if not scope_of(self.request.user).has(Perm.PERSON_VIEW):
            return CheckIn.objects.none()
        return selectors.checkin_list(user=self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["full_pii"] = sees_full_pii(self.request.user)
        return context

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not (request.query_params.get("venue") or request.query_params.get("person")):
            raise exceptions.ValidationError({"venue": [_("Filter by a venue or a person.")]})
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=CheckInCreateSerializer,
        responses={
            201: CheckInResultSerializer,
            200: OpenApiResponse(CheckInResultSerializer, description="The same person's visit a few minutes ago."),
            400: _FIELD_ERRORS,
            404: _UNKNOWN_VENUE,
            429: _RATE_LIMITED,
        },
        auth=[],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        code, body, headers = checkin_intake_response(request._request, request.data)
        return Response(body, status=code, headers=headers)

    @classmethod
    def as_view(cls, actions: Any = None, **initkwargs: Any) -> Any:
        """JSON check-ins take the lean path (``checkin_post_json``); everything else is ordinary DRF."""
        view = super().as_view(actions, **initkwargs)
        if not actions or actions.get("post") != "create":
            return view

        @functools.wraps(view)  # keeps cls/actions/initkwargs for the router and the schema, and csrf_exempt
        def lean_post_or_drf(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "POST" and request.content_type == "application/json":
                return checkin_post_json(request)
            return view(request, *args, **kwargs)  # type: ignore[no-any-return]

        return lean_post_or_drf

    @extend_schema(
        request=CheckOutSerializer,
        responses={200: CheckInResultSerializer, 400: _FIELD_ERRORS, 429: _RATE_LIMITED},
        auth=[],
    )
    @action(detail=False, methods=["post"])
    def checkout(self, request: Request) -> Response:
        """Record when the visitor left, with the token their check-in answered (public, like the check-in)."""
        try:
            ratelimit.hit(request._request, scope=RATE_SCOPE, limit=rate_limit())
        except ratelimit.RateLimited as exc:
            code, body, headers = _too_many(exc)
            return Response(body, status=code, headers=headers)
        serializer = CheckOutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            checkin = services.checkin_for_token(serializer.validated_data["token"])
            checkin = services.checkin_checkout(checkin=checkin, at=serializer.validated_data.get("end"))
        except DjangoValidationError as error:
            return Response(_errors(error), status=status.HTTP_400_BAD_REQUEST)
        venue_code = Venue.objects.filter(pk=checkin.venue_id).values_list("code", flat=True).first() or ""
        return Response(
            {
                "id": checkin.pk,
                "venue": venue_code,
                "start": checkin.start.isoformat(),
                "end": checkin.end.isoformat(),
                "end_known": checkin.end_known,
                "deduplicated": False,
                "checkout_token": serializer.validated_data["token"],
            }
        )


def register(router: BaseRouter) -> None:
    """Venues and check-ins."""
    router.register("venues", VenueViewSet, basename="venue")
    router.register("checkins", CheckInViewSet, basename="checkin")
