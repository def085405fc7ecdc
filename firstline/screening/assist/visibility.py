"""A batch is seen by the level that received it and by everyone a person of it was distributed to.

A township officer opens the batch page of a city-level list to see the deadlines and their own people (the page
lists only the items visible to them).
"""

from __future__ import annotations

from django.db.models import Q

from firstline.core.scoping import Scope, register_visibility
from firstline.screening.models import AssistBatch, AssistItem


def _batches_with_visible_items(scope: Scope) -> Q | None:
    condition = AssistItem.objects.visibility_q(scope)
    if condition is None:
        return None
    return Q(pk__in=AssistItem.objects.filter(condition).values("batch_id"))


def register() -> None:
    register_visibility(AssistBatch, _batches_with_visible_items)
