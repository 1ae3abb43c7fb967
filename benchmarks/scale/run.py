"""Run every edgembed stage on a large corpus as a user would, and measure time and memory.

    .venv/bin/python benchmarks/scale/run.py                        # the whole corpus, all stages
    .venv/bin/python benchmarks/scale/run.py --limit 300            # a 300-document slice first
    .venv/bin/python benchmarks/scale/run.py --stages chunk,generate
    .venv/bin/python benchmarks/scale/run.py --workspace WS --reuse --stages serve
    .venv/bin/python benchmarks/scale/run.py --passages WS_OR_CHUNKS --passages-count 100000 \\
        --export WS/exports/edgembed-model

Each stage is its own `edgembed` process in one workspace (`chunk DOCS`, `generate DOCS`,
`train --max-minutes 10`, `evaluate --allow-worse`, `export`, then `serve EXPORT --corpus WS`
on a free loopback port), and for each it records:

- wall time and exit status (a stage past its timeout is killed with its process group);
- peak RSS: the kernel's own figure for the largest process of the stage's tree (wait4's
  ru_maxrss, what `/usr/bin/time -v` prints as "Maximum resident set size"), and the largest
  sum over the whole tree seen by sampling every 0.2 s (psutil), which counts helpers too;
- what the stage wrote (chunks, pairs, the training plan, the verdict, the export's files).

`serve` is measured from start to `/health`, then to the first `/v1/search` that does not
answer 503 (the corpus is embedded), with the server's RSS at both moments; then a search load:
`--queries` queries at each `--concurrency` (1 and 16), each thread on its own keep-alive
connection, with p50/p90/p99 round trips and the server's own ranking time. Queries are the
workspace's held-out eval questions (`pairs.eval.jsonl`), or else the first words of sampled
passages.

`--passages` is the search test alone: a chunks.jsonl (or a workspace holding one) is cut to
`--passages-count` passages spread evenly over it (never repeated: a smaller file is an error;
build the `search` profile, see README.md), written beside it as passages-N.jsonl, served with
`--export`, and loaded as above. The server caches the passages' vectors in index/ beside that
file, so a second run starts from the cache.

Writes results.json, results.md and each stage's log into `--results` (created). Every wait
has a timeout (`--timeout STAGE=SECONDS`), so a run always ends.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

from edgembed.bench.stats import percentile
from edgembed.runtime.cpu import cpu_model_name

STAGES = ("chunk", "generate", "train", "evaluate", "export", "serve")
DOCUMENT_SUFFIXES = {".txt", ".text", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"}
# Generous ceilings, not budgets: a stage past its timeout is a finding, and the run goes on.
DEFAULT_TIMEOUTS_S = {
    "chunk": 1800.0,
    "generate": 3600.0,
    "train": 4 * 3600.0,  # at 5,000 documents its evaluations alone take hours (README.md)
    "evaluate": 4 * 3600.0,
    "export": 4 * 3600.0,
    "serve": 4 * 3600.0,  # until the corpus is embedded
}
SAMPLE_EVERY_S = 0.2
MB = 1024 * 1024


@dataclass
class StageResult:
    """One stage's measurements.

    Attributes:
        stage: the stage's name.
        command: the command line it ran.
        exit_code: the process's exit status (negative: killed by that signal), None if it
            did not run.
        seconds: wall time from start to exit.
        peak_rss_mb: the kernel's peak RSS of the largest process in the stage's tree (MiB).
        tree_peak_rss_mb: the largest sum of RSS over the process tree seen by sampling (MiB).
        timed_out: it ran past its timeout and was killed.
        log: the file holding its stdout and stderr.
        load_before: the 1-minute load average when it started (the box is shared).
        facts: what it wrote (counts, plan, verdict), read from its outputs.
    """

    stage: str
    command: list[str]
    exit_code: int | None = None
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    tree_peak_rss_mb: float = 0.0
    timed_out: bool = False
    log: str = ""
    load_before: float = 0.0
    facts: dict[str, Any] = field(default_factory=dict)


class TreeSampler:
    """Samples the summed RSS of a process and all its descendants on a background thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_bytes = 0
        self.last_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def sample(self) -> int:
        """The tree's RSS now, in bytes (0 once the process is gone); updates the peak."""
        try:
            root = psutil.Process(self.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue
        self.last_bytes = total
        self.peak_bytes = max(self.peak_bytes, total)
        return total

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.sample()


class Stage:
    """A running stage: a process in its own session, reaped with wait4 for its rusage."""

    def __init__(self, command: list[str], log: Path, env: dict[str, str]) -> None:
        self.command = command
        self.log_path = log
        self._log = log.open("wb")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        self.sampler = TreeSampler(self.process.pid).__enter__()
        self.exit_code: int | None = None
        self.max_rss_kb = 0
        self.ended: float | None = None

    def poll(self) -> int | None:
        """The exit code once the process has ended (reaped here, with its rusage), else None."""
        if self.exit_code is not None:
            return self.exit_code
        pid, status, usage = os.wait4(self.process.pid, os.WNOHANG)
        if pid == 0:
            return None
        self.ended = time.monotonic()
        self.exit_code = os.waitstatus_to_exitcode(status)
        self.process.returncode = self.exit_code  # reaped here, so Popen must not wait again
        self.max_rss_kb = usage.ru_maxrss  # Linux: KiB, the largest process of the tree
        self.sampler.__exit__()
        self._log.close()
        return self.exit_code

    def wait(self, timeout_s: float) -> bool:
        """Wait for the process to end; kill its process group at the timeout.

        Returns:
            True when it ended by itself, False when it was killed at the timeout.
        """
        deadline = self.started + timeout_s
        while self.poll() is None:
            if time.monotonic() >= deadline:
                self.stop(grace_s=10)
                return False
            time.sleep(0.1)
        return True

    def stop(self, grace_s: float) -> None:
        """SIGTERM the process group, then SIGKILL it after `grace_s`; reap it."""
        for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
            if self.poll() is not None:
                return
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass
            end = time.monotonic() + wait_s
            while self.poll() is None and time.monotonic() < end:
                time.sleep(0.1)

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - self.started


def _mb(value_bytes: float) -> float:
    return round(value_bytes / MB, 1)


def _scalars_of(path: Path, section: str) -> dict[str, Any]:
    """The numbers, strings and booleans of one top-level object of a JSON file ({} if none)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8")).get(section)
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, (int, float, str, bool))}


def _scalars(path: Path, keys: Sequence[str] | None = None) -> dict[str, Any]:
    """Top-level numbers, strings and booleans of a JSON file ({} when it is missing)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    wanted = keys if keys is not None else list(data)
    return {
        key: data[key]
        for key in wanted
        if key in data and isinstance(data[key], (int, float, str, bool))
    }


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def _newest(folder: Path) -> Path | None:
    dirs = [p for p in folder.glob("*") if p.is_dir()] if folder.is_dir() else []
    return max(dirs, key=lambda p: p.stat().st_mtime) if dirs else None


def stage_facts(stage: str, workspace: Path) -> dict[str, Any]:
    """What a stage left in the workspace, in a few numbers."""
    if stage == "chunk":
        chunks = workspace / "chunks.jsonl"
        docs: set[str] = set()
        words = 0
        if chunks.exists():
            with chunks.open(encoding="utf-8") as handle:
                for line in handle:
                    row = json.loads(line)
                    docs.add(row["doc"])
                    words += int(row.get("words", 0))
        return {
            "chunks": _count_lines(chunks),
            "documents_chunked": len(docs),
            "chunk_words": words,
            "chunks_mb": _mb(chunks.stat().st_size) if chunks.exists() else 0,
        }
    if stage == "generate":
        return {
            **_scalars(
                workspace / "reports" / "generate.json",
                [
                    "documents",
                    "chunks",
                    "chunks_done",
                    "train_pairs",
                    "eval_pairs",
                    "train_chunks",
                    "eval_chunks",
                    "seconds_per_chunk",
                    "seconds",
                ],
            ),
            "journal_mb": _mb(
                sum(p.stat().st_size for p in (workspace / "generate").glob("*") if p.is_file())
            )
            if (workspace / "generate").is_dir()
            else 0,
        }
    if stage == "train":
        model = _newest(workspace / "models")
        if model is None:
            return {}
        training = model / "edgembed_training.json"
        facts: dict[str, Any] = {"model": str(model)}
        try:
            data = json.loads(training.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return facts
        budget = data.get("time_budget")
        if isinstance(budget, dict):
            facts.update(
                {
                    f"plan_{k.removeprefix('budget_')}": v
                    for k, v in budget.items()
                    if isinstance(v, (int, float, str, bool))
                }
            )
        facts.update({k: v for k, v in data.items() if isinstance(v, (int, float, str, bool))})
        return facts
    if stage == "evaluate":
        return _scalars(workspace / "reports" / "evaluate.json")
    if stage == "export":
        export = _newest(workspace / "exports")
        if export is None:
            return {}
        return {
            "export": str(export),
            **{
                f"{p.name}_mb": _mb(p.stat().st_size)
                for p in sorted(export.iterdir())
                if p.is_file()
            },
        }
    return {}


def run_stage(
    stage: str,
    command: list[str],
    results: Path,
    workspace: Path,
    timeout_s: float,
    env: dict[str, str],
) -> StageResult:
    """Run one batch stage to its end (or its timeout) and measure it."""
    result = StageResult(
        stage, command, log=str(results / "logs" / f"{stage}.log"), load_before=os.getloadavg()[0]
    )
    print(f"[{stage}] {shlex.join(command)}", flush=True)
    running = Stage(command, Path(result.log), env)
    result.timed_out = not running.wait(timeout_s)
    result.exit_code = running.exit_code
    result.seconds = round(running.seconds, 2)
    result.peak_rss_mb = round(running.max_rss_kb / 1024, 1)
    result.tree_peak_rss_mb = _mb(running.sampler.peak_bytes)
    result.facts = stage_facts(stage, workspace)
    status = "timed out" if result.timed_out else f"exit {result.exit_code}"
    print(
        f"[{stage}] {status} in {result.seconds:.1f} s, peak RSS {result.peak_rss_mb} MiB "
        f"(tree {result.tree_peak_rss_mb} MiB) {result.facts}",
        flush=True,
    )
    return result


# ---------------------------------------------------------------------------- serving


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _request(
    connection: http.client.HTTPConnection, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    raw = response.read()
    try:
        return response.status, json.loads(raw) if raw else None
    except ValueError:
        return response.status, raw.decode(errors="replace")


def _probe(port: int, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One request on a fresh connection; (0, error) when the server does not answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        return _request(connection, method, path, body)
    except (OSError, http.client.HTTPException) as exc:
        return 0, str(exc)
    finally:
        connection.close()


def _until(
    check: Callable[[], bool], running: Stage, deadline: float, every_s: float = 0.5
) -> bool:
    """Poll `check` until it holds (True), the server exits or the deadline passes (False)."""
    while time.monotonic() < deadline:
        if running.poll() is not None:
            return False
        if check():
            return True
        time.sleep(every_s)
    return False


def search_load(
    port: int,
    queries: Sequence[str],
    concurrency: int,
    count: int,
    top_k: int,
    timeout_s: float,
) -> dict[str, Any]:
    """Send `count` searches over `concurrency` keep-alive connections; latency figures.

    Every thread takes the next query from one shared sequence (cycling through `queries`),
    so each concurrency sees the same queries in the same order.
    """
    lock = threading.Lock()
    sequence: Iterator[int] = iter(range(count))
    took_ms: list[float] = []
    server_ms: list[float] = []
    errors: dict[str, int] = {}
    deadline = time.monotonic() + timeout_s

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while time.monotonic() < deadline:
                with lock:
                    index = next(sequence, None)
                if index is None:
                    return
                body = {"query": queries[index % len(queries)], "top_k": top_k}
                started = time.perf_counter()
                try:
                    status, answer = _request(connection, "POST", "/v1/search", body)
                except (OSError, http.client.HTTPException) as exc:
                    status, answer = 0, str(exc)
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if status == 200 and answer["results"][0]["hits"]:
                        took_ms.append(elapsed)
                        server_ms.append(float(answer["results"][0]["took_ms"]))
                    else:
                        key = str(status)
                        errors[key] = errors.get(key, 0) + 1
        finally:
            connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    wall = time.perf_counter() - started
    row: dict[str, Any] = {
        "concurrency": concurrency,
        "queries": len(took_ms),
        "errors": errors,
        "seconds": round(wall, 2),
    }
    if took_ms:
        row.update(
            {
                "p50_ms": round(percentile(took_ms, 50), 2),
                "p90_ms": round(percentile(took_ms, 90), 2),
                "p99_ms": round(percentile(took_ms, 99), 2),
                "max_ms": round(max(took_ms), 2),
                "mean_ms": round(statistics.fmean(took_ms), 2),
                "per_second": round(len(took_ms) / wall, 1),
                "server_rank_p50_ms": round(percentile(server_ms, 50), 2),
            }
        )
    return row


def serve_and_load(
    command: list[str],
    results: Path,
    passages: int,
    dimension: int | None,
    queries: Sequence[str],
    args: argparse.Namespace,
    port: int,
    env: dict[str, str],
) -> tuple[StageResult, dict[str, Any]]:
    """Start the server, wait for it and for the corpus's index, load it, stop it."""
    result = StageResult(
        "serve", command, log=str(results / "logs" / "serve.log"), load_before=os.getloadavg()[0]
    )
    print(f"[serve] {shlex.join(command)}", flush=True)
    running = Stage(command, Path(result.log), env)
    serving: dict[str, Any] = {"passages": passages, "dimension": dimension, "port": port}
    if dimension:
        serving["vectors_mb"] = _mb(passages * dimension * 4)
    deadline = running.started + args.timeouts["serve"]
    try:
        if not _until(
            lambda: _probe(port, "GET", "/health")[0] == 200,
            running,
            min(deadline, time.monotonic() + 600),
        ):
            serving["failure"] = "never answered /health"
            return result, serving
        serving["health_s"] = round(time.monotonic() - running.started, 2)
        serving["rss_at_health_mb"] = _mb(running.sampler.sample())
        probe = {"query": "warm up", "top_k": 1}
        indexed = _until(
            lambda: _probe(port, "POST", "/v1/search", probe)[0] != 503,
            running,
            deadline,
            every_s=1.0,
        )
        status, answer = _probe(port, "POST", "/v1/search", probe)
        if not indexed or status != 200:
            serving["failure"] = f"/v1/search never answered 200 (last: {status} {answer})"[:500]
            return result, serving
        serving["indexed_s"] = round(time.monotonic() - running.started, 2)
        serving["rss_indexed_mb"] = _mb(running.sampler.sample())
        indexing_s = serving["indexed_s"] - serving["health_s"]
        serving["passages_per_second"] = round(passages / max(indexing_s, 1e-3), 1)
        serving["peak_rss_until_indexed_mb"] = _mb(running.sampler.peak_bytes)
        for _ in range(5):  # warm-up, not measured
            _probe(port, "POST", "/v1/search", {"query": queries[0], "top_k": args.top_k})
        serving["load"] = [
            search_load(port, queries, concurrency, args.queries, args.top_k, args.load_timeout_s)
            for concurrency in args.concurrency
        ]
        serving["rss_after_load_mb"] = _mb(running.sampler.sample())
        for row in serving["load"]:
            print(f"[serve] concurrency {row['concurrency']}: {row}", flush=True)
        return result, serving
    finally:
        running.stop(grace_s=30)
        result.exit_code = running.exit_code
        result.seconds = round(running.seconds, 2)
        result.peak_rss_mb = round(running.max_rss_kb / 1024, 1)
        result.tree_peak_rss_mb = _mb(running.sampler.peak_bytes)
        print(
            f"[serve] {serving.get('failure', 'done')}: indexed after "
            f"{serving.get('indexed_s')} s, RSS indexed {serving.get('rss_indexed_mb')} MiB, "
            f"peak {result.tree_peak_rss_mb} MiB",
            flush=True,
        )


def read_queries(workspace: Path | None, chunks: Path, count: int) -> list[str]:
    """Search queries: the eval questions of the workspace, else the first words of passages
    spread evenly over `chunks` (the same ones on every run)."""
    if workspace is not None and (workspace / "pairs.eval.jsonl").exists():
        with (workspace / "pairs.eval.jsonl").open(encoding="utf-8") as handle:
            queries = [json.loads(line)["query"] for line in handle]
        if queries:
            return queries[:count]
    rows = read_jsonl_spread(chunks, count)
    queries = []
    for row in rows:
        lines = row["text"].split("\n")
        body = " ".join(lines[1:] if len(lines) > 1 else lines).split()
        if body:
            queries.append(" ".join(body[:12]))
    return queries or ["how do I configure it"]


def read_jsonl_spread(path: Path, count: int) -> list[dict[str, Any]]:
    """`count` rows of a JSONL file spread evenly over it (all rows when it has fewer)."""
    total = _count_lines(path)
    if total == 0:
        return []
    wanted = {(i * total) // count for i in range(count)} if count < total else set(range(total))
    rows = []
    with path.open(encoding="utf-8") as handle:
        for index, line in enumerate(handle):
            if index in wanted:
                rows.append(json.loads(line))
    return rows


def cut_passages(source: Path, count: int, out: Path) -> int:
    """Write `count` passages of `source` (a chunks.jsonl or a workspace), spread evenly and
    never repeated, to `out`; returns how many.

    Raises:
        SystemExit: `source` holds fewer than `count` passages.
    """
    chunks = source / "chunks.jsonl" if source.is_dir() else source
    total = _count_lines(chunks)
    if total < count:
        raise SystemExit(
            f"{chunks} holds {total:,} passages, fewer than --passages-count {count:,}. Chunk a "
            "larger corpus (build_corpus.py --profile search) rather than repeating passages."
        )
    wanted = {(i * total) // count for i in range(count)}
    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with chunks.open(encoding="utf-8") as handle, out.open("w", encoding="utf-8") as target:
        for index, line in enumerate(handle):
            if index in wanted:
                target.write(line)
                written += 1
    return written


# ---------------------------------------------------------------------------- documents


def slice_documents(docs: Path, limit: int, out: Path) -> int:
    """Copy `limit` documents spread evenly over the sorted corpus into `out` (replaced).

    The same corpus and limit always give the same slice, with every package and format in
    proportion. Returns how many documents were copied.
    """
    files = sorted(
        p
        for p in docs.rglob("*")
        if p.is_file()
        and p.suffix.lower() in DOCUMENT_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(docs).parts)
    )
    picked = [files[(i * len(files)) // limit] for i in range(min(limit, len(files)))]
    shutil.rmtree(out, ignore_errors=True)
    for path in picked:
        target = out / path.relative_to(docs)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return len(picked)


# ---------------------------------------------------------------------------- report


def _git(*args: str) -> str:
    """A git command's output in the current folder, or "" when git cannot answer."""
    try:
        done = subprocess.run(
            ["git", *args], capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def machine() -> dict[str, Any]:
    """The box the figures were taken on (shared: the load average says how busy it was)."""
    cpu = cpu_model_name()
    commit = _git("rev-parse", "--short", "HEAD")
    package_commit = _git("log", "-1", "--format=%h", "--", "edgembed")
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_mb": _mb(psutil.virtual_memory().total),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "commit": commit,
        "edgembed_commit": package_commit,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def markdown(report: dict[str, Any], memory_target_mb: float) -> str:
    """The report as Markdown tables: stages, then serving and the search load."""
    lines = [
        f"# edgembed at scale: {report['label']}",
        "",
        f"{report['machine']['date']}, {report['machine']['cpus']} cores "
        f"({report['machine']['cpu']}), {report['machine']['memory_mb']:.0f} MiB, "
        f"checkout {report['machine']['commit']} (edgembed/ last changed in "
        f"{report['machine'].get('edgembed_commit', '?')}); corpus {report.get('docs')}"
        + (f" ({report['documents']} documents)." if report.get("documents") else "."),
        "",
        f"| stage | exit | wall | peak RSS, largest process | peak RSS, tree | "
        f"under {memory_target_mb:.0f} MiB | load at start | what it made |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report["stages"]:
        peak = max(row["peak_rss_mb"], row["tree_peak_rss_mb"])
        exit_text = "timed out" if row["timed_out"] else str(row["exit_code"])
        if row["stage"] == "serve" and row["exit_code"] in (0, -signal.SIGTERM):
            exit_text = "stopped"  # run.py ends it with SIGTERM, which uvicorn re-raises
        made = ", ".join(f"{k} {v}" for k, v in _headline(row["stage"], row["facts"]).items())
        lines.append(
            f"| {row['stage']} | {exit_text} | {_duration(row['seconds'])} | "
            f"{row['peak_rss_mb']:.0f} MiB | {row['tree_peak_rss_mb']:.0f} MiB | "
            f"{'yes' if peak <= memory_target_mb else 'NO'} | {row['load_before']:.1f} | {made} |"
        )
    serving = report.get("serving")
    if serving:
        lines += [
            "",
            "| passages | dims | vectors | /health after | indexed after | passages/s indexed "
            "| RSS at /health | RSS indexed | RSS after load |",
            "|---|---|---|---|---|---|---|---|---|",
            f"| {serving.get('passages')} | {serving.get('dimension')} | "
            f"{serving.get('vectors_mb', '?')} MiB | {serving.get('health_s', '?')} s | "
            f"{serving.get('indexed_s', '?')} s | {serving.get('passages_per_second', '?')} | "
            f"{serving.get('rss_at_health_mb', '?')} MiB | "
            f"{serving.get('rss_indexed_mb', '?')} MiB | {serving.get('rss_after_load_mb', '?')} "
            "MiB |",
        ]
        if serving.get("failure"):
            lines += ["", f"Serving failed: {serving['failure']}"]
        if serving.get("load"):
            lines += [
                "",
                "| concurrency | queries | p50 | p90 | p99 | max | per second | "
                "server ranking p50 | errors |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
            for row in serving["load"]:
                lines.append(
                    f"| {row['concurrency']} | {row['queries']} | {row.get('p50_ms')} ms | "
                    f"{row.get('p90_ms')} ms | {row.get('p99_ms')} ms | {row.get('max_ms')} ms "
                    f"| {row.get('per_second')} | {row.get('server_rank_p50_ms')} ms | "
                    f"{row['errors'] or 'none'} |"
                )
    return "\n".join(lines) + "\n"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}" if minutes else f"{rest:.1f} s"


def _headline(stage: str, facts: dict[str, Any]) -> dict[str, Any]:
    keys = {
        "chunk": ["documents_chunked", "chunks", "chunk_words"],
        "generate": ["chunks", "train_pairs", "eval_pairs"],
        "train": ["plan_pairs", "plan_kept", "plan_eval_seconds", "train_seconds"],
        "evaluate": ["chunks", "verdict"],
        "export": ["model.int8.onnx_mb"],
    }.get(stage, [])
    return {key: facts[key] for key in keys if key in facts}


# ---------------------------------------------------------------------------- main


def _stage_command(
    stage: str,
    edgembed: list[str],
    workspace: Path,
    docs: Path | None,
    args: argparse.Namespace,
) -> list[str]:
    base = [*edgembed, "--workspace", str(workspace)]
    extra = shlex.split(args.extra.get(stage, ""))
    if stage in ("chunk", "generate"):
        if docs is None:
            raise SystemExit(f"{stage} needs documents: pass DOCS")
        return [*base, stage, str(docs), *extra]
    if stage == "train":
        return [*base, "train", "--max-minutes", str(args.max_minutes), *extra]
    if stage == "evaluate":
        return [*base, "evaluate", "--allow-worse", *extra]
    return [*base, stage, *extra]


def _key_values(text: str, what: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or key not in STAGES:
        raise argparse.ArgumentTypeError(f"{what} takes STAGE=VALUE with a stage of {STAGES}")
    return key, value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line, with --stages, --concurrency, --timeout and --extra parsed."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "docs",
        nargs="?",
        type=Path,
        default=Path("/tmp/edgembed-scale/docs"),
        help="the corpus (build_corpus.py's output; default /tmp/edgembed-scale/docs)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=0,
        help="run on this many documents spread evenly over the corpus "
        "(copied into --slice-dir); 0: all of them",
    )
    parser.add_argument(
        "--slice-dir",
        type=Path,
        default=None,
        help="where --limit's documents go (default /tmp/edgembed-scale/slice-LIMIT, replaced)",
    )
    parser.add_argument(
        "--workspace",
        type=Path,
        default=None,
        help="edgembed's workspace (default: a new folder in --results)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="let --workspace exist and keep what is in it, e.g. to run only "
        "`--stages serve` on an earlier run's export",
    )
    parser.add_argument(
        "--stages",
        default=",".join(STAGES),
        help=f"comma-separated stages to run, in this order: {','.join(STAGES)}",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="folder for results.json, results.md and logs/ (created; default "
        "/tmp/edgembed-scale/results/UTC-TIMESTAMP)",
    )
    parser.add_argument(
        "--edgembed",
        default=None,
        help="the edgembed command (default: edgembed next to this Python, "
        "i.e. .venv/bin/edgembed when run with .venv/bin/python)",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=10.0,
        help="train's time budget, as a user leaves it (default 10)",
    )
    parser.add_argument(
        "--extra",
        type=lambda t: _key_values(t, "--extra"),
        action="append",
        default=[],
        metavar="STAGE=ARGS",
        help="more arguments for one stage, e.g. --extra 'export=--force' (repeatable)",
    )
    parser.add_argument(
        "--timeout",
        type=lambda t: _key_values(t, "--timeout"),
        action="append",
        default=[],
        metavar="STAGE=SECONDS",
        help="a stage's timeout; serve's is until its corpus is indexed "
        f"(defaults: {DEFAULT_TIMEOUTS_S})",
    )
    parser.add_argument(
        "--export",
        type=Path,
        default=None,
        help="the export to serve (default: the newest in the workspace)",
    )
    parser.add_argument(
        "--passages",
        type=Path,
        default=None,
        help="search test only: serve --passages-count passages of this "
        "chunks.jsonl (or workspace) and load /v1/search",
    )
    parser.add_argument(
        "--passages-count",
        type=int,
        default=100_000,
        help="passages for --passages (default 100000)",
    )
    parser.add_argument(
        "--queries", type=int, default=200, help="searches sent at each concurrency (default 200)"
    )
    parser.add_argument(
        "--concurrency",
        default="1,16",
        help="comma-separated concurrencies of the search load (default 1,16)",
    )
    parser.add_argument("--top-k", type=int, default=5, help="top_k of each search (default 5)")
    parser.add_argument(
        "--load-timeout-s",
        type=float,
        default=600.0,
        help="the longest one concurrency's load may take (default 600)",
    )
    parser.add_argument(
        "--memory-target-mb",
        type=float,
        default=4096.0,
        help="the memory target the table checks each stage against (default 4096)",
    )
    args = parser.parse_args(argv)
    args.stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = sorted(set(args.stages) - set(STAGES))
    if unknown:
        parser.error(f"unknown stages {unknown}; choose from {', '.join(STAGES)}")
    args.stages = [s for s in STAGES if s in args.stages]
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    args.timeouts = {**DEFAULT_TIMEOUTS_S, **{k: float(v) for k, v in args.timeout}}
    args.extra = dict(args.extra)
    if args.passages is not None:
        args.stages = ["serve"]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the requested stages, write the report; 0 when every stage exited 0."""
    args = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results = (args.results or Path("/tmp/edgembed-scale/results") / stamp).resolve()
    (results / "logs").mkdir(parents=True, exist_ok=True)
    workspace = (args.workspace or results / "workspace").resolve()
    if workspace.exists() and any(workspace.iterdir()) and not args.reuse:
        raise SystemExit(
            f"{workspace} is not empty: pass --reuse to keep using it, or another --workspace"
        )
    workspace.mkdir(parents=True, exist_ok=True)
    edgembed = (
        shlex.split(args.edgembed)
        if args.edgembed
        else [str(Path(sys.executable).with_name("edgembed"))]
    )
    env = dict(os.environ)
    report: dict[str, Any] = {
        "machine": machine(),
        "workspace": str(workspace),
        "results": str(results),
        "stages": [],
    }
    docs: Path | None = None
    if args.passages is None:
        docs = args.docs.resolve()
        if not docs.is_dir():
            raise SystemExit(f"{docs} is not a folder: build it with build_corpus.py")
        if args.limit:
            slice_dir = args.slice_dir or Path(f"/tmp/edgembed-scale/slice-{args.limit}")
            report["documents"] = slice_documents(docs, args.limit, slice_dir.resolve())
            docs = slice_dir.resolve()
        else:
            report["documents"] = sum(
                1
                for p in docs.rglob("*")
                if p.is_file()
                and p.suffix.lower() in DOCUMENT_SUFFIXES
                and not p.name.startswith(".")
            )
        report["docs"] = str(docs)
        report["label"] = f"{report['documents']} documents"
    print(f"results in {results}; workspace {workspace}", flush=True)

    for stage in args.stages:
        if stage == "serve":
            continue
        result = run_stage(
            stage,
            _stage_command(stage, edgembed, workspace, docs, args),
            results,
            workspace,
            args.timeouts[stage],
            env,
        )
        report["stages"].append(asdict(result))
        _write(report, results, args.memory_target_mb)

    if "serve" in args.stages:
        corpus: Path = workspace
        if args.passages is not None:
            # Beside the source, not in --results: a second run then finds the vectors the
            # first one cached in the server's index/ folder next to it.
            source = args.passages.resolve()
            corpus = (source if source.is_dir() else source.parent) / (
                f"passages-{args.passages_count}.jsonl"
            )
            passages = cut_passages(args.passages.resolve(), args.passages_count, corpus)
            report["label"] = f"search at {passages:,} passages"
            report["docs"] = str(args.passages)
        else:
            passages = _count_lines(workspace / "chunks.jsonl")
        export = args.export or _newest(workspace / "exports")
        if export is None:
            raise SystemExit("no export to serve: run the export stage or pass --export")
        manifest = export / "manifest.json"  # the dimension is under "model" (format 2)
        dimension = _scalars(manifest).get("dimension") or _scalars_of(manifest, "model").get(
            "dimension"
        )
        port = free_port()
        command = [
            *edgembed,
            "--workspace",
            str(workspace),
            "serve",
            str(export),
            "--corpus",
            str(corpus),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *shlex.split(args.extra.get("serve", "")),
        ]
        queries = read_queries(
            workspace if args.passages is None else None,
            corpus if corpus.is_file() else workspace / "chunks.jsonl",
            max(args.queries, 1),
        )
        result, serving = serve_and_load(
            command, results, passages, dimension, queries, args, port, env
        )
        report["stages"].append(asdict(result))
        report["serving"] = serving
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    _write(report, results, args.memory_target_mb)
    print(markdown(report, args.memory_target_mb))
    print(f"wrote {results / 'results.json'} and {results / 'results.md'}")
    failed = [
        row["stage"]
        for row in report["stages"]
        if row["exit_code"] not in (0, None) and row["stage"] != "serve"
    ]
    failed += ["serve"] if report.get("serving", {}).get("failure") else []
    return 1 if failed else 0


def _write(report: dict[str, Any], results: Path, memory_target_mb: float) -> None:
    (results / "results.json").write_text(json.dumps(report, indent=1) + "\n")
    (results / "results.md").write_text(markdown(report, memory_target_mb))


if __name__ == "__main__":
    sys.exit(main())
