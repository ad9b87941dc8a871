"""What a feature package declares, and the one place the app reads those declarations.

Each package under `handlers/` exports one `Feature` (in its `feature.py`); `handlers.features.FEATURES`
lists them, and `App.build` collects handlers, node kinds and services from that list only.
Nothing registers itself on import (Errbot's tag-then-collect), so a test can build an app
from any subset, and "where is the red-packet rain?" has one answer: `handlers/redpacket/`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from loguru import logger

if TYPE_CHECKING:
    from bot.campaign.nodes import NodeHook, NodeRunner
    from bot.context import Services

Hook = Callable[[], Any]  # a start-up or shut-down step; may return an awaitable

FiguresSource = Callable[[Any, str, Sequence[str] | None], Mapping[str, int]]
"""A feature's figures for one campaign: ``(engine, campaign_id, group_ids or None for all) ->
{key: count}``, keys stable English words that templates/monitoring/growth_labels.j2 names."""


@dataclass
class Lifecycle:
    """Steps features add to the app's start and stop (warming a tokenizer, a background task)."""

    starting: list[Hook] = field(default_factory=list)
    stopping: list[Hook] = field(default_factory=list)

    def on_start(self, hook: Hook) -> None:
        self.starting.append(hook)

    def on_stop(self, hook: Hook) -> None:
        self.stopping.append(hook)


@dataclass(frozen=True)
class Feature:
    """One feature: its handler modules, its timeline node kinds, and how to make its services.

    `node_runners` render a node kind's posts (pure: no writes). `node_hooks` are the kind's
    effects, run only after the node's ledger row is claimed, in the claim's transaction, so a
    duplicate run repeats nothing. `setup` registers the feature's services by type.
    """

    name: str
    modules: tuple[ModuleType, ...] = ()
    node_runners: Mapping[str, NodeRunner] = field(default_factory=dict)
    node_hooks: Mapping[str, NodeHook] = field(default_factory=dict)
    setup: Callable[[Services, Lifecycle], None] | None = None
    figures: FiguresSource | None = None


@dataclass(frozen=True)
class FeatureFigures:
    """Every feature's figures, collected by the app, so /stats and `tuanbot report` show a loop's
    numbers (referral, points, reopen…) without importing the loop."""

    sources: tuple[tuple[str, FiguresSource], ...] = ()

    def collect(self, engine: Any, campaign_id: str, group_ids: Sequence[str] | None) -> dict[str, int]:
        """All features' figures in feature order; a feature that fails is logged and left out."""
        found: dict[str, int] = {}
        for name, source in self.sources:
            try:
                found.update(source(engine, campaign_id, group_ids))
            except Exception:
                logger.opt(exception=True).warning("figures of {} failed", name)
        return found


def as_feature(item: Feature | ModuleType) -> Feature:
    """A bare module of handlers (a test's probe feature) is the smallest feature."""
    if isinstance(item, Feature):
        return item
    return Feature(name=item.__name__, modules=(item,))


def node_kinds(features: list[Feature]) -> tuple[dict[str, NodeRunner], dict[str, list[NodeHook]]]:
    """Every feature's node runners (one per kind; two features claiming a kind is a wiring
    mistake) and hooks (several per kind, in feature order)."""
    runners: dict[str, NodeRunner] = {}
    owners: dict[str, str] = {}
    hooks: dict[str, list[NodeHook]] = {}
    for feature in features:
        for kind, runner in feature.node_runners.items():
            if kind in owners:
                raise ValueError(
                    f"node kind {kind!r} posted by two features: {owners[kind]} and {feature.name}"
                )
            runners[kind], owners[kind] = runner, feature.name
        for kind, hook in feature.node_hooks.items():
            hooks.setdefault(kind, []).append(hook)
    return runners, hooks
