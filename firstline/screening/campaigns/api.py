"""API of door-to-door campaigns: campaigns (with their coverage) and the visits of households."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core.scoping import require, scope_of
from firstline.regions.models import Division, Household
from firstline.screening.campaigns import selectors, services
from firstline.screening.models import Campaign, HouseholdVisit, VisitOutcome


class CampaignAccess(permissions.BasePermission):
    """Campaigns are for those who run them or visit households (others get 403)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        scope = scope_of(request.user)
        return scope.has(Perm.CAMPAIGN_MANAGE) or scope.has(Perm.VISIT_RECORD)


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    division = serializers.SlugRelatedField(slug_field="code", queryset=Division.objects.none())
    version = serializers.IntegerField(required=False, help_text="Required on PATCH: the version you edited.")

    class Meta:
        model = Campaign
        fields = ["id", "name", "division", "path", "date_from", "date_to", "note", "version", "created_at"]
        read_only_fields = ["id", "path", "created_at"]
        extra_kwargs = {"note": {"required": False}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["division"].queryset = Division.objects.visible_to(request.user)  # type: ignore[attr-defined]


class CoverageRowSerializer(serializers.Serializer[Any]):
    level = serializers.CharField()
    code = serializers.CharField()
    name = serializers.CharField()
    households = serializers.IntegerField()
    visited = serializers.IntegerField()
    nobody_home = serializers.IntegerField()
    refused = serializers.IntegerField()
    not_visited = serializers.IntegerField()
    percent = serializers.FloatField()


class CampaignFilter(filters.FilterSet):
    active_on = filters.DateFilter(method="filter_active_on", label="running on this date")
    division = filters.CharFilter(field_name="path", lookup_expr="startswith", label="division code")

    class Meta:
        model = Campaign
        fields = ["active_on", "division"]

    def filter_active_on(self, queryset: QuerySet[Campaign], name: str, value: Any) -> QuerySet[Campaign]:
        return queryset.filter(date_from__lte=value, date_to__gte=value)


class CampaignViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Campaign],
):
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    permission_classes = [permissions.IsAuthenticated, CampaignAccess]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        return selectors.campaign_list(self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require(request.user, Perm.CAMPAIGN_MANAGE)  # 403 before any 400 about the body
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: serializers.BaseSerializer[Campaign]) -> None:
        data = serializer.validated_data
        serializer.instance = services.campaign_create(
            actor=request_user(self.request),
            name=data["name"],
            division=data["division"],
            date_from=data["date_from"],
            date_to=data["date_to"],
            note=data.get("note", ""),
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        campaign = self.get_object()
        require(request.user, Perm.CAMPAIGN_MANAGE)
        serializer = self.get_serializer(campaign, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "version" not in data:
            raise exceptions.ValidationError({"version": ["Give the version you edited (optimistic locking)."]})
        version = data.pop("version")
        campaign = services.campaign_update(
            actor=request_user(request), campaign=campaign, expected_version=version, data=data
        )
        return Response(self.get_serializer(campaign).data)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(responses=CoverageRowSerializer(many=True))
    @action(detail=True, methods=["get"])
    def coverage(self, request: Request, pk: Any = None) -> Response:
        """Coverage of the campaign in the caller's part of it: the whole first, then each area in tree order."""
        campaign = selectors.campaign_get_for_user(request.user, pk)
        rows = selectors.campaign_coverage(campaign, request.user)
        return Response(CoverageRowSerializer([row.as_dict() for row in rows], many=True).data)


class VisitSerializer(serializers.ModelSerializer[HouseholdVisit]):
    household: serializers.SlugRelatedField[Household] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    visited_by: serializers.StringRelatedField[Any] = serializers.StringRelatedField()

    class Meta:
        model = HouseholdVisit
        fields = [
            "id",
            "campaign",
            "household",
            "path",
            "outcome",
            "visited_at",
            "visited_by",
            "members_present",
            "returnees_found",
            "symptoms",
            "unvaccinated",
            "note",
            "version",
            "updated_at",
        ]
        read_only_fields = fields


class VisitWriteSerializer(serializers.Serializer[Any]):
    campaign = serializers.IntegerField()
    household = serializers.CharField(max_length=30, help_text="household code")
    outcome = serializers.ChoiceField(choices=VisitOutcome.choices)
    visited_at = serializers.DateTimeField(required=False, allow_null=True)
    members_present = serializers.IntegerField(required=False, default=0)
    returnees_found = serializers.IntegerField(required=False, default=0)
    symptoms = serializers.BooleanField(required=False, default=False)
    unvaccinated = serializers.IntegerField(required=False, default=0)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    version = serializers.IntegerField(
        required=False, allow_null=True, help_text="The visit's version you saw (refused with 409 if it moved on)."
    )


class VisitFilter(filters.FilterSet):
    household = filters.CharFilter(field_name="household__code", label="household code")
    grid = filters.CharFilter(field_name="path", lookup_expr="startswith", label="grid or division code")

    class Meta:
        model = HouseholdVisit
        fields = ["campaign", "household", "outcome", "grid"]


class VisitViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[HouseholdVisit],
):
    serializer_class = VisitSerializer
    filterset_class = VisitFilter
    permission_classes = [permissions.IsAuthenticated, CampaignAccess]
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> Any:
        return (
            HouseholdVisit.objects.visible_to(self.request.user)
            .select_related("household", "visited_by")
            .order_by("-visited_at", "-id")
        )

    @extend_schema(
        request=VisitWriteSerializer,
        responses={
            201: VisitSerializer,
            200: VisitSerializer,
            409: inline_serializer("StaleVisit", {"detail": serializers.CharField()}),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Record a visit: creates the campaign+household visit, or updates it on a revisit (201 / 200)."""
        require(request.user, Perm.VISIT_RECORD)
        incoming = VisitWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        campaign = selectors.campaign_get_for_user(request.user, data["campaign"])
        household = _household_by_code(request.user, data["household"])
        visit = services.visit_record(
            actor=request_user(request),
            campaign=campaign,
            household=household,
            outcome=data["outcome"],
            visited_at=data.get("visited_at"),
            members_present=data["members_present"],
            returnees_found=data["returnees_found"],
            symptoms=data["symptoms"],
            unvaccinated=data["unvaccinated"],
            note=data["note"],
            expected_version=data.get("version"),
        )
        answer = status.HTTP_201_CREATED if visit.version == 1 else status.HTTP_200_OK
        return Response(self.get_serializer(visit).data, status=answer)


def _household_by_code(user: Any, code: str) -> Household:
    """A household the caller sees (404 otherwise); whether it lies in the campaign is the service's question."""
    household = Household.objects.visible_to(user).select_related("grid").filter(code=code).first()
    if household is None:
        raise exceptions.NotFound("No such household.")
    return household


def register(router: BaseRouter) -> None:
    """Routes of this part of screening."""
    router.register("campaigns", CampaignViewSet, basename="campaign")
    router.register("campaign-visits", VisitViewSet, basename="campaign-visit")
