"""Compare the ways qa can read a saved web page, on the pages in tests/fixtures/pages/.

Each page NAME.html comes with NAME.json: its type, title and date, the article's sentences
and strings from its furniture (menus, cookie banner, share bar, ads, related links,
comments, footer); "held_out": true marks pages written after the rules were last changed,
which measure how the rules carry over to pages they were not tuned on. For each extractor
(qa.readers.html.EXTRACTORS) the page is loaded as qa loads it and the text that may be
returned as an answer (the document's content spans) is checked: the share of furniture
strings let through, and the share of article sentences lost; per page type and overall,
with the time per page, and how many titles and dates came out right.

    .venv/bin/python bench/bench_html.py            # a table
    .venv/bin/python bench/bench_html.py --pages    # and one line per page and extractor
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from qa.documents import build
from qa.readers import html

PAGES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pages"


def _flat(text: str) -> str:
    return " ".join(text.split()).casefold()


def measure(page: Path, extractor: str) -> dict[str, float | list[str]]:
    """For one page and extractor: furniture let through, sentences lost, seconds taken."""
    truth = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    started = time.perf_counter()
    doc = build(page.name, page, html.read(page.name, page.read_bytes(), extractor=extractor))
    seconds = time.perf_counter() - started
    content = _flat("\n".join(doc.text[start:end] for start, end in doc.content))
    leaked = [s for s in truth["furniture"] if _flat(s) in content]
    lost = [s for s in truth["article"] if _flat(s) not in content]
    return {"leaked": len(leaked) / len(truth["furniture"]), "lost": len(lost) / len(truth["article"]),
            "seconds": seconds, "leaked_strings": leaked, "lost_sentences": lost, "title": doc.title,
            "date": doc.date or "undated", "title_right": doc.title == truth["title"],
            "date_right": doc.date == truth["date"], "held_out": truth.get("held_out", False)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", action="store_true", help="also print one line per page and extractor")
    args = parser.parse_args(argv)
    pages = sorted(PAGES.glob("*.html"))
    types = {page: json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))["type"] for page in pages}
    for page in pages:  # the first calls import trafilatura and htmldate and fill their caches
        measure(page, html.EXTRACTORS[0])
    rows: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for extractor in html.EXTRACTORS:
        for page in pages:
            result = measure(page, extractor)
            rows[(types[page], extractor)].append(result)
            rows[("all", extractor)].append(result)
            rows[("held-out" if result["held_out"] else "tuned-on", extractor)].append(result)
            if args.pages:
                print(f"{page.name:28} {extractor:12} furniture {result['leaked']:5.0%} lost {result['lost']:5.0%} "
                      f"{result['date']:10} {result['title'][:40]!r} {result['leaked_strings']} "
                      f"{result['lost_sentences']}")
    print(f"{len(pages)} pages; furniture let through / article sentences lost (mean share per page), ms per page")
    print("(the pages' shares are averaged; titles and dates right are counted)")
    print(f"{'type':10} {'pages':>5} " + " ".join(f"{name:>26}" for name in html.EXTRACTORS))
    for kind in [*sorted(set(types.values())), "tuned-on", "held-out", "all"]:
        if not rows[(kind, html.EXTRACTORS[0])]:
            continue  # no page held out: every page's figures are tuned-on
        cells = []
        for extractor in html.EXTRACTORS:
            found = rows[(kind, extractor)]
            leaked = statistics.mean(r["leaked"] for r in found)
            lost = statistics.mean(r["lost"] for r in found)
            ms = 1000 * statistics.mean(r["seconds"] for r in found)
            cells.append(f"{leaked:7.1%} / {lost:6.1%} {ms:5.0f} ms")
        print(f"{kind:10} {len(rows[(kind, html.EXTRACTORS[0])]):5} " + " ".join(f"{cell:>26}" for cell in cells))
    right = [f"{sum(r['title_right'] for r in rows[('all', e)])}/{sum(r['date_right'] for r in rows[('all', e)])}"
             for e in html.EXTRACTORS]
    print(f"{'titles/dates right':16} " + " ".join(f"{cell:>26}" for cell in right))
    return 0


if __name__ == "__main__":
    sys.exit(main())
