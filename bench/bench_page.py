"""The page with 10,000 articles: first render of the collection list, search, next page.

1. Writes `--articles` (default 10,000) small synthetic articles into WORKDIR/sources, one
   passage each: a title of 3-7 words taken from eval/articles plus the article's number, a
   date, and one or two sentences of eval/articles (seeded: a rerun writes the same files).
   Builds the index with `qa index` (minutes on 2 cores); a rerun finds the files and the
   index in WORKDIR and only checks that nothing changed.
2. Starts `python app.py` on them and waits for its status line to say "up to date".
3. In Debian's headless Chromium (Playwright), `--repeats` times, each in a fresh browser
   context: the first render (from navigation to the list showing "Showing 1–50 of 10,000"),
   filtering the list by a search string (from typing it to the list showing its matches,
   for the word most titles share and for one article's number), moving to the next page (click to
   "Showing 51–100"), opening the article filter (it offers 200 articles at a time) and finding
   one article for it by its number (from typing into the filter's find box to the article offered).
4. The app's CPU use over 10 s with no page open (Gradio's own idle cost) and with that page
   sitting idle (its status timer's cost on top).

Each figure is printed with the load average (1 minute) when it was taken. All traffic stays on 127.0.0.1.

Run:  .venv/bin/python bench/bench_page.py [--workdir /tmp/qa-bench-page] [--articles 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
from common import free_port, stamp, stop, wait_http_200  # noqa: E402
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "eval" / "articles"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def load() -> float:
    return os.getloadavg()[0]


def corpus() -> tuple[list[str], list[str]]:
    """Short sentences (8-40 words) and title words (4+ letters) from eval/articles."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(ARTICLES.iterdir()) if p.is_file())
    sentences = sorted({s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if 8 <= len(s.split()) <= 40})
    words = sorted({w.lower() for w in re.findall(r"\b[A-Za-z][a-z]{3,}\b", text)})
    return sentences, words


def articles(count: int, seed: int = 0) -> Iterator[tuple[str, str, str]]:
    """(file name, title, text) of each synthetic article, one passage long; the same for the same seed."""
    sentences, words = corpus()
    rng = random.Random(seed)
    for i in range(count):
        title = " ".join(rng.choice(words).capitalize() for _ in range(rng.randint(3, 7))) + f" {i:05d}"
        day = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(2000))
        body = " ".join(rng.sample(sentences, rng.randint(1, 2)))
        yield f"article-{i:05d}.txt", title, f"{title}\n\n{day:%B %-d, %Y}\n\n{body}\n"


def write_articles(folder: Path, count: int) -> bool:
    """The articles in `folder` (nothing written if they are there already); True if written."""
    if len(list(folder.glob("article-*.txt"))) == count:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    for name, _, text in articles(count):
        (folder / name).write_text(text, encoding="utf-8")
    return True


def common_word(count: int) -> str:
    """The word most titles share: a search with many matches."""
    return Counter(w for _, title, _ in articles(count) for w in title.split()[:-1]).most_common(1)[0][0]


def has_text(selector: str, text: str) -> str:
    """A page function: true once the element's visible text holds `text`."""
    return f"() => (document.querySelector({json.dumps(selector)})?.innerText || '').includes({json.dumps(text)})"


def timed(page: Page, action: Callable[[], object], done: str, timeout_s: float = 300) -> tuple[float, float]:
    """Seconds from `action` until the page function `done` holds (checked every frame), and the load then."""
    started = time.perf_counter()
    action()
    page.wait_for_function(done, timeout=timeout_s * 1000, polling="raf")
    return time.perf_counter() - started, load()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_share(pid: int, seconds: float = 10) -> str:
    """The process's CPU use over the next `seconds`, as a share of one core, with the load average."""
    before, cpu = time.perf_counter(), cpu_seconds(pid)
    time.sleep(seconds)
    return f"{(cpu_seconds(pid) - cpu) / (time.perf_counter() - before) * 100:.1f}% of a core (load {load():.2f})"


