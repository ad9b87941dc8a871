"""µs per `FaqMatcher.match` call, chatter and questions, fast path against the original algorithm.

Run: .venv/bin/python -m bench.faq_match
Both matchers are built over the same items (sample campaign FAQ + data/faq.yaml) and timed
in the same run. "unique" texts never repeat (no memo hits); "repeated" texts cycle over
a few common chatter lines, as a real group does.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML

from bench.chat import CHATTER
from bot.campaign import load_campaign
from handlers.faq.matching import FaqMatcher, items_from_entries, load_faq_file
from tests.engagement.faq_reference import ReferenceMatcher

ROOT = Path(__file__).resolve().parents[1]
CASES = YAML(typ="safe").load((ROOT / "tests" / "engagement" / "faq_cases.yaml").read_text(encoding="utf-8"))
REPEATED = ["哈哈哈", "好的", "收到", "谢谢团长", "早上好", "👍👍", "+1", "好的好的", "收到了谢谢"]
FRAGMENTS = ["今天", "草莓", "好甜", "孩子", "喜欢", "橙子", "收到了", "谢谢", "团长", "辛苦", "哈哈", "早上好", "下雨了", "楼下", "快递", "晚饭", "明天", "见", "挺好", "不错"]  # fmt: skip


def texts(kind: str, n: int, rng: random.Random) -> list[str]:
    """`n` distinct texts of a kind: labelled cases, then random mixes of fragments (chatter) or cases+suffix."""
    base = [c["text"] for c in CASES if c["kind"] == kind]
    out = list(base)
    while len(out) < n:
        if kind == "chatter":
            out.append("".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 6))) + str(len(out)))
        else:
            out.append(
                rng.choice(base)
                + "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 2)))
                + str(len(out))
            )
    return out[:n]


def per_call(match: Callable[[str], object], batch: list[str], rounds: int = 3) -> float:
    """Best of `rounds` mean µs per call over `batch`."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for text in batch:
            match(text)
        best = min(best, (time.perf_counter() - start) / len(batch) * 1e6)
    return best


def main() -> None:
    rng = random.Random(14)
    items = items_from_entries(
        load_campaign(ROOT / "tests" / "fixtures" / "sample_fixed.yaml").faq, "campaign", "c"
    )
    items += load_faq_file(ROOT / "data" / "faq.yaml")
    old, new = ReferenceMatcher(items), FaqMatcher(items)
    phrasings = sum(1 + len(i.examples) for i in items)
    print(f"{len(items)} FAQ items, {phrasings} phrasings")
    workloads = {
        "chatter, unique": texts("chatter", 3000, rng),
        "chatter, repeated": [REPEATED[i % len(REPEATED)] for i in range(3000)],
        "bench.chat lines, unique": [f"{CHATTER[i % len(CHATTER)]}{i // len(CHATTER)}" for i in range(3000)],
        "questions, unique": texts("question", 3000, rng),
    }
    for name, batch in workloads.items():
        # Each round builds a fresh FaqMatcher for "unique" so its memo never helps across rounds.
        t_old = per_call(old.match, batch)
        if name.endswith("unique"):
            t_new = min(per_call(FaqMatcher(items).match, batch, rounds=1) for _ in range(3))
        else:
            t_new = per_call(new.match, batch)
        print(f"{name:20s} original {t_old:8.1f} µs/call   fast {t_new:8.1f} µs/call   x{t_old / t_new:5.1f}")


if __name__ == "__main__":
    main()
