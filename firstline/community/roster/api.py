"""REST API of party members and volunteers: /api/v1/volunteers/, /api/v1/posts/ and /api/v1/shifts/.

Same scoping as the pages: rows come from ``visible_to`` (404 out of scope), writes need ``volunteer.manage``
(403), PATCH states the version it edited (409 when stale). A shift overlapping another of the member's is
refused with 400 naming that shift; members check in and out of their own shifts.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.community.models import Post, PostKind, Shift, Volunteer, VolunteerKind
from firstline.community.roster import coverage, selectors, services
from firstline.core.pii import sees_full_pii, shown
from firstline.core.scoping import require, scope_of
from firstline.people.models import Person


class ManagesVolunteers(permissions.BasePermission):
    """The registry and posts are for those who organise members (others get 403)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return scope_of(request.user).has(Perm.VOLUNTEER_MANAGE)


def _version_from(data: dict[str, Any]) -> int:
    if "version" not in data or data["version"] is None:
        raise exceptions.ValidationError({"version": ["Give the version you edited (optimistic locking)."]})
    return int(data.pop("version"))


# -- volunteers -----------------------------------------------------------------------------------------------


class VolunteerSerializer(serializers.ModelSerializer[Volunteer]):
    name = serializers.CharField(source="person.name", read_only=True)
    phone = serializers.SerializerMethodField()
    area = serializers.CharField(source="path", read_only=True)
    account: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        source="user", slug_field="username", read_only=True
    )

    class Meta:
        model = Volunteer
        fields = [
            "id",
            "person",
            "name",
            "kind",
            "party_branch",
            "skills",
            "availability",
            "phone",
            "area",
            "account",
            "active",
            "joined_on",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_phone(self, volunteer: Volunteer) -> str:
        request = self.context.get("request")
        return shown(volunteer.phone, "phone", full=sees_full_pii(request.user if request else None))


# Requests and responses of one resource share a component name, so their enums get one clean name.
@extend_schema_serializer(component_name="Volunteer")
class VolunteerWriteSerializer(serializers.Serializer[Any]):
    person = serializers.IntegerField(required=False, help_text="Person id (a person you see); required to create.")
    kind = serializers.ChoiceField(choices=VolunteerKind.choices, required=False)
    party_branch = serializers.CharField(max_length=120, required=False, allow_blank=True)
    skills = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, help_text="Skill codes or free text."
    )
    availability = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    area = serializers.CharField(max_length=40, required=False, help_text="Division or grid code where they serve.")
    account = serializers.CharField(
        max_length=150, required=False, allow_blank=True, allow_null=True, help_text="Username to link, or null."
    )
    active = serializers.BooleanField(required=False)
    joined_on = serializers.DateField(required=False, allow_null=True)
    version = serializers.IntegerField(required=False, help_text="Required on PATCH: the version you edited.")


class VolunteerFilter(filters.FilterSet):
    branch = filters.CharFilter(field_name="party_branch", lookup_expr="icontains", label="party branch contains")
    skill = filters.CharFilter(method="filter_skill", label="skill (code or free text)")
    division = filters.CharFilter(field_name="path", lookup_expr="startswith", label="division or grid code")

    class Meta:
        model = Volunteer
        fields = ["kind", "branch", "skill", "division", "active"]

    def filter_skill(self, queryset: QuerySet[Volunteer], name: str, value: str) -> QuerySet[Volunteer]:
        return queryset.filter(selectors.skill_q(value.strip())) if value.strip() else queryset


class VolunteerViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Volunteer],
):
    serializer_class = VolunteerSerializer
    filterset_class = VolunteerFilter
    permission_classes = [permissions.IsAuthenticated, ManagesVolunteers]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        return (
            Volunteer.objects.visible_to(self.request.user)
            .select_related("person", "user")
            .order_by("path", "person__name", "id")
        )

    def _values(self, data: dict[str, Any]) -> dict[str, Any]:
        values = {k: v for k, v in data.items() if k not in ("person", "account", "version")}
        if "account" in data:
            values["account"] = selectors.account_by_username(self.request.user, data["account"] or "")
        return values

    @extend_schema(request=VolunteerWriteSerializer, responses={201: VolunteerSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Register a person you see as a party member or volunteer (``person``, ``kind``, ``area`` required)."""
        incoming = VolunteerWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        missing = {name: ["This field is required."] for name in ("person", "kind", "area") if name not in data}
        if missing:
            raise exceptions.ValidationError(missing)
        person = Person.objects.visible_to(request.user).filter(pk=data["person"]).first()
        if person is None:
            raise exceptions.ValidationError({"person": ["No such person in your jurisdiction."]})
        values = self._values(data)
        volunteer = services.volunteer_create(actor=request_user(request), person=person, **values)
        return Response(self.get_serializer(volunteer).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=VolunteerWriteSerializer,
        responses={
            200: VolunteerSerializer,
            409: inline_serializer("StaleVolunteer", {"detail": serializers.CharField()}),
        },
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change a member (give ``version``); ``person`` cannot change."""
        volunteer = self.get_object()
        incoming = VolunteerWriteSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        if "person" in data:
            raise exceptions.ValidationError({"person": ["The person of a member cannot change."]})
        version = _version_from(data)
        volunteer = services.volunteer_update(
            actor=request_user(request), volunteer=volunteer, expected_version=version, data=self._values(data)
        )
        return Response(self.get_serializer(volunteer).data)

    @extend_schema(exclude=True)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)


# -- posts ----------------------------------------------------------------------------------------------------


# "Post" alone would clash with the frontline workers' post kinds (PostKindEnum).
@extend_schema_serializer(component_name="DutyPost")
class PostSerializer(serializers.ModelSerializer[Post]):
    division: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    area = serializers.CharField(source="path", read_only=True)

    class Meta:
        model = Post
        fields = [
            "id",
            "name",
            "kind",
            "place",
            "division",
            "area",
            "opens_at",
            "closes_at",
            "min_staff",
            "active",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


@extend_schema_serializer(component_name="DutyPost")
class PostWriteSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=120, required=False)
    kind = serializers.ChoiceField(choices=PostKind.choices, required=False)
    place = serializers.CharField(max_length=200, required=False, allow_blank=True)
    area = serializers.CharField(max_length=40, required=False, help_text="Division or grid code of the post.")
    opens_at = serializers.TimeField(required=False)
    closes_at = serializers.TimeField(
        required=False, help_text="Earlier than opens_at: past midnight; equal: round the clock."
    )
    min_staff = serializers.IntegerField(required=False, min_value=1, max_value=services.MAX_MIN_STAFF)
    active = serializers.BooleanField(required=False)
    version = serializers.IntegerField(required=False, help_text="Required on PATCH: the version you edited.")


class GapSerializer(serializers.Serializer[Any]):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    staffed = serializers.IntegerField()
    needed = serializers.IntegerField()
    hours = serializers.FloatField()


class PostFilter(filters.FilterSet):
    division = filters.CharFilter(field_name="path", lookup_expr="startswith", label="division or grid code")

    class Meta:
        model = Post
        fields = ["kind", "division", "active"]


WEEK_PARAMETER = OpenApiParameter(
    "week", OpenApiTypes.DATE, description="Any day of the week wanted (Monday–Sunday); default this week."
)


def _week(request: Request) -> datetime.date:
    raw = request.query_params.get("week")
    if not raw:
        return coverage.week_start(timezone.localdate())
    try:
        return coverage.week_start(datetime.date.fromisoformat(raw))
    except ValueError as exc:
        raise exceptions.ValidationError({"week": ["Give a date as YYYY-MM-DD."]}) from exc


class PostViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Post],
):
    serializer_class = PostSerializer
    filterset_class = PostFilter
    permission_classes = [permissions.IsAuthenticated, ManagesVolunteers]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        return Post.objects.visible_to(self.request.user).select_related("division").order_by("path", "name", "id")

    @extend_schema(request=PostWriteSerializer, responses={201: PostSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A post in a division or grid of yours: ``name``, ``kind``, ``area``, ``opens_at``, ``closes_at``."""
        incoming = PostWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        data.pop("version", None)
        missing = {
            name: ["This field is required."]
            for name in ("name", "kind", "area", "opens_at", "closes_at")
            if name not in data
        }
        if missing:
            raise exceptions.ValidationError(missing)
        post = services.post_create(actor=request_user(request), **data)
        return Response(self.get_serializer(post).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=PostWriteSerializer,
        responses={200: PostSerializer, 409: inline_serializer("StalePost", {"detail": serializers.CharField()})},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        post = self.get_object()
        incoming = PostWriteSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        version = _version_from(data)
        post = services.post_update(actor=request_user(request), post=post, expected_version=version, data=data)
        return Response(self.get_serializer(post).data)

    @extend_schema(exclude=True)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(parameters=[WEEK_PARAMETER], responses=GapSerializer(many=True))
    @action(detail=True, methods=["get"])
    def gaps(self, request: Request, pk: Any = None) -> Response:
        """Spans of the post's covered hours in the week with fewer than ``min_staff`` people on shift."""
        post = self.get_object()
        week = selectors.roster_week(post, _week(request))
        rows = [
            {"start": g.start, "end": g.end, "staffed": g.staffed, "needed": g.needed, "hours": g.hours}
            for g in week.gaps
        ]
        return Response(GapSerializer(rows, many=True).data)


# -- shifts ---------------------------------------------------------------------------------------------------


class ShiftSerializer(serializers.ModelSerializer[Shift]):
    post_name = serializers.CharField(source="post.name", read_only=True)
    member = serializers.IntegerField(source="volunteer_id", read_only=True)
    member_name = serializers.CharField(source="volunteer.person.name", read_only=True)
    area = serializers.CharField(source="path", read_only=True)

    class Meta:
        model = Shift
        fields = [
            "id",
            "post",
            "post_name",
            "member",
            "member_name",
            "area",
            "start",
            "end",
            "status",
            "checked_in_at",
            "checked_out_at",
            "note",
            "version",
            "created_at",
        ]
        read_only_fields = fields


class ShiftWriteSerializer(serializers.Serializer[Any]):
    post = serializers.IntegerField()
    member = serializers.IntegerField(help_text="The volunteer id.")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(help_text="After start; refused if the member is on another shift then.")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ShiftCancelSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class ShiftFilter(filters.FilterSet):
    member = filters.NumberFilter(field_name="volunteer_id", label="volunteer id")
    week = filters.DateFilter(method="filter_week", label="any day of the week: shifts touching that week")

    class Meta:
        model = Shift
        fields = ["post", "member", "week", "status"]

    def filter_week(self, queryset: QuerySet[Shift], name: str, value: datetime.date) -> QuerySet[Shift]:
        start, end = coverage.week_bounds(coverage.week_start(value))
        return queryset.filter(start__lt=end, end__gt=start)


class ShiftViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Shift],
):
    """Organisers see their posts' shifts; a member sees their own (and checks in and out of them)."""

    serializer_class = ShiftSerializer
    filterset_class = ShiftFilter
    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> Any:
        return (
            Shift.objects.visible_to(self.request.user)
            .select_related("post", "volunteer__person")
            .order_by("start", "post_id", "id")
        )

    @extend_schema(
        request=ShiftWriteSerializer,
        responses={
            201: ShiftSerializer,
            400: inline_serializer("ShiftRefused", {"volunteer": serializers.ListField()}),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Put a member on a post; 400 naming the conflicting shift when they are elsewhere then."""
        require(request.user, Perm.VOLUNTEER_MANAGE)  # 403 before any 400 about the body
        incoming = ShiftWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        post = Post.objects.visible_to(request.user).filter(pk=data["post"]).first()
        if post is None:
            raise exceptions.ValidationError({"post": ["No such post in your jurisdiction."]})
        volunteer = (
            Volunteer.objects.visible_to(request.user).select_related("person").filter(pk=data["member"]).first()
        )
        if volunteer is None:
            raise exceptions.ValidationError({"member": ["No such member in your jurisdiction."]})
        shift = services.shift_create(
            actor=request_user(request),
            post=post,
            volunteer=volunteer,
            start=data["start"],
            end=data["end"],
            note=data.get("note", ""),
        )
        return Response(self.get_serializer(shift).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ShiftSerializer)
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request: Request, pk: Any = None) -> Response:
        """The member checks in on their own shift (from a little before its start until its end)."""
        shift = services.shift_check_in(actor=request_user(request), shift=self.get_object())
        return Response(self.get_serializer(shift).data)

    @extend_schema(request=None, responses=ShiftSerializer)
    @action(detail=True, methods=["post"], url_path="check-out")
    def check_out(self, request: Request, pk: Any = None) -> Response:
        """The member checks out after checking in: the shift is done and its hours count."""
        shift = services.shift_check_out(actor=request_user(request), shift=self.get_object())
        return Response(self.get_serializer(shift).data)

    @extend_schema(request=ShiftCancelSerializer, responses=ShiftSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: Any = None) -> Response:
        """Take a planned shift off the roster (organisers of the post)."""
        require(request.user, Perm.VOLUNTEER_MANAGE)
        shift = self.get_object()
        incoming = ShiftCancelSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        shift = services.shift_cancel(
            actor=request_user(request), shift=shift, reason=incoming.validated_data.get("reason", "")
        )
        return Response(self.get_serializer(shift).data)


def register(router: BaseRouter) -> None:
    """Called from firstline.community.api.register."""
    router.register("volunteers", VolunteerViewSet, basename="volunteer")
    router.register("posts", PostViewSet, basename="post")
    router.register("shifts", ShiftViewSet, basename="shift")
