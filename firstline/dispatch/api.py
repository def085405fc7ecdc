from __future__ import annotations

from typing import Any

from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from firstline.accounts.models import Department, request_user
from firstline.dispatch import selectors, services
from firstline.dispatch.models import Task
from firstline.people.models import Person
from firstline.regions.models import Grid


class TaskSerializer(serializers.ModelSerializer[Task]):
    assignee_grid = serializers.SlugRelatedField(
        slug_field="code", queryset=Grid.objects.none(), required=False, allow_null=True
    )
    assignee_department = serializers.SlugRelatedField(
        slug_field="code", queryset=Department.objects.all(), required=False, allow_null=True
    )
    person = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.none(),
        required=False,
        allow_null=True,
        write_only=True,
        help_text="The person the task is about (optional).",
    )
    version = serializers.IntegerField(required=False)

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "kind",
            "content_type",
            "object_id",
            "path",
            "assignee_user",
            "assignee_grid",
            "assignee_department",
            "due_at",
            "priority",
            "status",
            "notes",
            "escalation_level",
            "version",
            "person",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "content_type",
            "object_id",
            "path",
            "assignee_user",
            "escalation_level",
            "created_at",
        ]
        extra_kwargs = {"due_at": {"required": False}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["assignee_grid"].queryset = Grid.objects.visible_to(request.user)  # type: ignore[attr-defined]
            self.fields["person"].queryset = Person.objects.visible_to(request.user)  # type: ignore[attr-defined]


class TaskViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Task],
):
    serializer_class = TaskSerializer
    filterset_fields = ["status", "kind", "priority", "assignee_grid", "assignee_department"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        box = self.request.query_params.get("box", "all")
        return selectors.task_inbox(user=self.request.user, box=box, status="")

    def perform_create(self, serializer: serializers.BaseSerializer[Task]) -> None:
        data = dict(serializer.validated_data)
        data.pop("version", None)
        person = data.pop("person", None)
        data.pop("status", None)
        serializer.instance = services.task_create(actor=request_user(self.request), related=person, **data)  # type: ignore[arg-type]

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        task = self.get_object()
        serializer = self.get_serializer(task, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if k in {"status", "notes", "priority", "due_at"}}
        if "version" not in serializer.validated_data:
            raise exceptions.ValidationError({"version": ["Give the version you edited (optimistic locking)."]})
        task = services.task_update(
            actor=request_user(request),
            task=task,
            expected_version=serializer.validated_data["version"],
            data=data,  # type: ignore[arg-type]
        )
        return Response(self.get_serializer(task).data)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)
