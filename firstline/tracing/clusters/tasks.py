"""Background recomputation of the transmission clusters (queued after exposures change)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from firstline.tracing.clusters import services


@shared_task(name="firstline.tracing.clusters.tasks.recompute_clusters")
def recompute_clusters() -> dict[str, Any]:
    """Recompute every cluster from the counted exposures; returns the report's figures."""
    from django.core.cache import cache

    from firstline.tracing.services import CLUSTERS_PENDING_KEY

    cache.delete(CLUSTERS_PENDING_KEY)  # writes from now on queue the next run
    return services.clusters_recompute().as_dict()
