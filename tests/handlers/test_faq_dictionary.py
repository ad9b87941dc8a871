"""Issue 14 (memory): jieba's prefix dictionary as a memory-mapped trie splits text exactly as jieba's own dict.

The stock tokenizer (`jieba.Tokenizer().initialize()`) is the reference: the trie must hold
the same 498,113 keys and frequencies, cut hundreds of group-chat sentences, FAQ questions
and bot messages the same way with and without HMM, before and after `add_word`; the cache
file is reused when whole and rebuilt when damaged.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jieba
import pytest
from ruamel.yaml import YAML

from handlers.faq import matching
from handlers.faq.dictionary import PrefixDict, cache_path, load_prefix_dict, open_cache
from handlers.faq.matching import squash

ROOT = Path(__file__).resolve().parents[2]
YAML_SAFE = YAML(typ="safe")


def _faq_texts() -> list[str]:
    texts = []
    for name in ("faq_cases.yaml", "faq_holdout.yaml"):
        texts += [case["text"] for case in YAML_SAFE.load(ROOT / "tests" / "engagement" / name)]
    campaign = YAML_SAFE.load(ROOT / "tests" / "fixtures" / "sample_fixed.yaml")
    for entry in campaign["faq"] + YAML_SAFE.load(ROOT / "data" / "faq.yaml"):
        texts += [entry["question"], entry["answer"], *entry.get("examples", []), *entry.get("keywords", [])]
    return texts


def _template_texts() -> list[str]:
    """What the bot says: every template line with Chinese in it, Jinja and HTML taken out."""
    lines = set()
    for path in sorted((ROOT / "templates").rglob("*.j2")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|<[^>]*>", " ", line).strip()
            if re.search("[\u4e00-\u9fff]", line):
                lines.add(line)
    return sorted(lines)


def _mixed(texts: list[str]) -> list[str]:
    """Chinese glued to order codes, digits, Latin words and emoji, as members write."""
    shapes = (
        "{}🍓🍓",
        "A1 2 {}",
        "{} iPhone15Pro买3件ok?",
        "12栋3单元{}",
        "#团购#{}100%好评",
        "{}3.5kg-2.0kg😭",
        "ＡＢＣ{}",
    )
    return [shape.format(text) for text, shape in zip(texts, shapes * len(texts), strict=False)]


FAQ = _faq_texts()
SENTENCES = FAQ + _template_texts() + _mixed(FAQ)
LEARNT = {
    "自提点": 2000,
    "送货上门": 2000,
    "免打扰": 2000,
    "团购小助手": 2000,
    "榴莲千层": 2000,
    "红包雨": None,
}
"""Words as `FaqMatcher` adds its keywords (freq 2000), and some with jieba's suggested frequency."""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jieba-cache")


@pytest.fixture(scope="module")
def stock() -> Any:
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def trie_tokenizer(folder: Path) -> Any:
    """A tokenizer built as `handlers.faq.matching._jieba` builds it, with the cache in `folder`."""
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ, tokenizer.total = load_prefix_dict(folder=folder)
    tokenizer.initialized = True
    return tokenizer


def stock_copy(stock: Any) -> Any:
    """The stock tokenizer's dictionary in a tokenizer of its own, for tests that add words."""
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ, tokenizer.total = dict(stock.FREQ), stock.total
    tokenizer.initialized = True
    return tokenizer


def cuts(tokenizer: Any, hmm: bool) -> Iterator[tuple[str, list[str]]]:
    for text in SENTENCES:
        for form in (text, squash(text)):  # as written, and as `content_tokens` cuts it
            yield form, tokenizer.lcut(form, HMM=hmm)


def test_the_sentences_are_many_and_varied() -> None:
    assert len(SENTENCES) >= 300
    assert sum(1 for s in SENTENCES if re.search("[A-Za-z]", s) and re.search(r"\d", s)) >= 50
    assert any("🍓" in s for s in SENTENCES)


def test_the_trie_holds_exactly_jiebas_prefix_dictionary(folder: Path, stock: Any) -> None:
    freq, total = load_prefix_dict(folder=folder)
    assert total == stock.total == 60_101_967
    assert len(freq) == len(stock.FREQ) == 498_113
    assert all(freq[word] == value for word, value in stock.FREQ.items())
    assert freq["草莓"] == stock.FREQ["草莓"] > 0
    assert freq["C语"] == stock.FREQ["C语"] == 0  # a prefix (of C语言) that is no word
    assert "自提" not in freq and freq.get("自提") is None


@pytest.mark.parametrize("hmm", [True, False], ids=["hmm", "no-hmm"])
def test_segmentation_matches_stock_jieba(folder: Path, stock: Any, hmm: bool) -> None:
    expected = dict(cuts(stock, hmm))
    got = dict(cuts(trie_tokenizer(folder), hmm))
    assert got == expected
    assert any(len(words) > 3 for words in got.values())


