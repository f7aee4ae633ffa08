"""Start-up time and memory of the app: launch to a page that answers, where the time goes, and RSS.

1. End to end, `--repeats` times (default 5, median reported): launch `python app.py` on an
   existing index of the seed articles (built once beforehand, in a temp folder) and time
   (a) the URL answering HTTP 200 and (b) the first /ask_json answer (sent as soon as (a)
   holds, over Gradio's REST call API, no client library start-up in the figure); then the
   app's resident memory (VmRSS, and its peak VmHWM, from /proc/<pid>/status) next to the
   index folder's size on disk, and whether libtorch is mapped into it (it should not be with ONNX).
2. Where the time goes: a driver process does what app.py does, step by step with timers
   (import gradio + qa.web, model load (the configured encoder), QA open = index
   check + store load, warm-up question, build_app, launch, first 200, first answer).
   It runs in two variants, interleaved A B A B so the ratio is fair on a shared machine:
   "as app.py" (sequential), and "overlap" (gradio and qa.web imported in a thread while the
   main thread loads the model), the candidate start-up win.
   `python -X importtime` of the same imports shows which packages the import time is.
3. Optional (`--big N`, e.g. 100000): the same end-to-end figures at N passages. Embedding N
   passages with the real model would take far too long on this CPU, so a synthetic
   collection is written instead: source files made of xquad-en paragraphs (shuffled, each
   stamped with a unique number so every file differs), one passage per paragraph, random
   unit vectors as embeddings, real BM25 terms, written through `qa.stores.local.write_store` with a
   manifest that matches the files' hashes and the current settings, so the app opens it
   as an up-to-date index (nothing re-embedded). Answers on it are meaningless; the start-up
   time, store load time and memory are real.

Every figure is printed with the date, nproc and load average. All traffic goes to 127.0.0.1.

Run:  .venv/bin/python bench/bench_startup.py [--repeats 3] [--big 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import HOST, ROOT, build_big, free_port, revision, stamp, stop, wait_http_200

SEED_SOURCES = ROOT / "sources"
QUESTION = "how many troops stay in Kurdistan?"
START_TIMEOUT_S = 180.0
# Packages whose import time -X importtime reports (attributed to whichever imports them first).
PACKAGES = ("gradio", "fastapi", "pandas", "torch", "transformers", "sentence_transformers", "sklearn", "scipy",
            "faiss", "Stemmer", "nupunkt", "numpy", "qa")






def steps(runs: list[dict], med) -> list[tuple[str, float, float]]:
    """(step, its own median duration, median time since launch) for each start-up mark."""
    rows, previous = [], 0.0
    for key in runs[0]["marks"]:
        if key != "rss_mib":
            at = med(runs, key)
            rows.append((key, at - previous, at))
            previous = at
    return rows




def proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(line.split()[1]) / 1024
    return out


def tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def ask_json(http, base: str, question: str, timeout: float = 60.0) -> dict:
    """One /ask_json answer over Gradio's REST call API (POST, then the event's result stream)."""
    r = http.post(f"{base}gradio_api/call/ask_json", json={"data": [question, 5, None, None, None, None, True]}, timeout=timeout)
    r.raise_for_status()
    event = r.json()["event_id"]
    deadline = time.perf_counter() + timeout
    with http.stream("GET", f"{base}gradio_api/call/ask_json/{event}", timeout=timeout) as stream:
        kind = ""
        for line in stream.iter_lines():
            if time.perf_counter() > deadline:
                raise TimeoutError("no answer in time")
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:") and kind == "complete":
                return json.loads(line[5:])[0]
            elif line.startswith("data:") and kind == "error":
                raise RuntimeError(f"/ask_json error: {line}")
    raise RuntimeError("/ask_json: stream ended without an answer")






def launch_once(sources: Path, index: Path, workdir: Path, label: str) -> dict[str, float]:
    """Start app.py, time HTTP 200 and the first answer, read its memory, stop it."""
    import httpx

    port = free_port()
    url = f"http://{HOST}:{port}/"
    log = workdir / f"app-{label}.log"
    with log.open("wb") as fh, httpx.Client(trust_env=False) as http:
        launched = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port), "--sources", str(sources),
                                 "--index", str(index), "--host", HOST], cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT,
                                env=dict(os.environ, GRADIO_TEMP_DIR=str(workdir / "gradio-tmp")))
        try:
            http_s = wait_http_200(http, url, proc, launched, START_TIMEOUT_S, log)
            answer = ask_json(http, url, QUESTION)
            answer_s = time.perf_counter() - launched
            second = time.perf_counter()
            ask_json(http, url, QUESTION)
            second_s = time.perf_counter() - second
            mem = proc_status(proc.pid)
            torch_loaded = "libtorch" in Path(f"/proc/{proc.pid}/maps").read_text(errors="replace")
            text = log.read_text(errors="replace")
            ready = re.search(r"ready in ([\d.]+) s", text)
            return {"http": http_s, "answer": answer_s, "second_answer": second_s, "rss": mem["VmRSS"], "hwm": mem["VmHWM"],
                    "ready": float(ready.group(1)) if ready else float("nan"), "torch": torch_loaded,
                    "top": answer["passages"][0]["source"] if answer.get("passages") else ""}
        finally:
            stop(proc)


# ---------------------------------------------------------------- the stage driver (a subprocess)


def driver(sources: str, index: str, overlap: bool) -> None:
    """Do what app.py does, with a timer per step; prints one JSON line of seconds since launch."""
    marks: dict[str, float] = {}
    t0 = float(os.environ["BENCH_LAUNCHED_EPOCH"])

    def mark(name: str) -> None:
        marks[name] = time.time() - t0

    mark("interpreter up")
    background: dict[str, float] = {}

    def import_ui() -> None:
        a = time.time()
        import gradio  # noqa: F401

        background["import gradio"] = time.time() - a
        b = time.time()
        import qa.web  # noqa: F401

        background["import qa.web (rest of qa, faiss)"] = time.time() - b

    ui = threading.Thread(target=import_ui) if overlap else None
    if ui is not None:
        ui.start()
    else:
        import_ui()
        mark("imports: gradio + qa.web")
    from qa.embedding import Embedder

    a = time.time()
    embedder = Embedder().load()
    background[f"model load (encoder {embedder.variant})"] = time.time() - a
    mark("model loaded")
    if ui is not None:
        ui.join()
        mark("imports: gradio + qa.web (joined)")
    from qa.pipeline import QA
    from qa.stores.local import load_store
    from qa.web import build_app, launch_options, warm_up

    a = time.time()
    qa = QA(sources, index, embedder=embedder)
    background["QA open (index check + store load)"] = time.time() - a
    mark("QA open")
    warm_up(qa)
    mark("warm-up question")
    app = build_app(qa)
    mark("build_app")
    port = free_port()
    app.launch(**launch_options(host=HOST, port=port), prevent_thread_lock=True, quiet=True)
    mark("launch() returned")
    import httpx

    with httpx.Client(trust_env=False) as http:
        url = f"http://{HOST}:{port}/"
        while http.get(url, timeout=5).status_code != 200:
            time.sleep(0.05)
        mark("HTTP 200")
        ask_json(http, url, QUESTION)
        mark("first /ask_json answer")
    marks["rss_mib"] = proc_status(os.getpid())["VmRSS"]
    a = time.time()
    load_store(index)  # after the last mark: how much of "QA open" one store load is
    background["one load_store (timed alone, after the run)"] = time.time() - a
    print("DRIVER " + json.dumps({"marks": marks, "durations": background}), flush=True)
    app.close()


def run_driver(sources: Path, index: Path, overlap: bool, workdir: Path) -> dict:
    env = dict(os.environ, BENCH_LAUNCHED_EPOCH=repr(time.time()), GRADIO_TEMP_DIR=str(workdir / "gradio-tmp"))
    out = subprocess.run([sys.executable, __file__, "--driver", str(sources), str(index)] + (["--overlap"] if overlap else []),
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    line = next((text for text in out.stdout.splitlines() if text.startswith("DRIVER ")), None)
    if line is None:
        raise RuntimeError(f"driver failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return json.loads(line[7:])


def importtime_summary() -> list[tuple[str, float]]:
    """Cumulative import seconds of the main packages, in app.py's order (qa.web first, then the model's)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import qa.web; from qa.embedding import Embedder; Embedder().load()"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    cumulative: dict[str, float] = {}
    for line in out.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m and m.group(4) in PACKAGES and m.group(4) not in cumulative:
            cumulative[m.group(4)] = int(m.group(2)) / 1e6
    top = (re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\S+)", line) for line in out.stderr.splitlines())
    total = sum(int(m.group(2)) for m in top if m) / 1e6
    return [(name, cumulative[name]) for name in PACKAGES if name in cumulative] + [("(all top-level imports)", total)]


