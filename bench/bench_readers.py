"""How fast qa reads a long PDF, next to how fast it embeds the passages it gets from it.

Builds a 300-page report with fpdf2 (11-point body text, a running header and a numbered
footer on every page, a heading every ten pages), then times, best of `--repeat`:

* the PDF reader alone (`qa.readers.pdf.read`): pages per second;
* the whole load (`qa.documents.load_document`: reader, title, date, content): pages per second;
* embedding the document's passages with the real model (`--embed N` passages): passages per second.

The 1-minute load average is printed beside each figure: the numbers are only comparable at
a similar load. Run:  .venv/bin/python bench/bench_readers.py [--pages 300] [--embed 256]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from fpdf import FPDF

from qa.documents import load_document
from qa.readers import pdf as pdf_reader

_WORDS = (
    "harbour", "trust", "quay", "channel", "dredging", "budget", "auditors", "board", "ferry", "island", "cargo",
    "volumes", "fleet", "season", "pontoon", "repairs", "storm", "winter", "council", "grant", "timetable",
    "crossing", "passengers", "margin", "fees", "costs", "staff", "fuel", "contract", "authority", "survey",
    "engineers", "divers", "buoys", "slipway", "market"
)


class _Report(FPDF):
    def header(self) -> None:
        self.set_font("helvetica", size=8)
        self.cell(0, 6, "Harbour Trust - Annual Report", align="R", new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("helvetica", size=8)
        self.cell(0, 5, f"Page {self.page_no()}", align="C")


def build(pages: int) -> bytes:
    """A `pages`-page PDF of varied prose, built on the spot."""
    rng = random.Random(7)
    pdf = _Report()
    pdf.set_auto_page_break(False)
    for number in range(1, pages + 1):
        pdf.add_page()
        if number % 10 == 1:
            pdf.set_font("helvetica", "B", size=14)
            pdf.multi_cell(0, 8, f"Section {number // 10 + 1}: the {rng.choice(_WORDS)} and the {rng.choice(_WORDS)}",
                           new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=11)
        while pdf.get_y() < 250:
            sentences = (" ".join(rng.choices(_WORDS, k=rng.randint(8, 20))).capitalize() + "."
                         for _ in range(rng.randint(2, 5)))
            pdf.multi_cell(0, 5.5, " ".join(sentences), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    return bytes(pdf.output())


def _best(repeat: int, work) -> float:
    """The fastest of `repeat` runs of `work()`, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--embed", type=int, default=256, help="passages to embed (0: skip the model)")
    args = parser.parse_args(argv)
    data = build(args.pages)
    print(f"{args.pages}-page PDF, {len(data) / 1e6:.1f} MB; {os.cpu_count()} CPUs")
    read = _best(args.repeat, lambda: pdf_reader.read("report.pdf", data))
    print(f"PDF reader:        {args.pages / read:7.1f} pages/s  ({read:.2f} s)   {_load()}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "report.pdf")
        path.write_bytes(data)
        loaded = _best(args.repeat, lambda: load_document(path, path.parent))
        doc = load_document(path, path.parent)
    print(f"load_document:     {args.pages / loaded:7.1f} pages/s  ({loaded:.2f} s)   {_load()}")
    if args.embed:
        from qa.chunking import chunk
        from qa.config import Settings
        from qa.embedding import Embedder

        embedder, settings = Embedder(), Settings()
        units, spans = chunk(doc.text, doc.content, embedder.count_tokens, settings.max_passage_tokens,
                             settings.overlap_sentences, doc.pages)
        texts = [doc.text[units[a][0] : units[b - 1][1]] for a, b in spans][: args.embed]
        embedder.encode(texts[:8])
        embedded = _best(1, lambda: embedder.encode(texts))
        per_page = len(spans) / args.pages
        print(f"embedding:         {len(texts) / embedded:7.1f} passages/s ({per_page:.1f} passages a page: "
              f"{len(texts) / embedded / per_page:.1f} pages/s)   {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
