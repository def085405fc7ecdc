"""REST API of quarantine sites, rooms and placements.

``/facilities/`` (list, create, retrieve with its rooms, PATCH), ``/rooms/`` (list by site, PATCH the state or the
room), ``/placements/`` (list with filters, create, retrieve with what holds the release, ``POST {id}/transfer/``,
``POST {id}/release/`` — 400 ``{"blockers": [...]}`` naming each reason —, ``POST {id}/end/``). Everything is scoped
like the pages: out of scope is 404, a missing permission 403.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from firstline.accounts.models import User, request_user
from firstline.accounts.roles import Perm
from firstline.core.api import FIELD_ERRORS, service_errors
from firstline.core.pii import sees_full_pii
from firstline.core.scoping import require, scope_of
from firstline.people.selectors import person_get_for_user
from firstline.policy.models import Measure
from firstline.quarantine.models import (
    CareNeedKind,
    Facility,
    Placement,
    PlacementKind,
    PlacementPhase,
    PlacementStatus,
    Room,
    RoomState,
)
from firstline.quarantine.sites import selectors, services
from firstline.regions.models import Division
from firstline.tracing.selectors import person_payload

_FORBIDDEN = OpenApiResponse(description="The caller's roles do not allow this.")
_NOT_FOUND = OpenApiResponse(description="No such record in the caller's jurisdiction.")
_CONFLICT = OpenApiResponse(description="Changed by someone else since the given version.")


# -- sites -------------------------------------------------------------------------------------------------------


_FIGURES = inline_serializer(
    "SiteOccupancy",
    {name: serializers.IntegerField() for name in selectors.OCCUPANCY_FIGURES},
)


class RoomSerializer(serializers.ModelSerializer[Room]):
    floor = serializers.CharField(source="floor.label", read_only=True, help_text="The floor's label, e.g. 3F.")
    occupants = serializers.SerializerMethodField(help_text="People placed in the room now.")
    version = serializers.IntegerField(required=False, help_text="The version you edited (optional for a state).")

    class Meta:
        model = Room
        fields = [
            "id",
            "facility",
            "floor",
            "number",
            "capacity",
            "state",
            "state_since",
            "note",
            "occupants",
            "version",
        ]
        read_only_fields = ["id", "facility", "floor", "state_since", "occupants"]
        extra_kwargs = {"number": {"required": False}, "capacity": {"required": False}, "state": {"required": False}}

    @extend_schema_field(OpenApiTypes.INT)
    def get_occupants(self, room: Room) -> int:
        value = getattr(room, "occupants", None)
        if value is None:
            return Placement.objects.filter(room=room, status=PlacementStatus.ACTIVE).count()
        return int(value)


class FacilitySerializer(serializers.ModelSerializer[Facility]):
    division = serializers.SlugRelatedField(
        slug_field="code", queryset=Division.objects.none(), help_text="Division code (county, township, community)."
    )
    occupancy = serializers.SerializerMethodField(help_text="Rooms, beds, people and room states of the site now.")
    version = serializers.IntegerField(required=False, help_text="Required on PATCH: the version you edited.")

    class Meta:
        model = Facility
        fields = [
            "id",
            "code",
            "name",
            "address",
            "division",
            "path",
            "phone",
            "active",
            "note",
            "occupancy",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "path", "occupancy", "created_at", "updated_at"]
        extra_kwargs = {
            "code": {"validators": []},  # the service reports a taken code with the domain's message
            "name": {"allow_blank": True},
            "active": {"required": False},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["division"].queryset = Division.objects.visible_to(request.user)  # type: ignore[attr-defined]

    @extend_schema_field(_FIGURES)
    def get_occupancy(self, facility: Facility) -> dict[str, int]:
        figures = self.context.get("figures") or {}
        row = figures.get(facility.pk)
        if row is None:
            row = selectors.occupancy_rows([facility])[0]
        return {name: int(row.get(name) or 0) for name in selectors.OCCUPANCY_FIGURES}


class FacilityDetailSerializer(FacilitySerializer):
    rooms = serializers.SerializerMethodField(help_text="The site's rooms, floor by floor.")

    class Meta(FacilitySerializer.Meta):
        fields = [*FacilitySerializer.Meta.fields, "rooms"]
        read_only_fields = [*FacilitySerializer.Meta.read_only_fields, "rooms"]

    @extend_schema_field(RoomSerializer(many=True))
    def get_rooms(self, facility: Facility) -> list[dict[str, Any]]:
        rooms = (
            Room.objects.filter(facility=facility)
            .select_related("floor")
            .annotate(occupants=Count("placements", filter=Q(placements__status=PlacementStatus.ACTIVE)))
            .order_by("floor__position", "number")
        )
        return list(RoomSerializer(rooms, many=True).data)


class FacilityFilter(filters.FilterSet):
    active = filters.BooleanFilter()
    division = filters.CharFilter(field_name="path", lookup_expr="startswith", label="division code prefix")
    code = filters.CharFilter(method="filter_code", label="site code")

    class Meta:
        model = Facility
        fields = ["active"]

    def filter_code(self, queryset: Any, name: str, value: str) -> Any:
        # Codes are stored upper-case; SQLite's LIKE is case-sensitive here (path indexes), so no iexact.
        return queryset.filter(code=value.strip().upper())


class FacilityViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Facility],
):
    """Quarantine sites in the caller's jurisdiction (site staff: their sites), with their occupancy. POST creates
    one (``quarantine.facility`` permission); PATCH changes it when ``version`` is still current (409 otherwise).
    Rooms: in the detail, or ``/rooms/?facility=<id>``."""

    filterset_class = FacilityFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        return selectors.facility_list(user=self.request.user)

    def get_serializer_class(self) -> Any:
        return FacilityDetailSerializer if self.action == "retrieve" else FacilitySerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        sites = list(page if page is not None else queryset)
        context = self.get_serializer_context()
        context["figures"] = {row["facility"].pk: row for row in selectors.occupancy_rows(sites)}
        data = FacilitySerializer(sites, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(request=FacilitySerializer, responses={201: FacilitySerializer, 400: FIELD_ERRORS, 403: _FORBIDDEN})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require(request.user, Perm.FACILITY_MANAGE)
        serializer = FacilitySerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            facility = services.facility_create(
                actor=request_user(request),
                code=data.get("code", ""),
                name=data.get("name", ""),
                division=data.get("division"),
                address=data.get("address", ""),
                phone=data.get("phone", ""),
                active=data.get("active", True),
                note=data.get("note", ""),
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(FacilitySerializer(facility, context=self.get_serializer_context()).data, status=201)

    @extend_schema(
        request=FacilitySerializer,
        responses={200: FacilitySerializer, 400: FIELD_ERRORS, 403: _FORBIDDEN, 404: _NOT_FOUND, 409: _CONFLICT},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require(request.user, Perm.FACILITY_MANAGE)
        facility = self.get_object()
        serializer = FacilitySerializer(
            facility, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "version" not in data:
            raise exceptions.ValidationError({"version": ["Give the version you edited (optimistic locking)."]})
        version = data.pop("version")
        try:
            facility = services.facility_update(
                actor=request_user(request), facility=facility, expected_version=version, data=data
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(FacilitySerializer(facility, context=self.get_serializer_context()).data)

    @extend_schema(exclude=True)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)


# -- rooms -------------------------------------------------------------------------------------------------------


class RoomFilter(filters.FilterSet):
    # A plain number, not a choice among all sites: an out-of-scope id must look like a site without rooms.
    facility = filters.NumberFilter(field_name="facility_id")
    state = filters.ChoiceFilter(choices=RoomState.choices)
    floor = filters.CharFilter(field_name="floor__label", label="floor label")

    class Meta:
        model = Room
        fields = ["facility", "state"]


class RoomUpdateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    state = serializers.ChoiceField(
        choices=[(s.value, s.label) for s in services.SETTABLE_STATES],
        required=False,
        help_text="available (also: disinfection done), disinfecting or out_of_service; occupied follows placements.",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)
    number = serializers.CharField(required=False, max_length=20)
    capacity = serializers.IntegerField(required=False)
    version = serializers.IntegerField(required=False, help_text="Required when changing number or capacity.")


class RoomViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet[Room]
):
    """Rooms of the sites the caller sees; filter by ``facility``. PATCH ``state`` to take a room out of service,
    back in, to disinfection or mark the disinfection done (the site's manager, or ``quarantine.facility``);
    ``number``/``capacity`` with ``version`` change the room (``quarantine.facility``)."""

    serializer_class = RoomSerializer
    filterset_class = RoomFilter
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        return (
            selectors.rooms_visible_to(self.request.user)
            .select_related("floor")
            .annotate(occupants=Count("placements", filter=Q(placements__status=PlacementStatus.ACTIVE)))
            .order_by("facility_id", "floor__position", "number")
        )

    @extend_schema(
        request=RoomUpdateSerializer,
        responses={200: RoomSerializer, 400: FIELD_ERRORS, 403: _FORBIDDEN, 404: _NOT_FOUND, 409: _CONFLICT},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        room = selectors.room_get_for_user(request.user, kwargs["pk"])
        serializer = RoomUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        actor = request_user(request)
        version = data.pop("version", None)
        try:
            if {"number", "capacity"} & set(data):
                require(request.user, Perm.FACILITY_MANAGE)
                if version is None:
                    raise exceptions.ValidationError({"version": ["Give the version you edited (optimistic locking)."]})
                room = services.room_update(
                    actor=actor,
                    room=room,
                    expected_version=version,
                    number=data.get("number"),
                    capacity=data.get("capacity"),
                    note=data.get("note") if "state" not in data else None,
                )
                version = room.version
            if "state" in data:
                room = services.room_set_state(
                    actor=actor, room=room, state=data["state"], note=data.get("note"), expected_version=version
                )
            elif "note" in data and not ({"number", "capacity"} & set(data)):
                room = services.room_update(
                    actor=actor, room=room, expected_version=version or room.version, note=data["note"]
                )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(RoomSerializer(self.get_queryset().get(pk=room.pk)).data)

    @extend_schema(exclude=True)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)


# -- placements --------------------------------------------------------------------------------------------------


class PlacementSerializer(serializers.ModelSerializer[Placement]):
    person = serializers.SerializerMethodField(help_text="Id, name, ID type and number (masked per role), path.")
    measure_type = serializers.SerializerMethodField(help_text="The measure this placement carries out.")
    room_number = serializers.CharField(source="room.number", read_only=True, allow_null=True, default=None)
    grid = serializers.CharField(source="grid.code", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Placement
        fields = [
            "id",
            "person",
            "measure",
            "measure_type",
            "kind",
            "phase",
            "facility",
            "room",
            "room_number",
            "household",
            "grid",
            "responsible",
            "path",
            "site_path",
            "start_at",
            "due_date",
            "seal_number",
            "sensor_number",
            "status",
            "ended_at",
            "end_reason",
            "transferred_from",
            "lost_since",
            "certificate_number",
            "version",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_person(self, placement: Placement) -> dict[str, Any]:
        return person_payload(placement.person, full=bool(self.context.get("full_pii")))

    @extend_schema_field(OpenApiTypes.STR)
    def get_measure_type(self, placement: Placement) -> str:
        measure = placement.measure
        if measure is None:
            return ""
        return measure.follow_on_type if placement.phase == PlacementPhase.FOLLOW_ON else measure.measure_type


class PlacementDetailSerializer(PlacementSerializer):
    release_blockers = serializers.SerializerMethodField(help_text="Why the person may not be released today.")

    class Meta(PlacementSerializer.Meta):
        fields = [*PlacementSerializer.Meta.fields, "release_blockers"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_release_blockers(self, placement: Placement) -> list[str]:
        if placement.status != PlacementStatus.ACTIVE:
            return []
        return services.release_blockers(placement, today=timezone.localdate())


class CareNeedInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    kind = serializers.ChoiceField(choices=CareNeedKind.choices)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class PlacementCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    person = serializers.IntegerField(help_text="Person id (404 when outside your jurisdiction).")
    kind = serializers.ChoiceField(choices=PlacementKind.choices)
    room = serializers.IntegerField(required=False, allow_null=True, help_text="Room id; required for a site.")
    measure = serializers.IntegerField(
        required=False, allow_null=True, help_text="Defaults to the person's governing measure."
    )
    phase = serializers.ChoiceField(choices=PlacementPhase.choices, required=False, default=PlacementPhase.MAIN)
    responsible = serializers.IntegerField(required=False, allow_null=True, help_text="User id (home placements).")
    seal_number = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    sensor_number = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    start_at = serializers.DateTimeField(required=False, allow_null=True)
    care_needs = CareNeedInputSerializer(many=True, required=False, help_text="Food, medicine … the person needs.")


class PlacementTransferSerializer(serializers.Serializer):  # type: ignore[type-arg]
    room = serializers.IntegerField(
        required=False, allow_null=True, help_text="The new room; null/absent moves the person home."
    )
    reason = serializers.CharField(max_length=300, allow_blank=True)
    at = serializers.DateTimeField(required=False, allow_null=True)
    responsible = serializers.IntegerField(required=False, allow_null=True)
    seal_number = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    sensor_number = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)


class PlacementReleaseSerializer(serializers.Serializer):  # type: ignore[type-arg]
    early_reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=250, help_text="Before the due date only."
    )


class PlacementEndSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(max_length=300, allow_blank=True)
    at = serializers.DateTimeField(required=False, allow_null=True)


class PlacementReleaseResultSerializer(PlacementSerializer):
    follow_on = serializers.SerializerMethodField(help_text="The follow-on placement that started, if any.")

    class Meta(PlacementSerializer.Meta):
        fields = [*PlacementSerializer.Meta.fields, "follow_on"]
        read_only_fields = fields

    @extend_schema_field(PlacementSerializer(allow_null=True))
    def get_follow_on(self, placement: Placement) -> dict[str, Any] | None:
        follow_on = self.context.get("follow_on")
        return None if follow_on is None else dict(PlacementSerializer(follow_on, context=self.context).data)


_BLOCKERS = OpenApiResponse(
    inline_serializer(
        "PlacementReleaseRefused",
        {
            "blockers": serializers.ListField(child=serializers.CharField()),
            "early_reason": serializers.ListField(child=serializers.CharField()),
        },
    ),
    description="``blockers``: each reason the person may not be released (due date, tests by day); "
    "``early_reason``: an early release needs its reason.",
)


class PlacementFilter(filters.FilterSet):
    facility = filters.NumberFilter(field_name="facility_id")
    room = filters.NumberFilter(field_name="room_id")
    person = filters.NumberFilter(field_name="person_id")
    kind = filters.ChoiceFilter(choices=PlacementKind.choices)
    phase = filters.ChoiceFilter(choices=PlacementPhase.choices)
    status = filters.ChoiceFilter(choices=PlacementStatus.choices)
    due = filters.DateFilter(field_name="due_date")
    due_from = filters.DateFilter(field_name="due_date", lookup_expr="gte")
    due_to = filters.DateFilter(field_name="due_date", lookup_expr="lte")
    division = filters.CharFilter(field_name="path", lookup_expr="startswith", label="home grid/division prefix")
    grid = filters.CharFilter(method="filter_grid", label="grid code (watched by it or living in it)")

    class Meta:
        model = Placement
        fields = ["facility", "room", "person", "kind", "phase", "status"]

    def filter_grid(self, queryset: Any, name: str, value: str) -> Any:
        return queryset.filter(Q(grid__code=value) | Q(path__startswith=value))


class PlacementViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[Placement]
):
    """Placements in the caller's jurisdiction (site staff: at their sites; grid workers: their grid's people).
    POST places a person (``quarantine.place``); ``/transfer/``, ``/release/`` and ``/end/`` act on one."""

    filterset_class = PlacementFilter

    def get_queryset(self) -> Any:
        if not scope_of(self.request.user).has(Perm.PERSON_VIEW):
            return Placement.objects.none()
        return selectors.placement_list(user=self.request.user)

    def get_serializer_class(self) -> Any:
        return PlacementDetailSerializer if self.action == "retrieve" else PlacementSerializer

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["full_pii"] = sees_full_pii(self.request.user)
        return context

    def _answer(self, placement: Placement, code: int = status.HTTP_200_OK, **extra: Any) -> Response:
        try:
            fresh = selectors.placement_get_for_user(self.request.user, placement.pk)
        except Http404:  # e.g. site staff who just sent someone home: the new placement is the grid's now
            fresh = placement
        context = self.get_serializer_context()
        context.update(extra)
        serializer = PlacementReleaseResultSerializer if "follow_on" in extra else PlacementSerializer
        return Response(serializer(fresh, context=context).data, status=code)

    def _placement(self, pk: Any) -> Placement:
        require(self.request.user, Perm.PLACEMENT_MANAGE)
        return selectors.placement_get_for_user(self.request.user, pk)

    @staticmethod
    def _room(user: Any, room_id: int | None) -> Room | None:
        if room_id is None:
            return None
        room = selectors.rooms_visible_to(user).filter(pk=room_id).first()
        if room is None:
            raise exceptions.ValidationError({"room": ["Unknown room."]})
        return room

    @staticmethod
    def _user(user_id: int | None) -> User | None:
        if user_id is None:
            return None
        found = User.objects.filter(pk=user_id, is_active=True).first()
        if found is None:
            raise exceptions.ValidationError({"responsible": ["Unknown user."]})
        return found

    @extend_schema(
        request=PlacementCreateSerializer,
        responses={201: PlacementSerializer, 400: FIELD_ERRORS, 403: _FORBIDDEN, 404: _NOT_FOUND},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require(request.user, Perm.PLACEMENT_MANAGE)
        serializer = PlacementCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        person = person_get_for_user(request.user, data["person"])
        measure = None
        if data.get("measure") is not None:
            measure = Measure.objects.filter(pk=data["measure"], person=person).first()
            if measure is None:
                raise exceptions.ValidationError({"measure": ["Not a measure of this person."]})
        try:
            placement = services.placement_create(
                actor=request_user(request),
                person=person,
                kind=data["kind"],
                room=self._room(request.user, data.get("room")),
                measure=measure,
                phase=data.get("phase") or PlacementPhase.MAIN,
                responsible=self._user(data.get("responsible")),
                seal_number=data.get("seal_number", ""),
                sensor_number=data.get("sensor_number", ""),
                start_at=data.get("start_at"),
                care_needs=[(n["kind"], n.get("description", "")) for n in data.get("care_needs") or []],
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return self._answer(placement, status.HTTP_201_CREATED)

    @extend_schema(
        request=PlacementTransferSerializer,
        responses={201: PlacementSerializer, 400: FIELD_ERRORS, 403: _FORBIDDEN, 404: _NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def transfer(self, request: Request, pk: str | None = None) -> Response:
        """Move the person to another room or site (or home, without ``room``); answers the new placement."""
        placement = self._placement(pk)
        serializer = PlacementTransferSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            new = services.placement_transfer(
                actor=request_user(request),
                placement=placement,
                room=self._room(request.user, data.get("room")),
                reason=data.get("reason", ""),
                at=data.get("at"),
                responsible=self._user(data.get("responsible")),
                seal_number=data.get("seal_number", ""),
                sensor_number=data.get("sensor_number", ""),
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return self._answer(new, status.HTTP_201_CREATED)

    @extend_schema(
        request=PlacementReleaseSerializer,
        responses={200: PlacementReleaseResultSerializer, 400: _BLOCKERS, 403: _FORBIDDEN, 404: _NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk: str | None = None) -> Response:
        """Release the person (certificate number issued; the follow-on measure starts), or 400 naming why not."""
        placement = self._placement(pk)
        serializer = PlacementReleaseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            result = services.placement_release_with_follow_on(
                actor=request_user(request),
                placement=placement,
                early_reason=serializer.validated_data.get("early_reason", ""),
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return self._answer(result.placement, follow_on=result.follow_on)

    @extend_schema(
        request=PlacementEndSerializer,
        responses={200: PlacementSerializer, 400: FIELD_ERRORS, 403: _FORBIDDEN, 404: _NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str | None = None) -> Response:
        """End the placement (became a case, taken to hospital …) with the reason."""
        placement = self._placement(pk)
        serializer = PlacementEndSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            placement = services.placement_end(
                actor=request_user(request),
                placement=placement,
                reason=serializer.validated_data.get("reason", ""),
                at=serializer.validated_data.get("at"),
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return self._answer(placement)


def register(router: BaseRouter) -> None:
    """Called from firstline.quarantine.api.register."""
    router.register("facilities", FacilityViewSet, basename="facility")
    router.register("rooms", RoomViewSet, basename="room")
    router.register("placements", PlacementViewSet, basename="placement")
