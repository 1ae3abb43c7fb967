"""The HTTP load generator of `edgembed bench --serve/--http` (and benchmarks/loadtest.py).

Raw HTTP/1.1 over asyncio streams, one keep-alive connection per simulated client: the client
costs tens of microseconds per request, so the figures are the server's, not an HTTP library's.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from edgembed.bench.stats import percentile

__all__ = ["percentiles", "run_load"]


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    connection_errors: int = 0


def run_load(
    url: str,
    concurrency: int,
    requests: int,
    texts: Sequence[str],
    seconds_limit: float,
    *,
    model: str | None = None,
    api_key: str | None = None,
    encoding_format: str = "float",
    bodies: Sequence[bytes] | None = None,
) -> dict[str, Any]:
    """Send `requests` POST /v1/embeddings from `concurrency` clients at once.

    Each request embeds one text, taken in turn from `texts` (or sends the next raw JSON body
    from `bodies`, for mixed valid and invalid traffic). No new request starts after
    `seconds_limit`.

    Args:
        url: the server's base URL, e.g. ``http://127.0.0.1:8001``.
        model: the model id to send; None: asked from GET /v1/models.

    Returns:
        requests sent, completed, lost (sent but never answered), status counts,
        connection errors, seconds, req_per_s and latency percentiles in milliseconds.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    if bodies is None:
        name = model or _served_model(url, headers)
        bodies = [
            json.dumps({"model": name, "input": text, "encoding_format": encoding_format}).encode()
            for text in texts
        ]
    requests_bytes = [_http_post(host, port, "/v1/embeddings", body, headers) for body in bodies]
    return asyncio.run(_load(host, port, requests_bytes, concurrency, requests, seconds_limit))


async def _load(
    host: str, port: int, payloads: list[bytes], concurrency: int, total: int, limit: float
) -> dict[str, Any]:
    tally = _Tally()
    tickets = iter(range(total))
    started = time.perf_counter()
    deadline = started + limit
    clients = [_client(host, port, payloads, tickets, deadline, tally) for _ in range(concurrency)]
    sent = sum(await asyncio.gather(*clients))
    seconds = time.perf_counter() - started
    completed = sum(tally.statuses.values())
    return {
        "concurrency": concurrency,
        "requests": sent,
        "completed": completed,
        "lost": sent - completed,
        "status": dict(sorted(tally.statuses.items())),
        "connection_errors": tally.connection_errors,
        "seconds": round(seconds, 3),
        "req_per_s": round(completed / seconds, 1) if seconds else 0.0,
        "latency_ms": percentiles(tally.latencies),
    }


async def _client(
    host: str,
    port: int,
    payloads: list[bytes],
    tickets: Iterator[int],
    deadline: float,
    tally: _Tally,
) -> int:
    """One keep-alive connection sending requests until tickets or time run out."""
    sent = 0
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for ticket in tickets:
            if time.perf_counter() > deadline:
                break
            sent += 1
            begin = time.perf_counter()
            writer.write(payloads[ticket % len(payloads)])
            try:
                status, keep_alive = await _read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                tally.connection_errors += 1
                keep_alive = False
            else:
                tally.latencies.append(time.perf_counter() - begin)
                tally.statuses[status] += 1
            if not keep_alive:
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    except OSError:  # the server went away: what was sent and not answered counts as lost
        tally.connection_errors += 1
    finally:
        writer.close()
    return sent


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; return its status and whether the connection stays open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = {
        name.strip().lower(): value.strip()
        for name, _sep, value in (line.partition(":") for line in lines[1:] if line)
    }
    await reader.readexactly(int(fields.get("content-length", "0")))
    return status, fields.get("connection", "").lower() != "close"


def _http_post(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _served_model(url: str, headers: dict[str, str]) -> str:
    request = urllib.request.Request(f"{url.rstrip('/')}/v1/models", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        name: str = json.load(response)["data"][0]["id"]
    return name


def percentiles(latencies: list[float]) -> dict[str, float]:
    """p50, p90, p99, max and mean of `latencies` (seconds), in milliseconds (percentiles
    interpolated, as everywhere in the bench: `stats.percentile`)."""
    if not latencies:
        return {}

    def at(q: float) -> float:
        return round(percentile(latencies, q) * 1000, 3)

    return {
        "p50": at(50),
        "p90": at(90),
        "p99": at(99),
        "max": round(max(latencies) * 1000, 3),
        "mean": round(sum(latencies) / len(latencies) * 1000, 3),
    }
