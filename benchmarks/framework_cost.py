"""What does the web framework cost a single query, in process?

The server's ASGI app (`create_app`: Litestar, the request checks, the metrics, the batcher and
its model thread) is called directly, with no socket, around a model that costs next to nothing
(tests/server/fake.py, 384 dimensions): one 12-word query a request, one request at a time.
Beside it, the same request's essential work without the framework: decode the body, embed
through the same batcher, build and encode OpenAI's answer. The difference is what Litestar
and edgembed's own checks add to each request, to set beside a request's round trip over HTTP
(`benchmarks/peers/servers.py`).

    .venv/bin/python benchmarks/framework_cost.py [--rounds 5] [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgembed.config import ServeSettings  # noqa: E402
from edgembed.server.app import create_app  # noqa: E402
from edgembed.server.responses import openai_response  # noqa: E402
from tests.server.fake import FakeEmbedder  # noqa: E402

QUERY = "how do I configure the proxy for outgoing mail on this machine please"
BODY = json.dumps({"model": "fake-model", "input": QUERY}).encode()


def _scope() -> dict[str, Any]:
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
    ]
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/embeddings", "raw_path": b"/v1/embeddings",
        "root_path": "", "query_string": b"", "headers": headers, "state": {},
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip


async def _measure(rounds: int, requests: int) -> dict[str, list[float]]:
    app = create_app(ServeSettings(), FakeEmbedder(dimension=384, max_seq_length=64))
    life_in: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    life_out: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await life_in.put({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    life = asyncio.create_task(app(scope, life_in.get, life_out.put))  # type: ignore[arg-type]
    assert (await life_out.get())["type"] == "lifespan.startup.complete"
    service = app.state.versions.current

    async def through_app() -> None:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": BODY, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(_scope(), receive, send)  # type: ignore[arg-type]
        assert sent[0]["status"] == 200, sent

    async def essentials() -> None:
        data = msgspec.json.decode(BODY)
        result = await service.embed(
            data["input"], model=data["model"], dimensions=None, truncate=True,
            input_type=None, prompt_name=None, receive=None,
        )  # fmt: skip
        answer = openai_response(
            result.vectors, model=service.model_id, tokens=result.tokens, encoding_format="float"
        )
        msgspec.json.encode(answer)

    paths: dict[str, Callable[[], Awaitable[None]]] = {
        "app": through_app,
        "essentials": essentials,
    }
    times: dict[str, list[float]] = {name: [] for name in paths}
    for path in paths.values():  # warm-up
        for _ in range(300):
            await path()
    for _ in range(rounds):
        for name, path in paths.items():
            started = time.perf_counter()
            for _ in range(requests):
                await path()
            times[name].append((time.perf_counter() - started) / requests * 1e6)
    await life_in.put({"type": "lifespan.shutdown"})
    await life
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    try:
        import uvloop

        times = uvloop.run(_measure(args.rounds, args.requests))
    except ImportError:
        times = asyncio.run(_measure(args.rounds, args.requests))
    app, bare = statistics.median(times["app"]), statistics.median(times["essentials"])
    for name, values in times.items():
        print(f"{name}: median {statistics.median(values):.0f} us a request, rounds "
              + ", ".join(f"{v:.0f}" for v in values))  # fmt: skip
    print(f"the framework and the checks add {app - bare:.0f} us a request")


if __name__ == "__main__":
    main()