# ---------------------------------------------------------------- a big index's load time (a subprocess)


def load_probe(index: str) -> None:
    """In a fresh process: time load_store twice and report memory before and after."""
    import faiss  # noqa: F401  - imported before the first timing, as in the app

    from qa.stores.local import load_store

    before = proc_status(os.getpid())["VmRSS"]
    times = []
    for _ in range(2):
        t = time.perf_counter()
        store = load_store(index)
        times.append(time.perf_counter() - t)
    print("PROBE " + json.dumps({"load_s": times, "rss_before": before, "rss_after": proc_status(os.getpid())["VmRSS"],
                                 "passages": len(store)}), flush=True)


# ---------------------------------------------------------------- report


def end_to_end(label: str, sources: Path, index: Path, workdir: Path, repeats: int) -> list[dict[str, float]]:
    runs = []
    for r in range(repeats):
        print(f"  [{label} run {r + 1}] start at {stamp()}", flush=True)
        res = launch_once(sources, index, workdir, f"{label}-{r}")
        print(f"  [{label} run {r + 1}] HTTP 200 after {res['http']:.2f} s, first /ask_json answer after {res['answer']:.2f} s "
              f"(app's own 'ready in' {res['ready']:.1f} s; a second answer {res['second_answer'] * 1000:.0f} ms); "
              f"RSS {res['rss']:.0f} MiB (peak {res['hwm']:.0f} MiB); torch loaded: {res['torch']}; "
              f"top source {res['top']}", flush=True)
        runs.append(res)
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--stage-pairs", type=int, default=2, help="interleaved sequential/overlap driver pairs")
    parser.add_argument("--big", type=int, default=0, help="also measure a synthetic index of this many passages")
    parser.add_argument("--big-repeats", type=int, default=2)
    parser.add_argument("--driver", nargs=2, metavar=("SOURCES", "INDEX"), help=argparse.SUPPRESS)
    parser.add_argument("--overlap", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--probe", metavar="INDEX", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.driver:
        driver(*args.driver, overlap=args.overlap)
        return 0
    if args.probe:
        load_probe(args.probe)
        return 0

    t_all = time.perf_counter()
    print("# bench_startup: app.py start-up time and memory")
    from qa.config import Settings

    print(f"conditions at start: {stamp()}; Python {platform.python_version()}; {platform.machine()}; {revision()}; "
          f"encoder {Settings().encoder}")
    workdir = Path(tempfile.mkdtemp(prefix="qa-bench-startup-"))
    try:
        sources, index = workdir / "sources", workdir / "index"
        shutil.copytree(SEED_SOURCES, sources)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "qa.cli", "index", "--sources", str(sources), "--index", str(index)],
                       cwd=ROOT, check=True, capture_output=True, timeout=300)
        print(f"seed index built beforehand with `qa index` in {time.perf_counter() - t:.1f} s "
              f"({tree_bytes(index) / 1024:.0f} KiB on disk)")

        print(f"\n## 1. End to end, seed corpus ({args.repeats} runs)")
        seed_runs = end_to_end("seed", sources, index, workdir, args.repeats)

        print(f"\n## 2. Where the time goes ({args.stage_pairs} interleaved pairs: sequential as app.py / overlapped imports)")
        pairs = []
        for p in range(args.stage_pairs):
            for overlap in (False, True):
                res = run_driver(sources, index, overlap, workdir)
                pairs.append((overlap, res))
                print(f"  [{'overlap   ' if overlap else 'sequential'} {p + 1}] {stamp()}: " + ", ".join(
                    f"{k} {v:.2f}" for k, v in res["marks"].items() if k != "rss_mib"), flush=True)
        seq = [r for o, r in pairs if not o]
        ovl = [r for o, r in pairs if o]

        def med(rs: list[dict], key: str, part: str = "marks") -> float:
            vals = [r[part][key] for r in rs if key in r[part]]
            return statistics.median(vals) if vals else float("nan")

        print("\n  Sequential (as app.py), median seconds: each step's own duration, and time since launch")
        print("  | step | duration | since launch |")
        print("  |---|---|---|")
        step_rows = steps(seq, med)
        for key, duration, at in step_rows:
            print(f"  | {key} | {duration:.2f} | {at:.2f} |")
        print("  measured inside the steps (median s): "
              + ", ".join(f"{k} {med(seq, k, 'durations'):.3f}" for k in seq[0]["durations"]))
        s_http, o_http = med(seq, "HTTP 200"), med(ovl, "HTTP 200")
        s_ans, o_ans = med(seq, "first /ask_json answer"), med(ovl, "first /ask_json answer")
        print(f"  overlapped imports (gradio + qa.web in a thread while the model loads): "
              f"HTTP 200 {o_http:.2f} s vs {s_http:.2f} s sequential (ratio {o_http / s_http:.2f}); "
              f"first answer {o_ans:.2f} vs {s_ans:.2f} s (ratio {o_ans / s_ans:.2f})")
        print("  overlap durations inside the thread/main (median s): " + ", ".join(
            f"{k} {med(ovl, k, 'durations'):.2f}" for k in ovl[0]["durations"]))

        print(f"\n  python -X importtime (qa.web then the model, as app.py), at {stamp()}:")
        print("  " + ", ".join(f"{name} {secs:.2f} s" for name, secs in importtime_summary()))

        big_runs, big_info, pair_seed = [], {}, []
        if args.big:
            print(f"\n## 3. Synthetic collection of {args.big:,} passages")
            big_sources, big_index = workdir / "big-sources", workdir / "big-index"
            built = build_big(args.big, big_sources, big_index)
            big_info = {"index_bytes": tree_bytes(big_index), "sources_bytes": tree_bytes(big_sources), **built}
            print(f"  built at {stamp()}: {built['files']:,} files ({big_info['sources_bytes'] / 2**20:.0f} MiB), "
                  f"documents+terms {built['documents+terms']:.1f} s, write_store {built['write_store']:.1f} s; "
                  f"index {big_info['index_bytes'] / 2**20:.0f} MiB on disk")
            probe = subprocess.run([sys.executable, __file__, "--probe", str(big_index)], cwd=ROOT, capture_output=True,
                                   text=True, timeout=300)
            line = next((text for text in probe.stdout.splitlines() if text.startswith("PROBE ")), None)
            if line:
                pr = json.loads(line[6:])
                big_info["load_s"] = min(pr["load_s"])
                print(f"  load_store alone (fresh process, {pr['passages']:,} passages): {pr['load_s'][0]:.2f} s, then "
                      f"{pr['load_s'][1]:.2f} s; RSS {pr['rss_before']:.0f} -> {pr['rss_after']:.0f} MiB (two stores loaded, "
                      f"the first one garbage by then)")
            else:
                print(f"  load_store probe failed: {probe.stderr[-2000:]}")
            # Interleaved with the seed corpus, so the difference is measured under the same load.
            pair_seed = []
            for r in range(args.big_repeats):
                pair_seed += end_to_end(f"seed (pair {r + 1})", sources, index, workdir, 1)
                big_runs += end_to_end(f"big (pair {r + 1})", big_sources, big_index, workdir, 1)
            diffs = [b["answer"] - a["answer"] for a, b in zip(pair_seed, big_runs)]
            print(f"  first answer, {args.big:,} passages minus seed, same pair: "
                  f"{', '.join(f'{d:+.2f}' for d in diffs)} s (median {statistics.median(diffs):+.2f} s); RSS "
                  f"{statistics.median(b['rss'] for b in big_runs):.0f} vs "
                  f"{statistics.median(a['rss'] for a in pair_seed):.0f} MiB")
            res = run_driver(big_sources, big_index, False, workdir)
            big_info["driver"] = res
            print(f"  [driver, sequential] {stamp()}: " + ", ".join(
                f"{k} {v:.2f}" for k, v in res["marks"].items() if k != "rss_mib") + f"; RSS {res['marks']['rss_mib']:.0f} MiB")
            print("  measured inside the steps (s): " + ", ".join(f"{k} {v:.2f}" for k, v in res["durations"].items()))

        print(f"\n## Summary ({stamp()})\n")
        index_kib = tree_bytes(index) / 1024
        print("| collection | index on disk | HTTP 200 (median) | first answer (median) | runs | RSS after first answer |")
        print("|---|---|---|---|---|---|")

        def row(label: str, runs: list[dict], size: str) -> None:
            https = [r["http"] for r in runs]
            answers = [r["answer"] for r in runs]
            rss = statistics.median(r["rss"] for r in runs)
            print(f"| {label} | {size} | {statistics.median(https):.1f} s | {statistics.median(answers):.1f} s | "
                  f"{', '.join(f'{a:.1f}' for a in answers)} s | {rss:.0f} MiB |")

        seed_manifest = json.loads(next(index.glob("gen-*/manifest.json")).read_text())
        row(f"seed ({len(seed_manifest['sources'])} articles, {seed_manifest['passages']} passages)", seed_runs,
            f"{index_kib:.0f} KiB")
        if big_runs:
            row("seed, runs interleaved with the next row", pair_seed, f"{index_kib:.0f} KiB")
            row(f"synthetic {args.big:,} passages ({big_info['files']:,} files)", big_runs,
                f"{big_info['index_bytes'] / 2**20:.0f} MiB")
        print()
        print("| start-up step (seed corpus, sequential as app.py) | median seconds |")
        print("|---|---|")
        for key, duration, _ in step_rows:
            print(f"| {key} | {duration:.2f} |")
        if big_runs:
            marks = big_info["driver"]["marks"]
            print()
            print(f"| start-up step (synthetic {args.big:,} passages, one run) | seconds |")
            print("|---|---|")
            previous = 0.0
            for key, at in marks.items():
                if key == "rss_mib":
                    continue
                print(f"| {key} | {at - previous:.2f} |")
                previous = at
        print(f"\nwhole script: {time.perf_counter() - t_all:.0f} s; conditions at the end: {stamp()}")
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
