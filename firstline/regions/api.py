from __future__ import annotations

from typing import Any

from django.db.models import Q
from rest_framework import serializers, viewsets

from firstline.regions.models import Division, Grid, Household


class DivisionSerializer(serializers.ModelSerializer[Division]):
    class Meta:
        model = Division
        fields = ["code", "name", "level", "parent", "synthetic"]


class GridSerializer(serializers.ModelSerializer[Grid]):
    division: serializers.PrimaryKeyRelatedField[Division] = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Grid
        fields = ["id", "code", "name", "kind", "institution", "division", "leader", "synthetic", "version"]


class HouseholdSerializer(serializers.ModelSerializer[Household]):
    grid: serializers.SlugRelatedField[Grid] = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Household
        fields = [
            "id",
            "code",
            "address",
            "grid",
            "building",
            "current_location",
            "current_location_on",
            "responsible",
            "version",
        ]


class DivisionViewSet(viewsets.ReadOnlyModelViewSet[Division]):
    serializer_class = DivisionSerializer
    filterset_fields = ["level", "parent"]
    lookup_field = "code"

    def get_queryset(self) -> Any:
        return Division.objects.visible_to(self.request.user).order_by("code")


class GridViewSet(viewsets.ReadOnlyModelViewSet[Grid]):
    serializer_class = GridSerializer
    filterset_fields = ["division", "kind"]
    lookup_field = "code"

    def get_queryset(self) -> Any:
        return Grid.objects.visible_to(self.request.user).order_by("code")


class HouseholdViewSet(viewsets.ReadOnlyModelViewSet[Household]):
    serializer_class = HouseholdSerializer
    filterset_fields = ["grid", "responsible"]

    def get_queryset(self) -> Any:
        households = Household.objects.visible_to(self.request.user).select_related("grid").order_by("code")
        search = self.request.query_params.get("search", "").strip()
        if search:
            households = households.filter(Q(code__startswith=search) | Q(address__contains=search))
        return households
