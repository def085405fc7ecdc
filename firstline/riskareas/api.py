from __future__ import annotations

import datetime

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.routers import BaseRouter

from firstline.accounts.models import request_user
from firstline.riskareas import selectors, services
from firstline.riskareas.models import RiskArea, RiskAreaPeriod, RiskLevel


class RiskAreaPeriodSerializer(serializers.ModelSerializer[RiskAreaPeriod]):
    class Meta:
        model = RiskAreaPeriod
        fields = ["level", "valid_from", "valid_until"]
        read_only_fields = fields


class RiskAreaSerializer(serializers.ModelSerializer[RiskArea]):
    level = serializers.ChoiceField(choices=RiskLevel.choices)
    periods = RiskAreaPeriodSerializer(
        many=True,
        read_only=True,
        help_text="The level history: in force on valid_from <= day < valid_until (null: still in force).",
    )

    class Meta:
        model = RiskArea
        fields = [
            "id",
            "place",
            "division_code",
            "scope_text",
            "level",
            "effective_from",
            "first_listed_on",
            "lifted_at",
            "source_notice",
            "needs_review",
            "version",
            "periods",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "first_listed_on", "needs_review", "version", "periods", "created_at", "updated_at"]
        # Blank and overlong values reach the service, which reports every bad field with the domain's messages.
        extra_kwargs = {
            "place": {"allow_blank": True, "max_length": 1000},
            "division_code": {"required": False, "allow_blank": True, "max_length": 40},
            "scope_text": {"required": False, "allow_blank": True, "max_length": 1000},
            "source_notice": {"required": False, "allow_blank": True, "max_length": 1000},
            "lifted_at": {"required": False},
        }


class RiskAreaFilter(filters.FilterSet):
    level = filters.ChoiceFilter(choices=RiskLevel.choices)
    in_force_on = filters.DateFilter(method="filter_in_force_on", label="in force on this day")
    q = filters.CharFilter(method="filter_q", label="place, scope, notice or code prefix")
    needs_review = filters.BooleanFilter()
    lifted = filters.BooleanFilter(field_name="lifted_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = RiskArea
        fields = ["level", "in_force_on", "q", "needs_review", "lifted"]

    def filter_in_force_on(self, queryset: QuerySet[RiskArea], name: str, value: datetime.date) -> QuerySet[RiskArea]:
        return queryset.filter(selectors.in_force_on_q(value))

    def filter_q(self, queryset: QuerySet[RiskArea], name: str, value: str) -> QuerySet[RiskArea]:
        return queryset.filter(selectors.risk_area_search_q(value))


@extend_schema_view(
    list=extend_schema(summary="Risk areas, newest first (every signed-in user)"),
    retrieve=extend_schema(summary="One risk area with its level history"),
    create=extend_schema(
        summary="List a risk area (needs the risk-area edit permission)",
        description=(
            "The place is parsed into a division code (a `division_code` given wins); `scope_text` defaults to what "
            "follows the county. An area with the same code and scope that is still listed is refused (400)."
        ),
    ),
)
class RiskAreaViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[RiskArea]
):
    serializer_class = RiskAreaSerializer
    filterset_class = RiskAreaFilter
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[RiskArea]:
        return selectors.risk_area_list(user=self.request.user, with_periods=True)

    def perform_create(self, serializer: serializers.BaseSerializer[RiskArea]) -> None:
        data = serializer.validated_data
        area = services.risk_area_create(
            actor=request_user(self.request),
            place=data["place"],
            level=data["level"],
            effective_from=data["effective_from"],
            division_code=data.get("division_code", ""),
            scope_text=data.get("scope_text", ""),
            lifted_at=data.get("lifted_at"),
            source_notice=data.get("source_notice", ""),
        )
        serializer.instance = selectors.risk_area_list(user=self.request.user, with_periods=True).get(pk=area.pk)


def register(router: BaseRouter) -> None:
    """API routes of this app."""
    router.register("risk-areas", RiskAreaViewSet, basename="riskarea")
