"""jieba's prefix dictionary as a memory-mapped marisa trie instead of half a million Python objects.

`jieba.Tokenizer.initialize` builds `FREQ`, a dict of 498,113 entries (every word of
jieba's dict.txt with its frequency, every prefix of a word with 0): about 62 MB that
stays for the life of the process. Here the same mapping is built once into a cache
file and mapped read-only, so its pages belong to the file: shared by every bot process
on the machine and reclaimable by the kernel, never garbage the collector walks.

The file is one piece, replaced atomically: a header (magic, `total`, key count, trie
size, a BLAKE2b checksum of the rest), the frequencies as native uint32 indexed by key
id, then a `marisa_trie.Trie`. A trie plus an array looks a word up in about half the time
a `RecordTrie` takes (it unpacks a list of tuples per lookup). A file that is missing,
short, or fails its checksum is rebuilt; if it cannot be written the dictionary is
built in this process and kept in memory, so the bot never stops over a cache.

The build runs in a child process: it needs jieba's whole dict as Python objects, and
neither CPython nor the C allocator gives that memory back to the system afterwards.
Words jieba learns at run time (`add_word`) go to an overlay dict, consulted first.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import struct
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Iterator, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import marisa_trie
from loguru import logger

FORMAT = "1"
"""Bumped when the file layout changes: part of the cache file's name."""

MAGIC = b"TBJIEBA" + FORMAT.encode()
HEADER = struct.Struct("<8sQQQ32s")  # magic, total, key count, trie size, checksum of what follows
ALIGN = 8
BUILD_TIMEOUT = 300.0
"""Seconds the child process may take to build the file (it takes 1 to 2 s on two shared cores)."""

_ROOT = Path(__file__).resolve().parents[2]  # the folder holding `handlers`, for the child's import


class PrefixDict(Mapping[str, int]):
    """What jieba's `Tokenizer.FREQ` must be: `in`, `[]`, `get`, and `[]=` from `add_word`.

    Reads look in the overlay first, then in the trie; writes go to the overlay only.
    """

    __slots__ = ("_buffer", "_overlay", "_trie", "_values")

    def __init__(self, trie: marisa_trie.Trie, values: memoryview, buffer: object) -> None:
        self._trie = trie
        self._values = values
        self._buffer = buffer  # the trie maps this memory without holding it: keep it alive
        self._overlay: dict[str, int] = {}

    def __contains__(self, key: object) -> bool:
        if key in self._overlay:
            return True
        try:
            return key in self._trie
        except (TypeError, AttributeError):  # not a str
            return False

    def __getitem__(self, key: str) -> int:
        value = self._overlay.get(key)
        if value is not None:
            return value
        try:
            return self._values[self._trie.key_id(key)]
        except (TypeError, AttributeError):  # not a str
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        value = self._overlay.get(key)
        if value is not None:
            return value
        try:
            index = self._trie.get(key)
        except (TypeError, AttributeError):  # not a str
            return default
        return default if index is None else self._values[index]

    def __setitem__(self, key: str, value: int) -> None:
        self._overlay[key] = value

    def __iter__(self) -> Iterator[str]:
        yield from self._overlay
        for key in self._trie.iterkeys():
            if key not in self._overlay:
                yield key

    def __len__(self) -> int:
        return len(self._trie) + sum(1 for key in self._overlay if key not in self._trie)


class CacheError(ValueError):
    """The cache file is not a whole, intact dictionary file."""


def dictionary_path(dictionary: str | None = None) -> Path:
    """The dictionary file jieba would read: its bundled dict.txt unless a path is given."""
    if dictionary is None:
        import jieba

        return Path(jieba.__file__).resolve().parent / jieba.DEFAULT_DICT_NAME
    return Path(os.path.abspath(dictionary))


def cache_path(dictionary: str | None = None, folder: Path | None = None) -> Path:
    """Where the built dictionary is kept: named after the source file and the trie library.

    A new jieba (another dict.txt), an edited custom dictionary, or another marisa-trie
    release gets a new file instead of misreading an old one.
    """
    source = dictionary_path(dictionary)
    stat = source.stat()
    parts = (
        str(source),
        str(stat.st_size),
        str(stat.st_mtime_ns),
        version("marisa-trie"),
        FORMAT,
        sys.byteorder,
    )
    key = hashlib.blake2b("\0".join(parts).encode(), digest_size=8).hexdigest()
    return Path(folder or tempfile.gettempdir()) / f"tuanbot-jieba-{key}.pfdict"


