from __future__ import annotations

from typing import Any

from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core.pii import sees_full_pii, shown
from firstline.core.scoping import scope_of
from firstline.people import selectors, services
from firstline.people.models import IdType, Person
from firstline.regions.models import Household


class PersonSerializer(serializers.ModelSerializer[Person]):
    household = serializers.SlugRelatedField(
        slug_field="code", queryset=Household.objects.none(), required=False, allow_null=True
    )
    id_type = serializers.ChoiceField(choices=IdType.choices, default=IdType.RESIDENT)
    version = serializers.IntegerField(required=False, help_text="Required on PATCH: the version you edited.")

    class Meta:
        model = Person
        fields = [
            "id",
            "name",
            "name_pinyin",
            "id_type",
            "id_number",
            "phone",
            "sex",
            "birth_date",
            "ethnicity",
            "household",
            "path",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "name_pinyin", "path", "created_at", "updated_at"]
        # Blank values reach the service, which reports every bad field at once with the domain's messages.
        extra_kwargs = {
            "sex": {"required": False},
            "birth_date": {"required": False},
            "name": {"allow_blank": True},
            "id_number": {"allow_blank": True, "max_length": 64},
            "phone": {"allow_blank": True, "max_length": 40},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["household"].queryset = Household.objects.visible_to(request.user)  # type: ignore[attr-defined]

    def to_representation(self, instance: Person) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        full = sees_full_pii(request.user) if request is not None else False
        for field in Person.PII_FIELDS:
            data[field] = shown(data.get(field) or "", field, full=full)
        return data


class PersonFilter(filters.FilterSet):
    grid = filters.CharFilter(field_name="path", lookup_expr="startswith", label="grid code")
    division = filters.CharFilter(field_name="path", lookup_expr="startswith", label="division code")

    class Meta:
        model = Person
        fields = ["grid", "division", "household", "sex", "id_type"]


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("search", str, description="name, pinyin, initials, ID/phone tail")]
    )
)
class PersonViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Person],
):
    serializer_class = PersonSerializer
    filterset_class = PersonFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        if not scope_of(self.request.user).has(Perm.PERSON_VIEW):
            return Person.objects.none()
        return selectors.person_list(user=self.request.user, query=self.request.query_params.get("search", ""))

    def perform_create(self, serializer: serializers.BaseSerializer[Person]) -> None:
        data = serializer.validated_data
        serializer.instance = services.person_create(
            actor=request_user(self.request),
            name=data["name"],
            id_type=data.get("id_type", IdType.RESIDENT),
            id_number=data["id_number"],
            phone=data.get("phone", ""),
            ethnicity=data.get("ethnicity", ""),
            sex=data.get("sex", ""),
            birth_date=data.get("birth_date"),
            household=data.get("household"),
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        person = self.get_object()
        serializer = self.get_serializer(person, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "version" not in data:
            raise exceptions.ValidationError({"version": ["Give the version you edited (optimistic locking)."]})
        version = data.pop("version")
        person = services.person_update(
            actor=request_user(request),
            person=person,
            expected_version=version,
            data=data,  # type: ignore[arg-type]
        )
        return Response(self.get_serializer(person).data)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)
