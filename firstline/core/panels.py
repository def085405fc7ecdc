"""Sections that higher apps add to a lower app's record page (tasks on the person page, later arrivals,
measures, cases, placements) and blocks they add to the home page, so the lower app never imports them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.functional import Promise


@dataclass(frozen=True)
class Panel:
    key: str
    title: str | Promise
    template: str
    context: Callable[[HttpRequest, Any], dict[str, Any]]  # request, record → template context
    order: int = 100


_panels: dict[type[models.Model], list[Panel]] = defaultdict(list)


def register_panel(model: type[models.Model], panel: Panel) -> None:
    if all(p.key != panel.key for p in _panels[model]):
        _panels[model].append(panel)
        _panels[model].sort(key=lambda p: (p.order, p.key))


def render_panels(request: HttpRequest, record: models.Model) -> list[tuple[Panel, str]]:
    return [
        (panel, render_to_string(panel.template, panel.context(request, record), request=request))
        for panel in _panels.get(type(record), [])
    ]


@dataclass(frozen=True)
class HomeBlock:
    """A block of the home page from a higher app (e.g. quarantine's "my people today")."""

    key: str
    template: str
    # request → template context, or None when the block has nothing for this user (it is then left out).
    context: Callable[[HttpRequest], dict[str, Any] | None]
    order: int = 100


_home_blocks: list[HomeBlock] = []


def register_home_block(block: HomeBlock) -> None:
    if all(b.key != block.key for b in _home_blocks):
        _home_blocks.append(block)
        _home_blocks.sort(key=lambda b: (b.order, b.key))


def render_home_blocks(request: HttpRequest) -> list[str]:
    rendered: list[str] = []
    for block in _home_blocks:
        context = block.context(request)
        if context is not None:
            rendered.append(render_to_string(block.template, context, request=request))
    return rendered
