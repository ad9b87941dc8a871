"""Watching live campaigns: scheduled checks turn metrics into private alerts.

Each open campaign gets one interval job (`monitor:<campaign id>`, every
minute between opening and closing). Each rule has its own check interval,
duration before firing, cool-down and recovery message (`handlers.monitoring.rules`).
Alerts go to the group's leaders and the admins privately, never to the group.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from loguru import logger

from bot.campaign import Campaign
from bot.vocab import Priority
from handlers.monitoring.figures import RuleFigures, groups_rule_figures
from handlers.monitoring.rules import DEFAULT_RULES, AlertState, Rule, due, step
from handlers.selling.store import OrderStore

if TYPE_CHECKING:
    from bot.context import Services

STOCK_SUBJECT_GROUP = "*"
# Rules measured per group (stock is measured per product, across the campaign's groups).
GROUP_RULES = ("active_ratio", "messages_per_minute", "conversion")


def campaign_rules(campaign: Campaign) -> dict[str, Rule]:
    """The documents' rules with this campaign's overrides applied."""
    rules = {}
    for name, rule in DEFAULT_RULES.items():
        override = getattr(campaign.monitoring, name)
        changes = {k: v for k, v in override.model_dump().items() if v is not None}
        rules[name] = replace(rule, **changes)
    return rules


@dataclass(frozen=True)
class Observation:
    """One metric value for one rule, group and (for stock) product."""

    group_id: str
    rule: str
    subject: str
    value: float


@dataclass(frozen=True)
class Alert:
    """One alert or recovery, for the log, the tests and the templates."""

    campaign_id: str
    group_id: str
    rule: str
    subject: str
    value: float
    threshold: float
    transition: str
    at: datetime


@dataclass
class CampaignMonitor:
    services: Services
    states: dict[tuple[str, str, str, str], AlertState] = field(default_factory=dict)
    history: list[Alert] = field(default_factory=list)

    def check(self, campaign: Campaign, groups: list[str], now: datetime) -> list[Alert]:
        """Evaluate every due rule for every group; send and return the transitions."""
        return self.apply(campaign, groups, now, self.observe(campaign, groups, now))

    def observe(self, campaign: Campaign, groups: list[str], now: datetime) -> list[Observation]:
        """The database half of a check: metric values for the rules that are due.

        Reads only, so the scheduled job runs it in a worker thread and the event loop keeps
        handling chat while a campaign with many groups is measured.
        """
        if not campaign.monitoring.enabled:
            return []
        self.services.flush_inbound()  # activity is written behind: read it complete
        engine = self.services.repo.engine
        rules = campaign_rules(campaign)
        measured: dict[tuple[str, str], RuleFigures] = {}
        # One set of grouped queries per rule (its own window), not per group; counted by the
        # database, a few objects per group (handlers.monitoring.figures says why that matters).
        for name in GROUP_RULES:
            rule = rules[name]
            due_groups = [
                group_id
                for group_id in groups
                if (state := self.states.get((campaign.id, group_id, name, ""))) is None
                or due(rule, state, now)
            ]
            if due_groups:
                by_group = groups_rule_figures(engine, campaign.id, due_groups, now - rule.window, now)
                measured.update({(group_id, name): m for group_id, m in by_group.items()})
        observations: list[Observation] = []
        for group_id in groups:
            for name in GROUP_RULES:
                metrics = measured.get((group_id, name))
                if metrics is None:
                    continue
                if metrics.members == 0 or (name == "conversion" and metrics.active_members == 0):
                    # Conversion of nobody is undefined; an empty group is the activity rules' business.
                    continue
                value = {
                    "active_ratio": metrics.active_ratio,
                    "messages_per_minute": metrics.messages_per_minute,
                    "conversion": metrics.conversion_active,
                }[name]
                observations.append(Observation(group_id, name, "", value))
        for level in OrderStore(engine).stock(campaign.id):
            if level.total:
                observations.append(
                    Observation(
                        STOCK_SUBJECT_GROUP, "stock_ratio", level.product_code, level.stock / level.total
                    )
                )
        return observations

    def apply(
        self, campaign: Campaign, groups: list[str], now: datetime, observations: list[Observation]
    ) -> list[Alert]:
        """The event-loop half: advance each rule's state, send alerts and recoveries."""
        rules = campaign_rules(campaign)
        alerts: list[Alert] = []
        for obs in observations:
            rule = rules[obs.rule]
            state = self.states.setdefault((campaign.id, obs.group_id, obs.rule, obs.subject), AlertState())
            if due(rule, state, now):
                self._advance(alerts, campaign, obs.group_id, rule, state, obs.subject, obs.value, now)
        for alert in alerts:
            self._send(alert, campaign, groups)
        self.history.extend(alerts)
        return alerts

    def _advance(
        self,
        alerts: list[Alert],
        campaign: Campaign,
        group_id: str,
        rule: Rule,
        state: AlertState,
        subject: str,
        value: float,
        now: datetime,
    ) -> None:
        transition = step(rule, state, value, now)
        if transition is not None:
            alerts.append(
                Alert(campaign.id, group_id, rule.name, subject, value, rule.threshold, transition, now)
            )

    def _send(self, alert: Alert, campaign: Campaign, groups: list[str]) -> None:
        services = self.services
        targets = set(services.config.admins)
        for group_id in groups if alert.group_id == STOCK_SUBJECT_GROUP else [alert.group_id]:
            targets |= services.roles.leaders_of(group_id)
        product = campaign.product(alert.subject) if alert.subject else None
        group_name = (
            "全部群" if alert.group_id == STOCK_SUBJECT_GROUP else services.repo.group_name(alert.group_id)
        )
        text = services.renderer.render(
            "monitor/alert.j2",
            bot_name=services.config.bot.name,
            alert=alert,
            campaign=campaign,
            group_name=group_name,
            product=product,
        )
        logger.bind(campaign=alert.campaign_id, group=alert.group_id, rule=alert.rule).warning(
            "monitor: {} {} = {:.3f} (threshold {})",
            alert.transition,
            alert.rule,
            alert.value,
            alert.threshold,
        )
        for member_id in sorted(targets):
            services.outbox.enqueue(text, member_id=member_id, priority=Priority.ALERT, kind="alert")