@pytest.mark.parametrize("hmm", [True, False], ids=["hmm", "no-hmm"])
def test_segmentation_matches_after_learning_words(folder: Path, stock: Any, hmm: bool) -> None:
    reference, trie = stock_copy(stock), trie_tokenizer(folder)
    before = dict(cuts(trie, hmm))
    for word, freq in LEARNT.items():
        reference.add_word(word, freq)
        trie.add_word(word, freq)
    assert trie.total == reference.total
    assert {w: trie.FREQ[w] for w in LEARNT} == {w: reference.FREQ[w] for w in LEARNT}
    got = dict(cuts(trie, hmm))
    assert got == dict(cuts(reference, hmm))
    assert got != before  # the learnt words changed some splits, so the comparison saw them
    assert "榴莲千层" in trie.lcut("周末有榴莲千层吗", HMM=hmm)


def test_learnt_words_go_to_the_overlay(folder: Path, stock: Any) -> None:
    path = cache_path(folder=folder)
    load_prefix_dict(folder=folder)
    size = path.stat().st_size
    tokenizer = trie_tokenizer(folder)
    freq: PrefixDict = tokenizer.FREQ
    assert "团购小助手" not in freq and "团购小" not in freq
    tokenizer.add_word("团购小助手", 2000)
    assert "团购小助手" in freq and freq["团购小助手"] == freq.get("团购小助手") == 2000
    assert freq["团购小"] == freq["团购小助"] == 0  # new prefixes
    assert freq["团购"] == stock.FREQ["团购"] > 0  # an existing prefix keeps jieba's frequency
    assert tokenizer.total == stock.total + 2000
    assert len(freq) == len(stock.FREQ) + 3
    assert {"团购小助手", "团购小", "团购小助"} <= set(freq)
    assert "团购小助手" not in trie_tokenizer(folder).FREQ  # another tokenizer, another overlay
    assert path.stat().st_size == size


def test_missing_keys_behave_as_in_a_dict(folder: Path) -> None:
    freq, _ = load_prefix_dict(folder=folder)
    assert freq.get("不存在的词语啊") is None and freq.get("不存在的词语啊", 1) == 1
    with pytest.raises(KeyError):
        freq["不存在的词语啊"]
    assert 42 not in freq and freq.get(42, 7) == 7  # type: ignore[arg-type]


def test_a_second_load_reads_the_cache_without_rebuilding(tmp_path: Path) -> None:
    load_prefix_dict(folder=tmp_path)
    path = cache_path(folder=tmp_path)
    first = path.stat()
    freq, total = load_prefix_dict(folder=tmp_path)
    again = path.stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind
    assert total == 60_101_967 and freq["草莓"] > 0


def _truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _flip(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


def _empty(data: bytes) -> bytes:
    return b""


@pytest.mark.parametrize("damage", [_truncate, _flip, _empty], ids=["truncated", "flipped-byte", "empty"])
def test_a_damaged_cache_file_is_rebuilt(folder: Path, tmp_path: Path, stock: Any, damage: Any) -> None:
    load_prefix_dict(folder=folder)
    whole = cache_path(folder=folder).read_bytes()
    path = cache_path(folder=tmp_path)
    path.write_bytes(damage(whole))
    damaged = path.stat().st_ino
    with pytest.raises(ValueError):
        open_cache(path)
    tokenizer = trie_tokenizer(tmp_path)
    assert path.read_bytes() == whole and path.stat().st_ino != damaged
    for text in FAQ[:40]:
        assert tokenizer.lcut(text) == stock.lcut(text)


def test_an_unwritable_cache_folder_still_gives_a_working_dictionary(tmp_path: Path, stock: Any) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("a file where the cache folder should be")
    freq, total = load_prefix_dict(folder=not_a_folder)
    assert total == stock.total and len(freq) == len(stock.FREQ)
    tokenizer = trie_tokenizer(not_a_folder)
    for text in FAQ[:40]:
        assert tokenizer.lcut(text) == stock.lcut(text)


def test_the_faq_tokenizer_uses_the_trie() -> None:
    matching.load_tokenizer()
    tokenizer = matching._jieba()
    assert isinstance(tokenizer.FREQ, PrefixDict)
    assert tokenizer.initialized and tokenizer.total >= 60_101_967
    assert cache_path().exists()
    assert matching.content_tokens("今天天气怎么样？大家晚饭吃了吗") == ["今天天气", "怎么样", "晚饭", "吃"]


def test_the_tokenizer_loads_without_pkg_resources() -> None:
    """jieba would import setuptools' pkg_resources (12 MB) only to open its data files by another way."""
    code = (
        "import sys\n"
        "from handlers.faq.matching import content_tokens, load_tokenizer\n"
        "load_tokenizer()\n"
        "print(content_tokens('草莓什么时候到货'), 'pkg_resources' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "['草莓', '到货'] False"
