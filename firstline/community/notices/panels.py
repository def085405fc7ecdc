"""The home page's notices block: the notices in force for the user, pinned first, unread marked.

Registered by ``register()``, called once at start-up from the community app's wiring.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest

from firstline.community.notices import selectors
from firstline.core.panels import HomeBlock, register_home_block
from firstline.core.scoping import scope_of

HOME_NOTICES = 6  # how many lines the block shows; the list page has the rest


def reads_notices(scope: Any) -> bool:
    """Everyone with a jurisdiction, and staff who work somewhere without one (site staff, department officers)."""
    from firstline.accounts.roles import SITE_ROLES

    return bool(scope.paths or scope.department_ids or scope.roles & SITE_ROLES)


def home_context(request: HttpRequest) -> dict[str, Any] | None:
    """Two queries: the first notices in force, and how many there are / are unread (left out when none)."""
    user = request.user
    if not reads_notices(scope_of(user)):
        return None
    feed = selectors.notice_feed(user)
    notices = list(feed[:HOME_NOTICES])
    if not notices:
        return None
    figures = feed.aggregate(total=Count("pk"), unread=Count("pk", filter=Q(is_read=False)))
    return {
        "notices": notices,
        "unread": figures["unread"] or 0,
        "more": max(0, (figures["total"] or 0) - len(notices)),
    }


def register() -> None:
    register_home_block(
        HomeBlock(key="notices", template="community/notices/_home_block.html", context=home_context, order=20)
    )
