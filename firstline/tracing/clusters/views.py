"""Pages of transmission clusters: the list (with exports), one cluster with its graph, the graph's JSON, and the
exports of one cluster."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core import audit
from firstline.core.exports import FORMATS, export_response
from firstline.core.models import AuditAction
from firstline.core.pii import sees_full_pii
from firstline.core.scoping import require, scope_of
from firstline.tracing.clusters import exports, selectors
from firstline.tracing.clusters.forms import ClusterFilterForm, GraphFilterForm
from firstline.tracing.models import Classification, MemberRole

PAGE_SIZE = 50
# Colour keys of the graph (cluster-graph.js paints nodes and these legend swatches alike).
LEGEND = (
    ("confirmed", Classification.CONFIRMED.label),
    ("asymptomatic", Classification.ASYMPTOMATIC.label),
    ("suspected", Classification.SUSPECTED.label),
    ("close", MemberRole.CLOSE.label),
    ("secondary", MemberRole.SECONDARY.label),
    ("other", MemberRole.OTHER.label),
    ("group", gettext_lazy("group of persons (household, venue, area)")),
)
CLUSTER_EXPORT_FORMATS = ("xlsx", "json")


def _graph_filters(form: GraphFilterForm) -> selectors.GraphFilters:
    values = form.filters()
    return selectors.GraphFilters(
        date_from=values.get("date_from"), date_to=values.get("date_to"), division=values.get("division", "")
    )


@login_required
@require_GET
def cluster_list(request: HttpRequest) -> HttpResponseBase:
    require(request.user, Perm.PERSON_VIEW)
    form = ClusterFilterForm(request.GET)
    filters = form.filters()
    clusters = selectors.cluster_list(user=request.user, filters=filters)
    fmt = request.GET.get("export", "")
    if fmt:
        require(request.user, Perm.PERSON_EXPORT)
        if fmt not in FORMATS:
            return HttpResponseBadRequest(_("Unknown export format: use csv or xlsx."))
        note = f"clusters {fmt} filters={ {k: str(v) for k, v in filters.items()} }"
        audit.record(actor=request_user(request), action=AuditAction.EXPORT, note=note[:1000])
        return export_response(
            rows=clusters.iterator(chunk_size=2000), columns=exports.list_columns(), basename="clusters", fmt=fmt
        )
    return render(
        request,
        "tracing/clusters/list.html",
        {
            "form": form,
            "page_obj": Paginator(clusters, PAGE_SIZE).get_page(request.GET.get("page")),
            "nav_active": "clusters",
            "can_export": scope_of(request.user).has(Perm.PERSON_EXPORT),
        },
    )


@login_required
@require_GET
def cluster_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.PERSON_VIEW)
    cluster = selectors.cluster_get_for_user(request.user, pk)
    page = Paginator(selectors.member_page_queryset(cluster), PAGE_SIZE).get_page(request.GET.get("page"))
    visible = selectors.visible_person_ids(request.user, [m.person_id for m in page])
    classifications = dict(Classification.choices)
    rows = [
        {
            "visible": m.person_id in visible,
            "person_id": m.person_id,
            "name": m.person.name,
            "id_number": m.person.id_number,
            "role": m.get_role_display(),
            "classification": classifications.get(m.classification, ""),
            "path": m.path,
        }
        for m in page
    ]
    context = {
        "cluster": cluster,
        "form": GraphFilterForm(request.GET),
        "page_obj": page,
        "rows": rows,
        "legend": LEGEND,
        "graph_url": reverse("tracing:cluster_graph", args=[cluster.pk]),
        "nav_active": "clusters",
        "can_export": scope_of(request.user).has(Perm.PERSON_EXPORT),
    }
    return render(request, "tracing/clusters/detail.html", context)


@login_required
@require_GET
def cluster_graph(request: HttpRequest, pk: int) -> JsonResponse:
    """The graph as Cytoscape elements: plain, aggregated above CLUSTER_GRAPH_MAX_NODES, or one group (``group``)."""
    require(request.user, Perm.PERSON_VIEW)
    cluster = selectors.cluster_get_for_user(request.user, pk)
    form = GraphFilterForm(request.GET)
    group = form.filters().get("group", "")
    graph = selectors.ClusterGraph(user=request.user, cluster=cluster, filters=_graph_filters(form))
    return JsonResponse(graph.payload(group=group), json_dumps_params={"ensure_ascii": False})


@login_required
@require_GET
def cluster_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponseBase:
    """One cluster as xlsx (members + exposures sheets) or JSON (nodes + edges), narrowed by the graph's filters."""
    require(request.user, Perm.PERSON_EXPORT)
    if fmt not in CLUSTER_EXPORT_FORMATS:
        raise Http404
    cluster = selectors.cluster_get_for_user(request.user, pk)
    graph = selectors.ClusterGraph(
        user=request.user, cluster=cluster, filters=_graph_filters(GraphFilterForm(request.GET))
    )
    full = sees_full_pii(request.user)
    audit.record(
        actor=request_user(request),
        action=AuditAction.EXPORT,
        instance=cluster,
        note=f"cluster {cluster.label} {fmt} persons={len(graph.persons)} full_pii={full}",
    )
    if fmt == "json":
        return exports.cluster_json(graph)
    return exports.cluster_xlsx(graph, full_pii=full)
