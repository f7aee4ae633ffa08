"""Load test of the running app: many clients asking at once, with an upload mid-run.

It starts the real app (`python app.py --port <free> --sources <temp copy of sources/>
--index <empty temp dir>`) as a subprocess, waits until it serves, and then:

1. reference: one client asks each question once on the idle app (its `/ask_json` answer is
   the reference; the top passage must also contain the question's key phrase or name the
   expected source, so a reference that is itself wrong is caught);
2. single client: one client asks `--solo` questions in a row (the baseline, measured in the
   same run, next to the load phase);
3. load: `--clients` threads, each with its own `gradio_client.Client`, ask `--questions`
   questions each (cycling through the questions, each thread at its own offset); when half
   the requests have finished, a new article with a unique fact is uploaded through the app;
4. after: the new file must be in the sources folder and a question about it must return it
   as the top source; a second idle reference pass is taken on the grown collection.

The upload handler (`add_files`, the "Add articles" box) is registered with
api_visibility="private", which gradio_client refuses to call, so the upload goes the way
the browser sends it: POST /gradio_api/upload, then POST /gradio_api/queue/join with that
event's fn_index and trigger id, then the result from the /gradio_api/queue/data stream.

Checks: no request fails (error, timeout or never sent for lack of time); every answer's top
passage equals the reference (source, start, end) and text, and its text equals the source
file at [start:end] (a concurrency bug that mixed stores or answers would show here).
Answers that finished before the upload started must equal the first reference, those that
started after it finished the second one (adding a document changes BM25 statistics, so a
ranking may legitimately move); answers that overlap the upload may equal either.

Every loop is bounded in count and time: the whole run stops by `--budget` seconds (default
270). All traffic goes to 127.0.0.1. It ends with a Markdown table for the README.

Run:  .venv/bin/python bench/bench_load.py [--clients 20] [--questions 50]
"""

from __future__ import annotations

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import os
import platform  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
from common import free_port, revision  # noqa: E402 - sets the offline environment and no proxy for 127.0.0.1
from gradio_client import Client  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED_SOURCES = ROOT / "sources"
HOST = "127.0.0.1"
IRAQ = "us-military-presence-in-iraq-post-withdrawal.txt"
WITHDRAW = "us-to-withdraw-most-troops-from-iraq.txt"

# (question, key phrase expected in the top passage, or a source expected as top or in its also_in)
QUESTIONS: list[tuple[str, str, str]] = [
    ("Will US troops stay in Kurdistan after the withdrawal?", "Kurdistan", IRAQ),
    ("How many US troops are in Iraq?", "2,500", IRAQ),
    ("How many US troops are in Syria?", "900", IRAQ),
    ("Who is Iraq's defense minister?", "Thabit al-Abbasi", WITHDRAW),
    ("What did Hussein Alawi say about the withdrawal?", "Alawi", IRAQ),
    ("When was the Global Coalition formed?", "2014", IRAQ),
    ("When will Coalition troops leave Iraq?", "September 2025", IRAQ),
    ("Why was the announcement of the withdrawal delayed?", "Gaza", IRAQ),
    ("What happens to Operation Inherent Resolve?", "Inherent Resolve", WITHDRAW),
    ("Which countries are part of the Global Coalition?", "France", IRAQ),
]
UPLOAD_NAME = "tromso-purple-crossings.txt"
UPLOAD_TEXT = (
    "Tromsø paints its zebra crossings purple\n\n"
    "The city of Tromsø painted 17 purple zebra crossings in March 2025, so that drivers see them "
    "during the polar night. The council said the purple paint costs twice as much as white paint.\n"
)
UPLOAD_QUESTION = "How many purple zebra crossings did Tromsø paint?"
UPLOAD_PHRASE = "17 purple zebra crossings"

START_TIMEOUT_S = 150.0  # app start (model load + first index build of the copy)
REQUEST_TIMEOUT_S = 60.0