def load_prefix_dict(dictionary: str | None = None, folder: Path | None = None) -> tuple[PrefixDict, int]:
    """jieba's `FREQ` and `total` for `dictionary` (jieba's own by default), from the cache file.

    Builds the file first if it is missing or broken. Raises only what jieba's own
    `initialize` would (an unreadable or malformed dictionary).
    """
    path = cache_path(dictionary, folder)
    log = logger.bind(path=str(path))
    try:
        return open_cache(path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, RuntimeError) as exc:  # RuntimeError: marisa refused the trie
        log.warning("faq: jieba dictionary cache {} is unusable ({}); building it again", path, exc)
    started = time.perf_counter()
    try:
        _build_in_child(dictionary, path)
        loaded = open_cache(path)
    except (OSError, ValueError, RuntimeError, subprocess.SubprocessError) as exc:
        log.warning("faq: jieba dictionary cache {} not built ({}); building it in this process", path, exc)
        data = encode(dictionary)
        try:
            write_atomically(path, data)
        except OSError as write_error:
            log.warning("faq: jieba dictionary cache {} not written: {}", path, write_error)
        loaded = _from_buffer(data)
    log.info("faq: built jieba's prefix dictionary {} in {:.2f} s", path, time.perf_counter() - started)
    return loaded


def open_cache(path: Path) -> tuple[PrefixDict, int]:
    """The mapped dictionary in `path`, after checking its size and checksum.

    Raises:
        FileNotFoundError: no such file.
        CacheError: the file is short, long, from another format, or fails its checksum.
    """
    with open(path, "rb") as file:
        header = file.read(HEADER.size)
        _layout(header, os.fstat(file.fileno()).st_size)
        digest = hashlib.file_digest(file, _hasher).digest()  # read, not mapped: our RSS stays small
        if digest != HEADER.unpack(header)[4]:
            raise CacheError("checksum mismatch")
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    return _from_buffer(mapped)


def encode(dictionary: str | None = None) -> bytes:
    """The cache file's bytes for `dictionary`, built with jieba's own `gen_pfdict`.

    Calling jieba's function rather than a copy of it makes the keys, the zeros for
    prefixes, repeated words and `total` exactly what `initialize` would have made.
    Frequencies are stored as uint32 (jieba's dict.txt tops out at 883,634); a custom
    dictionary with a negative or larger one raises OverflowError.
    """
    import jieba

    source = None if dictionary is None else str(dictionary_path(dictionary))
    frequencies, total = jieba.Tokenizer.gen_pfdict(jieba.Tokenizer(source).get_dict_file())
    trie = marisa_trie.Trie(frequencies)
    values = array("I", bytes(4 * len(trie)))
    for word, index in trie.iteritems():
        values[index] = frequencies[word]
    packed, trie_bytes = values.tobytes(), trie.tobytes()
    body = packed + bytes(-len(packed) % ALIGN) + trie_bytes
    digest = _hasher()
    digest.update(body)
    return HEADER.pack(MAGIC, total, len(trie), len(trie_bytes), digest.digest()) + body


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that no reader ever sees part of it (temp file, then `os.replace`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _hasher() -> Any:
    return hashlib.blake2b(digest_size=32)


def _layout(header: bytes, size: int) -> tuple[int, int, int, int]:
    """Total, key count, and where the trie starts and ends, if the header fits a file of `size` bytes."""
    if len(header) < HEADER.size:
        raise CacheError(f"{size} bytes: shorter than the header")
    magic, total, count, trie_size, _ = HEADER.unpack(header[: HEADER.size])
    if magic != MAGIC:
        raise CacheError("not a prefix dictionary of this format")
    start = HEADER.size + 4 * count
    start += -start % ALIGN
    if start + trie_size != size:
        raise CacheError(f"{size} bytes where the header promises {start + trie_size}")
    return total, count, start, start + trie_size


def _from_buffer(buffer: Any) -> tuple[PrefixDict, int]:
    view = memoryview(buffer)
    total, count, start, end = _layout(bytes(view[: HEADER.size]), len(view))
    trie = marisa_trie.Trie()
    trie.map(view[start:end])
    if len(trie) != count:
        raise CacheError(f"{len(trie)} keys where the header promises {count}")
    values = view[HEADER.size : HEADER.size + 4 * count].cast("I")
    return PrefixDict(trie, values, buffer), total


def _build_in_child(dictionary: str | None, path: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
    source = [] if dictionary is None else [str(dictionary_path(dictionary))]
    command = [sys.executable, "-m", "handlers.faq.dictionary", str(path), *source]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    if done.returncode != 0:
        raise subprocess.SubprocessError(f"exit {done.returncode}: {done.stderr.strip()[-500:]}")


def _main(argv: list[str]) -> int:
    """`python -m handlers.faq.dictionary CACHE_FILE [DICTIONARY]`: build the cache file."""
    if len(argv) not in (1, 2):
        raise SystemExit(_main.__doc__)
    write_atomically(Path(argv[0]), encode(argv[1] if len(argv) == 2 else None))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
