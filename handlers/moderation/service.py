"""The moderation service: each group's rules, the in-memory trackers, and the judgement of one post.

`judge` runs for every post by a member who is not a leader of the group or an admin, on the event
loop, from memory only: the rules per group are merged once and cached (the config is immutable),
the banned-word pattern is compiled once per group, and the trackers are bounded LRU maps.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from lru import LRU

from bot.config import Config, ModerationRules
from bot.events import GroupMessage
from handlers.moderation.rules import (
    BannedWords,
    Violation,
    card_rule,
    fold,
    mask_evidence,
    shipped_words,
)
from handlers.moderation.trackers import (
    REPEAT_MIN_CHARS,
    TRACKED_MEMBERS,
    Allowance,
    FloodTracker,
    Key,
    Ladder,
    Mutes,
    RepeatTracker,
)

ALERT_COOLDOWN = timedelta(minutes=10)  # one alert per member and group in this time, however they go on
MUTE_LONGEST = timedelta(days=30)
AuditRow = tuple[str, str, str, int, datetime, datetime | None]  # group, member, action, strike, at, until


class Moderation:
    """Rules, trackers and the ladder's memory for every group this process serves."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.tz = ZoneInfo(config.bot.timezone)
        self._groups: dict[str, tuple[ModerationRules, BannedWords]] = {}  # by `_key`: rules, words
        self._keys: dict[str, str] = {}  # configured group -> its cache entry (bounded by config.yaml)
        self.flood = FloodTracker()
        self.repeat = RepeatTracker()
        self.allowance = Allowance()
        self.ladder = Ladder()
        self.mutes = Mutes()
        self.alerted: LRU[Key, datetime] = LRU(TRACKED_MEMBERS)

    def _key(self, group_id: str) -> str:
        """The group's entry in the rule and word caches: its own only if its config overrides
        something, else the defaults' ("") that every such group shares."""
        key = self._keys.get(group_id)
        if key is None:
            group = self.config.groups.get(group_id)
            if group is None:
                return ""  # not configured: nothing to remember (unbounded ids never enter the cache)
            own = group.moderation.model_dump(exclude_none=True, exclude={"banned_words"})
            key = self._keys[group_id] = group_id if own or group.moderation.banned_words else ""
        return key

    def rules(self, group_id: str) -> ModerationRules:
        """The group's merged rules; groups without their own share the defaults' entry."""
        return self._group(group_id)[0]

    def words(self, group_id: str) -> BannedWords:
        return self._group(group_id)[1]

    def _group(self, group_id: str) -> tuple[ModerationRules, BannedWords]:
        """The group's rules and banned words (compiled once per cache entry), in one look-up per post."""
        key = self._key(group_id)
        found = self._groups.get(key)
        if found is None:
            rules = self.config.moderation_for(key) if key else self.config.moderation
            shipped = shipped_words() if rules.shipped_words else ()
            found = self._groups[key] = (rules, BannedWords((*shipped, *rules.banned_words)))
        return found

    def judge(self, msg: GroupMessage, folded: str | None = None) -> Violation | None:
        """What this post breaks, if anything (the trackers count it either way). Sender not exempt."""
        key = (msg.group_id, msg.sender.id)
        now = msg.time
        if self.mutes:
            until = self.mutes.until(key, now)
            if until is not None:
                return Violation("muted", mask_evidence(msg.text))
        rules, words = self._group(msg.group_id)
        if not rules.enabled:
            return None
        text = msg.text
        folded = fold(text) if folded is None else folded
        word = words.find(folded) if folded else ""
        if word:
            return Violation("banned_word", word)
        mentions = msg.mentions
        if mentions and len(set(mentions)) >= rules.mass_mentions:
            return Violation("mass_mention", f"@{len(set(mentions))}人")
        rule = card_rule(msg.kind, text, folded) if (msg.kind != "text" or folded) else ""
        if rule and not self.allowance.take(key, now.astimezone(self.tz).date(), rules.links_per_day):
            return Violation(rule, mask_evidence(text))
        if msg.kind != "image" and self.flood.add(key, now, rules.flood_messages, rules.flood_seconds):
            return Violation("flood", f"{rules.flood_messages + 1}条/{rules.flood_seconds:g}秒")
        if (rule or len(folded) >= REPEAT_MIN_CHARS) and self.repeat.add(
            msg.sender.id,
            f"{msg.kind}:{folded}",
            msg.group_id,
            now,
            rules.repeat_groups,
            rules.repeat_seconds,
        ):
            return Violation("repeat", mask_evidence(text))
        return None

    def should_alert(self, key: Key, now: datetime) -> bool:
        """True at most once per `ALERT_COOLDOWN` per member and group (leaders are not flooded)."""
        last = self.alerted.get(key)
        if last is not None and now - last < ALERT_COOLDOWN:
            return False
        self.alerted[key] = now
        return True

    def forget(self, key: Key) -> None:
        """After a kick: the member starts afresh if they come back."""
        self.ladder.forget(key)
        self.mutes.unmute(key)
        self.alerted.pop(key, None)

    def restore(
        self, rows: list[tuple[str, str, str, int, datetime, datetime | None]], now: datetime
    ) -> None:
        """Start-up: mutes still running and strikes still counting, from the audit log (oldest first).

        Each row: (group, member, action, strike, at, until).
        """
        for group_id, member_id, action, strike, at, until in rows:
            key = (group_id, member_id)
            if action == "mute" and until is not None and until > now:
                self.mutes.mute(key, until)
            elif action in ("unmute", "kick"):
                self.mutes.unmute(key)
            if action == "kick":
                self.ladder.forget(key)
            elif strike and now - at <= timedelta(hours=self.rules(group_id).strikes_reset_hours):
                self.ladder.restore(key, strike, at)