def conditions() -> str:
    load = Path("/proc/loadavg").read_text().split()[:3]
    import gradio_client

    return (f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC}; nproc={os.cpu_count()}; "
            f"load average {' '.join(load)}; Python {platform.python_version()}; gradio_client {gradio_client.__version__}; "
            f"{platform.processor() or platform.machine()}; {revision()}")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and its waited-for children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))]


@dataclass
class Result:
    client: int
    n: int
    question: int
    sent: float
    done: float
    answer: dict | None = None
    error: str = ""

    @property
    def latency(self) -> float:
        return self.done - self.sent


class App:
    """The app as a subprocess on a free port, over temp copies; stopped (by its own pid) on exit."""

    def __init__(self, workdir: Path) -> None:
        self.sources = workdir / "sources"
        self.index = workdir / "index"
        shutil.copytree(SEED_SOURCES, self.sources)
        self.index.mkdir()
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}/"
        self.log_path = workdir / "app.log"
        env = dict(os.environ, GRADIO_TEMP_DIR=str(workdir / "gradio-tmp"))
        self._log = self.log_path.open("wb")
        self.launched = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--port", str(self.port), "--sources", str(self.sources),
             "--index", str(self.index), "--host", HOST],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_until_serving(self, timeout: float) -> float:
        deadline = time.perf_counter() + timeout
        with httpx.Client(timeout=2.0, trust_env=False) as http:
            while time.perf_counter() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"app exited with {self.proc.returncode}:\n{self.log()}")
                try:
                    if http.get(self.url).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            else:
                raise RuntimeError(f"app not serving after {timeout:.0f} s:\n{self.log()}")
        # The page serves before the first build ends: wait until the status line says it is done.
        client = Client(self.url, verbose=False)
        while time.perf_counter() < deadline:
            if client.predict(api_name="/status").endswith("up to date"):
                return time.perf_counter() - self.launched
            time.sleep(0.5)
        raise RuntimeError(f"index not built after {timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._log.close()


def top_key(answer: dict) -> tuple[str, int, int, str] | None:
    if not answer.get("passages"):
        return None
    p = answer["passages"][0]
    return p["source"], int(p["start"]), int(p["end"]), p["text"]


def ask(client: Client, question: str) -> dict:
    return client.submit(question, 5, api_name="/ask_json").result(timeout=REQUEST_TIMEOUT_S)


def reference_pass(client: Client, label: str) -> dict[int, tuple]:
    """Each question once, on the idle app; checks the key phrase / expected source."""
    refs = {}
    for i, (question, phrase, source) in enumerate(QUESTIONS):
        answer = ask(client, question)
        key = top_key(answer)
        if key is None:
            raise AssertionError(f"{label}: no passage for {question!r}")
        p = answer["passages"][0]
        ok = phrase in p["text"] or source == p["source"] or source in p["also_in"]
        if not ok:
            raise AssertionError(f"{label}: top passage for {question!r} has neither {phrase!r} nor {source}: {p}")
        refs[i] = key
    return refs


def upload_like_browser(url: str, name: str, data: bytes, timeout: float) -> tuple[str, float, float]:
    """Send a file to the "Add articles" box's upload event exactly as the page does; returns
    (status HTML, start, end) in perf_counter time."""
    start = time.perf_counter()
    deadline = start + timeout
    with httpx.Client(base_url=url, timeout=timeout, trust_env=False) as http:
        config = http.get("/config").json()
        prefix = config.get("api_prefix", "/gradio_api")
        dep = next(d for d in config["dependencies"] if d.get("api_name") == "add_files")
        trigger = dep["targets"][0][0]
        r = http.post(f"{prefix}/upload", files=[("files", (name, data, "text/plain"))])
        r.raise_for_status()
        path = r.json()[0]
        session = uuid.uuid4().hex[:12]
        file_data = {"path": path, "orig_name": name, "size": len(data), "mime_type": "text/plain",
                     "meta": {"_type": "gradio.FileData"}}
        r = http.post(f"{prefix}/queue/join", json={"data": [[file_data]], "event_data": None, "fn_index": dep["id"],
                                                     "trigger_id": trigger, "session_hash": session})
        r.raise_for_status()
        with http.stream("GET", f"{prefix}/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if time.perf_counter() > deadline:
                    raise TimeoutError("upload: no result in time")
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    if not message.get("success", True) or "output" not in message or "error" in message["output"]:
                        raise RuntimeError(f"upload failed: {message}")
                    return message["output"]["data"][0], start, time.perf_counter()
    raise RuntimeError("upload: the event stream ended without a result")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=50, help="questions per client")
    parser.add_argument("--solo", type=int, default=50, help="questions of the single-client baseline")
    parser.add_argument("--budget", type=float, default=270.0, help="seconds for the whole run (hard stop)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    hard_stop = t0 + args.budget
    print("# bench_load: concurrent /ask_json clients + an upload mid-run")
    print(f"conditions at start: {conditions()}")
    workdir = Path(tempfile.mkdtemp(prefix="qa-bench-load-"))
    app = App(workdir)
    clients: list[Client] = []
    problems: list[str] = []
    try:
        serving = app.wait_until_serving(min(START_TIMEOUT_S, hard_stop - time.perf_counter()))
        ready = [line for line in app.log().splitlines() if "ready in" in line]
        print(f"app pid {app.proc.pid} serving {app.url} after {serving:.1f} s (index built fresh from a copy of "
              f"{len(list(app.sources.iterdir()))} seed files); app says: {ready[0] if ready else '?'}")

        ref_client = Client(app.url, verbose=False, download_files=False)
        clients.append(ref_client)
        ref_before = reference_pass(ref_client, "reference before")
        print(f"reference (idle, 1 client): {len(ref_before)} questions, every top passage has its key phrase/source")

        # Single-client baseline, side by side with the load phase.
        solo_lat = []
        solo_cpu0 = cpu_seconds(app.proc.pid)
        solo_t0 = time.perf_counter()
        for n in range(args.solo):
            if time.perf_counter() > hard_stop - 120:
                problems.append(f"single-client baseline cut at {n} questions (time budget)")
                break
            qi = n % len(QUESTIONS)
            sent = time.perf_counter()
            answer = ask(ref_client, QUESTIONS[qi][0])
            solo_lat.append(time.perf_counter() - sent)
            if top_key(answer) != ref_before[qi]:
                problems.append(f"single client: {QUESTIONS[qi][0]!r} top passage {top_key(answer)[:3]} != reference")
        solo_wall = time.perf_counter() - solo_t0
        solo_cpu = cpu_seconds(app.proc.pid) - solo_cpu0
        print(f"single client: {len(solo_lat)} questions in {solo_wall:.2f} s = {len(solo_lat) / solo_wall:.1f} q/s; "
              f"p50 {pct(solo_lat, 50) * 1000:.0f} ms, p95 {pct(solo_lat, 95) * 1000:.0f} ms; "
              f"app CPU {solo_cpu / max(1, len(solo_lat)) * 1000:.0f} ms/question")

        # The load phase.
        for _ in range(args.clients):
            clients.append(Client(app.url, verbose=False, download_files=False))
        total = args.clients * args.questions
        results: list[Result] = []
        results_lock = threading.Lock()
        half = threading.Event()
        go = threading.Barrier(args.clients + 1)
        load_deadline = min(hard_stop - 45, time.perf_counter() + 200)
        upload: dict[str, Any] = {}

        def worker(c: int) -> None:
            client = clients[1 + c]
            go.wait(timeout=30)
            for n in range(args.questions):
                if time.perf_counter() > load_deadline:
                    return
                qi = (c + n) % len(QUESTIONS)
                sent = time.perf_counter()
                r = Result(c, n, qi, sent, sent)
                try:
                    r.answer = ask(client, QUESTIONS[qi][0])
                except Exception as exc:  # noqa: BLE001 - every failure is counted, whatever it is
                    r.error = f"{type(exc).__name__}: {exc}"[:300]
                r.done = time.perf_counter()
                with results_lock:
                    results.append(r)
                    if len(results) == total // 2:
                        half.set()

        def uploader() -> None:
            if not half.wait(timeout=max(1.0, load_deadline - time.perf_counter())):
                upload["error"] = "half the requests never finished: no upload"
                return
            upload["cpu_before"] = cpu_seconds(app.proc.pid)
            try:
                status, start, end = upload_like_browser(app.url, UPLOAD_NAME, UPLOAD_TEXT.encode(), REQUEST_TIMEOUT_S)
                upload.update(status=status, start=start, end=end)
            except Exception as exc:  # noqa: BLE001
                upload["error"] = f"{type(exc).__name__}: {exc}"[:500]

        threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in range(args.clients)]
        threads.append(threading.Thread(target=uploader, daemon=True))
        for t in threads:
            t.start()
        print(f"load: {args.clients} clients x {args.questions} questions, load average before {loadavg()}")
        load_cpu0, bench_cpu0 = cpu_seconds(app.proc.pid), time.process_time()
        go.wait(timeout=30)
        load_t0 = time.perf_counter()
        for t in threads:
            t.join(timeout=max(0.0, load_deadline + REQUEST_TIMEOUT_S / 2 - time.perf_counter()))
        load_wall = max((r.done for r in results), default=load_t0) - load_t0
        load_cpu = cpu_seconds(app.proc.pid) - load_cpu0
        bench_cpu = time.process_time() - bench_cpu0
        load_end_avg = loadavg()
        rss_after = rss_mib(app.proc.pid)
        alive = [t for t in threads if t.is_alive()]

        # Check every answer.
        ok = [r for r in results if not r.error]
        errors = [r for r in results if r.error]
        not_sent = total - len(results)
        ref_client_after = ref_client
        ref_after = reference_pass(ref_client_after, "reference after")
        file_texts = {p.name: p.read_text(encoding="utf-8") for p in app.sources.iterdir() if p.suffix == ".txt"}
        up_start, up_end = upload.get("start", float("inf")), upload.get("end", float("inf"))
        wrong = []
        moved = [i for i in ref_before if ref_before[i] != ref_after[i]]
        for r in ok:
            key = top_key(r.answer)
            if r.done < up_start:
                allowed = [ref_before[r.question]]
            elif r.sent > up_end:
                allowed = [ref_after[r.question]]
            else:
                allowed = [ref_before[r.question], ref_after[r.question]]
            good = key in allowed
            if good:  # the passage text must be the file's text at the offsets, for every passage
                for p in r.answer["passages"]:
                    text = file_texts.get(p["source"])
                    if text is not None and text[p["start"]:p["end"]] != p["text"]:
                        good = False
            if not good:
                wrong.append(r)

        # The upload must not be lost.
        up_path = app.sources / UPLOAD_NAME
        saved = up_path.is_file() and up_path.read_text(encoding="utf-8") == UPLOAD_TEXT
        up_answer = ask(ref_client, UPLOAD_QUESTION)
        up_top = up_answer["passages"][0] if up_answer.get("passages") else {}
        found = up_top.get("source") == UPLOAD_NAME and UPLOAD_PHRASE in up_top.get("text", "")
        overlapping = [r for r in ok if r.sent < up_end and r.done > up_start]

        lat = [r.latency for r in ok]
        throughput = len(ok) / load_wall if load_wall > 0 else float("nan")
        solo_qps = len(solo_lat) / solo_wall if solo_wall > 0 else float("nan")
        print(f"load done: {len(results)}/{total} requests finished in {load_wall:.2f} s; "
              f"load average after {load_end_avg}")
        print(f"  ok {len(ok)}, errors {len(errors)}, never sent (time budget) {not_sent}, wrong answers {len(wrong)}, "
              f"threads still running {len(alive)}")
        print(f"  throughput {throughput:.1f} q/s ({throughput / solo_qps:.2f}x the single client's "
              f"{solo_qps:.1f} q/s, same run)")
        print(f"  latency p50 {pct(lat, 50) * 1000:.0f} ms, p95 {pct(lat, 95) * 1000:.0f} ms, "
              f"max {max(lat, default=float('nan')) * 1000:.0f} ms "
              f"(single client p50 {pct(solo_lat, 50) * 1000:.0f} ms)")
        print(f"  app CPU {load_cpu:.1f} s = {load_cpu / max(1, len(ok)) * 1000:.0f} ms/question (incl. the upload); "
              f"bench process ({args.clients} clients) CPU {bench_cpu:.1f} s; app RSS after {rss_after:.0f} MiB")
        if "error" in upload:
            print(f"  upload: FAILED: {upload['error']}")
        else:
            status = upload["status"].replace("\n", " ")
            print(f"  upload of {UPLOAD_NAME} at request {total // 2}: {upload['end'] - upload['start']:.2f} s "
                  f"(started {upload['start'] - load_t0:.1f} s into the load), {len(overlapping)} answers overlapped it; "
                  f"status: {status[:160]}")
        print(f"  after the run: file in sources folder with its bytes: {saved}; {UPLOAD_QUESTION!r} -> top "
              f"{up_top.get('source')} (score {up_top.get('score')}), phrase found: {found}")
        if moved:
            print(f"  top passage changed after the upload (new BM25 statistics) for: {[QUESTIONS[i][0] for i in moved]}")
        for r in errors[:5]:
            print(f"  error: client {r.client} #{r.n} {QUESTIONS[r.question][0]!r}: {r.error}")
        for r in wrong[:5]:
            print(f"  wrong: client {r.client} #{r.n} {QUESTIONS[r.question][0]!r}: "
                  f"{top_key(r.answer)[:3] if top_key(r.answer) else None}")
        problems += [f"{len(errors)} failed requests"] * bool(errors) + [f"{not_sent} requests never sent"] * bool(not_sent)
        problems += [f"{len(wrong)} wrong answers"] * bool(wrong) + ["upload failed"] * ("error" in upload)
        problems += ["uploaded file missing from sources"] * (not saved) + ["uploaded fact not found"] * (not found)
        problems += ["app died"] * (app.proc.poll() is not None)
        runtime = time.perf_counter() - t0

        print()
        print(f"Load test, {dt.date.today().isoformat()}, {os.cpu_count()} cores shared with other jobs "
              f"(load average {load_end_avg} at the end), app and clients on the same machine:")
        print()
        print("| clients × questions | finished | failed | wrong | throughput | p50 | p95 | max | upload mid-run "
              "| total runtime |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        upload_cell = (
            ("lost" if not (saved and found) else f"kept, found ({upload['end'] - upload['start']:.1f} s)")
            if "error" not in upload
            else "FAILED"
        )
        print(f"| 1 × {len(solo_lat)} (baseline) | {len(solo_lat)} | 0 | 0 | {solo_qps:.1f} q/s | "
              f"{pct(solo_lat, 50) * 1000:.0f} ms | "
              f"{pct(solo_lat, 95) * 1000:.0f} ms | {max(solo_lat) * 1000:.0f} ms | – | {solo_wall:.1f} s |")
        print(f"| {args.clients} × {args.questions} | {len(results)}/{total} | {len(errors) + not_sent} | {len(wrong)} | "
              f"{throughput:.1f} q/s | {pct(lat, 50) * 1000:.0f} ms | {pct(lat, 95) * 1000:.0f} ms | "
              f"{max(lat, default=float('nan')) * 1000:.0f} ms | {upload_cell} | {load_wall:.1f} s |")
        print()
        print(f"whole script: {runtime:.1f} s; verdict: {'PASS' if not problems else 'FAIL: ' + '; '.join(problems)}")
        return 0 if not problems else 1
    finally:
        for client in clients:
            try:
                client.close()
            except Exception:  # noqa: BLE001
                pass
        app.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