def measure(page: Page, url: str, count: int) -> dict[str, tuple[float, float]]:
    """One round of the page timings (seconds, load average) in a fresh page."""
    total = f"of {count:,}"
    search = "#qa-search input"
    offered = "[...document.querySelectorAll('[role=option]')].map(o => o.innerText)"
    number = f"{count // 2:05d}"
    out = {
        "first render": timed(
            page, lambda: page.goto(url, wait_until="commit"), has_text("#qa-collection", f"Showing 1–50 {total}")
        )
    }
    for term in (common_word(count), number):
        out[f"search {term!r}"] = timed(
            page, lambda t=term: page.fill(search, t), has_text("#qa-collection", f"“{term}”; showing")
        )
    page.fill(search, "")
    page.wait_for_function(has_text("#qa-collection", f"Showing 1–50 {total}"))
    out["next page"] = timed(page, lambda: page.click("#qa-next"), has_text("#qa-collection", f"Showing 51–100 {total}"))
    page.get_by_text("Filters").click()
    out["open the article filter"] = timed(page, lambda: page.click("#qa-filter-sources input"), f"() => {offered}.length > 0")
    page.keyboard.press("Escape")

    def find() -> None:
        page.fill("#qa-filter-find input", number)
        page.click("#qa-filter-sources input")

    out[f"find {number!r} for it"] = timed(page, find, f"() => {offered}.length === 1 && {offered}[0].includes('{number}')")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/qa-bench-page"))
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sources, index = args.workdir / "sources", args.workdir / "index"
    print(f"# bench_page: {args.articles:,} articles in {args.workdir}; {stamp()}", flush=True)

    started = time.perf_counter()
    wrote = write_articles(sources, args.articles)
    print(f"sources: {'written' if wrote else 'already there'} in {time.perf_counter() - started:.1f} s (load {load():.2f})")
    started = time.perf_counter()
    built = subprocess.run([sys.executable, "-m", "qa.cli", "index", "--sources", str(sources), "--index", str(index)],
                           cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True)
    summary = next(line for line in built.stdout.splitlines() if line and not line.startswith(" "))  # not "  added: ..."
    print(f"index: {summary}; {time.perf_counter() - started:.1f} s (load {load():.2f})", flush=True)

    port, log = free_port(), args.workdir / "app.log"
    url = f"http://127.0.0.1:{port}/"
    with log.open("w") as out:
        launched = time.perf_counter()
        app = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--sources", str(sources), "--index", str(index),
                                "--port", str(port)], cwd=args.workdir, stdout=out, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    rounds: list[dict[str, tuple[float, float]]] = []
    try:
        with httpx.Client(trust_env=False) as http:
            print(f"app: HTTP 200 after {wait_http_200(http, url, app, launched, 300, log):.1f} s (load {load():.2f})")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function(has_text("#qa-status", "up to date"), timeout=600_000)
            print(f"app: status up to date after {time.perf_counter() - launched:.1f} s: "
                  f"{page.inner_text('#qa-status').strip()}", flush=True)
            page.close()
            print(f"app CPU with no page open: {cpu_share(app.pid)}", flush=True)
            for n in range(1, args.repeats + 1):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                rounds.append(measure(page, url, args.articles))
                shown = page.inner_text("#qa-collection").split("\n", 1)[0]
                for name, (seconds, at) in rounds[-1].items():
                    print(f"round {n}: {name:<28} {seconds:6.2f} s   load {at:.2f}", flush=True)
                if n < args.repeats:
                    context.close()
            print(f"app CPU with one idle page open: {cpu_share(app.pid)}; list header: {shown}")
            browser.close()
    finally:
        stop(app)

    print(f"\n| {args.articles:,} articles | median s | each round s (load average) |\n|---|--:|---|")
    for name in rounds[0]:
        runs = [r[name] for r in rounds]
        each = ", ".join(f"{s:.2f} ({at:.1f})" for s, at in runs)
        print(f"| {name} | {statistics.median(s for s, _ in runs):.2f} | {each} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
