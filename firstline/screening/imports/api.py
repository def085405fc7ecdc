"""API of bulk imports: upload, map, run (dry run or import), status with progress, report, error workbook."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core.pii import sees_full_pii
from firstline.core.scoping import require
from firstline.screening.imports import selectors, services
from firstline.screening.models import ImportJob, ImportMode


class ImportJobSerializer(serializers.ModelSerializer[ImportJob]):
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "status",
            "original_name",
            "size",
            "uploaded_by",
            "header_row",
            "headers",
            "mapping",
            "mode",
            "dry_run",
            "progress",
            "summary",
            "message",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_progress(self, job: ImportJob) -> dict[str, int]:
        done, total = services.job_progress(job)
        return {"rows_done": done, "rows_total": total}


class UploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField()


class MappingSerializer(serializers.Serializer[Any]):
    mapping = serializers.DictField(child=serializers.IntegerField(min_value=0), help_text="field → 0-based column")
    save_as = serializers.CharField(required=False, allow_blank=True, default="")


class RunSerializer(serializers.Serializer[Any]):
    dry_run = serializers.BooleanField(default=True)
    mode = serializers.ChoiceField(choices=ImportMode.choices, default=ImportMode.ALL_OR_NOTHING)


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[ImportJob]):
    """Upload a list (multipart `file`), fix the column mapping, run a dry run, then the import."""

    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user to check
            return ImportJob.objects.none()
        require(self.request.user, Perm.IMPORT_RUN)
        return selectors.import_list(self.request.user)

    def get_object(self) -> ImportJob:
        """A job of any kind these endpoints serve (arrival lists, lab results …), with its kind's permission."""
        job = selectors.import_get_for_user(self.request.user, self.kwargs["pk"])
        try:
            spec = services.importer_for(job.kind)
        except LookupError as exc:  # 协查 lists have their own endpoints
            raise Http404 from exc
        require(self.request.user, spec.permission)
        return job

    def _mine(self, job: ImportJob) -> None:
        if job.uploaded_by_id != self.request.user.pk:
            raise Http404

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={201: ImportJobSerializer})
    def create(self, request: Request) -> Response:
        require(request.user, Perm.IMPORT_RUN)
        data = UploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.import_upload(actor=request_user(request), upload=data.validated_data["file"])
        return Response(ImportJobSerializer(job).data, status=201)

    @extend_schema(request=MappingSerializer, responses={200: ImportJobSerializer})
    @action(detail=True, methods=["post"])
    def mapping(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        self._mine(job)
        data = MappingSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            job = services.import_set_mapping(
                actor=request_user(request),
                job=job,
                mapping=data.validated_data["mapping"],
                save_as=data.validated_data["save_as"],
            )
        except PermissionDenied as exc:
            raise Http404 from exc
        return Response(ImportJobSerializer(job).data)

    @extend_schema(request=RunSerializer, responses={202: ImportJobSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        self._mine(job)
        data = RunSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.import_start(
            actor=request_user(request),
            job=job,
            dry_run=data.validated_data["dry_run"],
            mode=data.validated_data["mode"],
        )
        job.refresh_from_db()
        return Response(ImportJobSerializer(job).data, status=202)

    @extend_schema(
        responses={
            200: inline_serializer(
                "ImportReport",
                {
                    "rows": serializers.IntegerField(),
                    "created": serializers.IntegerField(),
                    "updated": serializers.IntegerField(),
                    "unchanged": serializers.IntegerField(),
                    "rejected": serializers.IntegerField(),
                    "errors": serializers.ListField(child=serializers.DictField()),
                },
            )
        }
    )
    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        summary = job.summary or {}
        keys = ("rows", "created", "updated", "unchanged", "rejected")
        return Response({**{key: summary.get(key, 0) for key in keys}, "errors": summary.get("errors", [])})

    @extend_schema(
        responses={(200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiResponse()}
    )
    @action(detail=True, methods=["get"])
    def errors(self, request: Request, pk: str | None = None) -> FileResponse:
        job = self.get_object()
        # The rejected rows are the file's own data (IDs, phones): the uploader, or a role that sees full PII.
        if not job.error_file or (job.uploaded_by_id != request.user.pk and not sees_full_pii(request.user)):
            raise Http404
        return FileResponse(job.error_file.open("rb"), as_attachment=True, filename=f"errors-{job.pk}.xlsx")


def register(router: BaseRouter) -> None:
    router.register("imports", ImportJobViewSet, basename="import")
