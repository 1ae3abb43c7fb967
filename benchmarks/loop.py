"""The loop from use, timed as an operator runs it: marks in, `improve`, load, switch under load.

On a workspace with an export in service (the sample's, by default made here from the bundled
model), this:

1. starts `edgembed serve EXPORT --corpus WS --feedback-db WORK/feedback.db`;
2. marks half of the real questions through `POST /v1/feedback` (each with the passage that
   answers it), as people in the playground would; the other half judges (`--questions`);
3. times `edgembed improve --feedback WORK/feedback.db --questions OTHER_HALF`;
4. if it promoted, times `edgembed versions load NAME-vN` into the running server, then
   `edgembed versions default N` while 16 threads send embedding requests without pause, and
   counts the requests that failed and the version each answer names before and after.

Prints one JSON object (also written to WORK/loop.json): every step's seconds, the total from
the marks to the switch, the verdict, and the requests sent, failed and answered per version.

On the sample, marks with true answers do not make a better model (docs/findings.md), and
improve rightly keeps the model in service. `--codenames` runs the same loop on the handbook of
tests/test_improve.py, where people ask about projects by codenames the documents never use:
the marks teach what the documents cannot, so a candidate is promoted and switched to.

    .venv/bin/python benchmarks/loop.py --work /tmp/loop
    .venv/bin/python benchmarks/loop.py --work /tmp/loop-codenames --codenames
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgembed.corpus import read_chunks  # noqa: E402
from edgembed.evaluation.questions import load_real_questions  # noqa: E402

EDGEMBED = [sys.executable, "-m", "edgembed"]
QUESTIONS = ROOT / "sample_docs" / "questions.jsonl"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(port: int, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if payload else {}
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else {}
    finally:
        connection.close()


def _wait(port: int, path: str, deadline_s: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < deadline_s:
        try:
            if _request(port, "GET", path)[0] == 200:
                return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{path} did not answer 200 within {deadline_s:.0f} s")


def _run(command: list[str], timeout_s: float) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, timeout=timeout_s)
    return time.perf_counter() - started


def prepare(work: Path, docs: Path, generate_args: list[str]) -> tuple[Path, Path]:
    """The workspace (pairs generated) and its export in service (the bundled model's)."""
    workspace = work / "ws"
    export = workspace / "exports" / "edgembed-model"
    if not (workspace / "pairs.train.jsonl").exists():
        command = [*EDGEMBED, "--workspace", str(workspace), "-q", "generate", str(docs)]
        _run([*command, *generate_args], 600)
    if not (export / "manifest.json").exists():
        command = [
            *EDGEMBED, "--workspace", str(workspace), "-q", "export",
            "bundled:all-MiniLM-L6-v2", "--name", "edgembed-model",
        ]  # fmt: skip
        _run(command, 1800)
    return workspace, export


def split_questions(
    work: Path, seed: int, mark_all: bool
) -> tuple[list[dict[str, Any]], Path | None]:
    """Half the questions to mark, and a file of the other half to judge on (every question
    to mark and none to judge on with `mark_all`: improve judges on its held-out marks)."""
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    random.Random(seed).shuffle(rows)
    if mark_all:
        return rows, None
    half = len(rows) // 2
    judge = work / "judge.jsonl"
    judge.write_text("".join(json.dumps(row) + "\n" for row in rows[half:]))
    return rows[:half], judge


def codename_marks(work: Path) -> tuple[Path, list[tuple[str, str]]]:
    """tests/test_improve.py's handbook (written to WORK/docs) and its marks in the order people
    give them: (question, document); the last third are held out by improve."""
    from tests.test_improve import ASKED, PROJECTS, _docs, _file

    docs = work / "docs"
    if not docs.exists():
        _docs(docs)
    marks = [
        (asked.format(name), _file(title))
        for questions in (ASKED[:4], ASKED[4:])
        for name, (title, _text) in PROJECTS.items()
        for asked in questions
    ]
    return docs, marks


def post_codename_marks(port: int, workspace: Path, marks: list[tuple[str, str]]) -> int:
    """Each question marked as answered by its project's page."""
    by_doc = {chunk.doc: chunk.id for chunk in read_chunks(workspace / "chunks.jsonl")}
    for question, doc in marks:
        body = {"query": question, "chunk_id": by_doc[doc], "relevant": True}
        status, answer = _request(port, "POST", "/v1/feedback", body)
        if status != 200:
            raise SystemExit(f"feedback answered {status}: {answer}")
    return len(marks)


def post_marks(port: int, workspace: Path, rows: list[dict[str, Any]]) -> int:
    """Each question marked as answered by its passages (at most two), as the playground does."""
    chunks = read_chunks(workspace / "chunks.jsonl")
    path = workspace.parent / "marks.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    posted = 0
    for row, question in zip(rows, load_real_questions(path, chunks), strict=True):
        if not 1 <= len(question.relevant) <= 2:
            continue
        for index in sorted(question.relevant):
            body = {"query": row["question"], "chunk_id": chunks[index].id, "relevant": True}
            status, answer = _request(port, "POST", "/v1/feedback", body)
            if status != 200:
                raise SystemExit(f"feedback answered {status}: {answer}")
            posted += 1
    return posted


class Load:
    """16 threads sending one-query embedding requests for the plain model name until stopped."""

    def __init__(self, port: int, model: str, threads: int = 16) -> None:
        self.port, self.model = port, model
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.answered: Counter[str] = Counter()
        self.failed: list[str] = []
        self.threads = [threading.Thread(target=self._send, args=(i,)) for i in range(threads)]

    def _send(self, index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body = json.dumps({"model": self.model, "input": f"how do I reset my password {index}"})
        while not self.stop.is_set():
            try:
                connection.request(
                    "POST", "/v1/embeddings", body, {"Content-Type": "application/json"}
                )
                response = connection.getresponse()
                response.read()
                with self.lock:
                    if response.status == 200:
                        self.answered[response.getheader("X-Edgembed-Model") or "?"] += 1
                    else:
                        self.failed.append(f"HTTP {response.status}")
            except (OSError, http.client.HTTPException) as error:
                with self.lock:
                    self.failed.append(repr(error))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.close()

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def switch_under_load(
    port: int, url: str, name: str, version: int, hold_s: float
) -> dict[str, Any]:
    """`versions default VERSION` while 16 threads send requests; what they got."""
    with Load(port, name) as load:
        time.sleep(hold_s)
        seconds = _run([*EDGEMBED, "versions", "--url", url, "default", str(version)], 120)
        time.sleep(hold_s)
    return {
        "switch_s": round(seconds, 2),
        "requests": sum(load.answered.values()) + len(load.failed),
        "failed": len(load.failed),
        "failures": load.failed[:5],
        "answered_by": dict(load.answered),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/edgembed-loop"))
    parser.add_argument("--docs", type=Path, default=ROOT / "sample_docs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hold-s", type=float, default=10.0, help="load before and after")
    parser.add_argument("--improve-args", default="", help="more options for improve")
    parser.add_argument(
        "--mark-all", action="store_true", help="mark every question; judge on held-out marks"
    )
    parser.add_argument("--codenames", action="store_true", help="tests/test_improve.py's corpus")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    feedback = args.work / "feedback.db"
    if feedback.exists():
        raise SystemExit(f"{feedback} exists: use a new --work")
    if args.codenames:
        docs, codenames = codename_marks(args.work)
        workspace, export = prepare(args.work, docs, ["--chunk-words", "60"])
        marked, judge = [], None
        # As tests/test_improve.py improves: a third held out, the marks weighed more.
        args.improve_args += " --holdout 0.33 --epochs 3 --mark-weight 8 --seed 1"
    else:
        workspace, export = prepare(args.work, args.docs, [])
        marked, judge = split_questions(args.work, args.seed, args.mark_all)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    serve = [
        *EDGEMBED, "--workspace", str(workspace), "serve", str(export), "--port", str(port),
        "--corpus", str(workspace), "--feedback-db", str(feedback),
    ]  # fmt: skip
    log = (args.work / "serve.log").open("wb")
    server = subprocess.Popen(serve, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    result: dict[str, Any] = {"marked_questions": len(marked), "judge_questions": str(judge)}
    judging = ["--questions", str(judge)] if judge is not None else []
    try:
        _wait(port, "/ready", 300)
        started = time.perf_counter()
        result["marks"] = (
            post_codename_marks(port, workspace, codenames)
            if args.codenames
            else post_marks(port, workspace, marked)
        )
        result["marks_s"] = round(time.perf_counter() - started, 2)
        improve = [
            *EDGEMBED, "--workspace", str(workspace), "improve", "--feedback", str(feedback),
            "--export", str(export), *judging, *args.improve_args.split(),
        ]  # fmt: skip
        result["improve_s"] = round(_run(improve, 3600), 1)
        promoted = sorted(p for p in export.parent.glob("edgembed-model-v*") if p.is_dir())
        result["promoted"] = [p.name for p in promoted]
        if promoted:
            version = int(promoted[-1].name.rsplit("-v", 1)[1])
            load = [*EDGEMBED, "versions", "--url", url, "load", promoted[-1].name]
            result["load_s"] = round(_run(load, 1800), 1)
            result["switch"] = switch_under_load(port, url, "edgembed-model", version, args.hold_s)
        result["total_s"] = round(time.perf_counter() - started, 1)
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    (args.work / "loop.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
