"""API of transmission clusters: ``GET /api/v1/clusters/`` and ``GET /api/v1/clusters/{id}/``.

The detail carries the members and the exposures between them as the caller may see them: persons outside the
caller's scope have no id, name or path, only an opaque node id (stable for the cluster) linking them into the
edges.
"""

from __future__ import annotations

from typing import Any

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.routers import BaseRouter

from firstline.accounts.roles import Perm
from firstline.core.scoping import scope_of
from firstline.tracing.clusters import selectors
from firstline.tracing.models import Classification, Cluster, ExposureOrigin, ExposureStatus, MemberRole, Setting


class ClusterSerializer(serializers.ModelSerializer[Cluster]):
    class Meta:
        model = Cluster
        fields = [
            "id",
            "label",
            "size",
            "case_count",
            "exposure_count",
            "first_date",
            "last_date",
            "active",
            "path",
            "updated_at",
        ]
        read_only_fields = fields


class ClusterMemberSerializer(serializers.Serializer):  # type: ignore[type-arg]
    node = serializers.CharField(help_text="Node id used by the edges; opaque for persons outside your scope.")
    person = serializers.IntegerField(allow_null=True, help_text="Person id; null outside your scope.")
    name = serializers.CharField(help_text='The name, or "(other jurisdiction)".')
    role = serializers.ChoiceField(choices=MemberRole.choices)
    classification = serializers.ChoiceField(choices=[("", "none"), *Classification.choices], allow_blank=True)
    path = serializers.CharField(allow_null=True, help_text="Jurisdiction path; null outside your scope.")


class ClusterEdgeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField(help_text="Exposure id.")
    source = serializers.CharField(help_text="Node id of the source person.")  # type: ignore[assignment]
    target = serializers.CharField(help_text="Node id of the exposed person.")
    setting = serializers.ChoiceField(choices=Setting.choices)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=ExposureStatus.choices)
    origin = serializers.ChoiceField(choices=ExposureOrigin.choices)
    venue = serializers.IntegerField(allow_null=True)


class ClusterDetailSerializer(ClusterSerializer):
    members = serializers.SerializerMethodField()
    edges = serializers.SerializerMethodField()

    class Meta(ClusterSerializer.Meta):
        fields = [*ClusterSerializer.Meta.fields, "members", "edges"]
        read_only_fields = fields

    def _graph(self, cluster: Cluster) -> selectors.ClusterGraph:
        cache = self.context.setdefault("graphs", {})
        if cluster.pk not in cache:
            cache[cluster.pk] = selectors.ClusterGraph(user=self.context["request"].user, cluster=cluster)
        graph: selectors.ClusterGraph = cache[cluster.pk]
        return graph

    @extend_schema_field(ClusterMemberSerializer(many=True))
    def get_members(self, cluster: Cluster) -> list[dict[str, Any]]:
        return self._graph(cluster).member_rows()

    @extend_schema_field(ClusterEdgeSerializer(many=True))
    def get_edges(self, cluster: Cluster) -> list[dict[str, Any]]:
        return ClusterEdgeSerializer(self._graph(cluster).edge_rows(), many=True).data  # type: ignore[return-value]


class ClusterFilter(filters.FilterSet):
    active = filters.BooleanFilter()
    min_size = filters.NumberFilter(field_name="size", lookup_expr="gte", label="at least this many persons")
    division = filters.CharFilter(field_name="path", lookup_expr="startswith", label="grid or division code")
    date_from = filters.DateFilter(field_name="last_date", lookup_expr="gte", label="exposures on or after")
    date_to = filters.DateFilter(field_name="first_date", lookup_expr="lte", label="exposures on or before")

    class Meta:
        model = Cluster
        fields = ["active"]


@extend_schema_view(
    list=extend_schema(
        description="Transmission clusters with a member in the caller's scope (active first, then by last exposure)."
    ),
    retrieve=extend_schema(
        description="One cluster with its members and the exposures between them. Members outside the caller's scope "
        'have no person id, name or path: ``name`` is "(other jurisdiction)" and ``node`` an opaque id.'
    ),
)
class ClusterViewSet(viewsets.ReadOnlyModelViewSet[Cluster]):
    """Transmission clusters with a member in the caller's scope."""

    filterset_class = ClusterFilter

    def get_queryset(self) -> Any:
        if not scope_of(self.request.user).has(Perm.PERSON_VIEW):
            return Cluster.objects.none()
        return selectors.cluster_list(user=self.request.user)

    def get_serializer_class(self) -> Any:
        return ClusterDetailSerializer if self.action == "retrieve" else ClusterSerializer


def register(router: BaseRouter) -> None:
    router.register("clusters", ClusterViewSet, basename="cluster")
