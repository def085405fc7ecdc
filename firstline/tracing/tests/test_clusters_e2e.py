"""Browser end-to-end of the cluster graph: it draws, switches layout, opens a group of an aggregated cluster and
leads to a person's page on click. Real Chromium via Playwright (fixtures shared with firstline/tests/test_e2e)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from firstline.tests.test_e2e import _log_in, browser, page  # noqa: F401  (fixtures)
from firstline.tracing.clusters.services import clusters_recompute
from firstline.tracing.tests.test_clusters import cluster_of, expose, new_case, new_person

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _wait_for_nodes(tab: Any, count: int) -> None:
    # A function (not a string) so that the page's CSP (no eval) does not refuse it.
    tab.wait_for_function(
        "(n) => window.firstlineClusterGraph && window.firstlineClusterGraph.nodes().length === n", arg=count
    )


def _tap(tab: Any, node_id: str) -> None:
    """Click a node where Cytoscape drew it (the canvas has no DOM per node)."""
    graph = tab.locator("[data-testid=cluster-graph]")
    graph.scroll_into_view_if_needed()
    box = graph.bounding_box()
    position = tab.evaluate(f"window.firstlineClusterGraph.getElementById('{node_id}').renderedPosition()")
    tab.mouse.click(box["x"] + position["x"], box["y"] + position["y"])


def test_the_graph_draws_groups_opens_them_and_leads_to_the_person(
    page: Any,  # noqa: F811  (the shared fixture)
    live_server: Any,
    city: Any,
    settings: Any,
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(f"{page.url} {message.location} {message.text[:80]}") if message.type == "error" else None
        ),
    )
    case = city.person_a
    new_case(case)
    household = [new_person(city.household_a, f"家{n}") for n in range(3)]
    neighbours = [new_person(city.household_a2, f"邻{n}") for n in range(2)]
    for person in household:
        expose(case, person)
    for person in neighbours:
        expose(household[0], person, setting="shared_meal")
    clusters_recompute()
    cluster = cluster_of(case)
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, base, "cdc")

    # Small enough: one node per person, hierarchical from the case, then force-directed.
    page.goto(base + reverse("tracing:cluster_detail", args=[cluster.pk]))
    page.locator("[data-testid=cluster-graph] canvas").first.wait_for()
    _wait_for_nodes(page, 6)
    assert page.evaluate("window.firstlineClusterGraph.edges().length") == 5
    page.select_option("[data-graph-layout]", "cose")

    # Above the limit: households, and a click opens one.
    settings.CLUSTER_GRAPH_MAX_NODES = 3
    page.goto(base + reverse("tracing:cluster_detail", args=[cluster.pk]))
    _wait_for_nodes(page, 2)
    group = f"h{city.household_a2.pk}"
    _tap(page, group)
    _wait_for_nodes(page, 3)
    assert page.evaluate(f"window.firstlineClusterGraph.getElementById('{group}').length") == 0
    assert page.evaluate("window.firstlineClusterGraph.edges().length") == 2

    # A person's node leads to the person's page.
    _tap(page, f"p{neighbours[0].pk}")
    page.wait_for_url(f"{base}{reverse('people:detail', args=[neighbours[0].pk])}")
    assert errors == []
