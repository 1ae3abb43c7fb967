"""Prometheus metrics of one server, in a registry of its own (never the global one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["ServerMetrics", "route_label"]

_ROUTES = frozenset(
    {"/v1/embeddings", "/v1/models", "/api/embed", "/health", "/ready", "/metrics"}
    | {"/v1/feedback", "/v1/search", "/v1/playground", "/"}
)
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)
_TOKEN_BUCKETS = (16, 64, 256, 1024, 4096, 16384, 65536, 262144)


def route_label(path: str) -> str:
    """The `route` label for a request path; unknown paths share one label (bounded series)."""
    if path in _ROUTES:
        return path
    if path.startswith("/v1/models/"):
        return "/v1/models/{model}"
    return "other"


class ServerMetrics:
    """Requests by route and status, latency, batch sizes, queue depth and tokens."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "edgembed_requests",
            "HTTP requests answered, by route and status code.",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "edgembed_request_duration_seconds",
            "Time from request start to the end of the response, by route.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "edgembed_requests_in_progress",
            "HTTP requests being handled now (this scrape included).",
            registry=self.registry,
        )
        self.batch_inputs = Histogram(
            "edgembed_batch_inputs",
            "Inputs embedded per model call (concurrent requests merged).",
            buckets=_SIZE_BUCKETS,
            registry=self.registry,
        )
        self.batch_tokens = Histogram(
            "edgembed_batch_tokens",
            "Tokens embedded per model call.",
            buckets=_TOKEN_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "edgembed_queue_depth",
            "Requests waiting for the model.",
            registry=self.registry,
        )
        self.tokens = Counter(
            "edgembed_tokens", "Tokens embedded, special tokens included.", registry=self.registry
        )
        self.truncated = Counter(
            "edgembed_truncated_inputs",
            "Inputs cut to the model's length limit.",
            registry=self.registry,
        )

        # Label children looked up once per (route, status): labels() takes a lock and builds
        # a key on every call, which showed in profiles of the request path.
        self._request_children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._depths: list[Callable[[], int]] = []

    def track_queue(self, depth: Callable[[], int]) -> Callable[[], None]:
        """Add `depth` (one model's queue) to the queue depth read at scrape time (no cost per
        request); the function returned stops counting it (a model version unloaded)."""
        self._depths.append(depth)
        self.queue_depth.set_function(lambda: sum(read() for read in self._depths))
        return lambda: self._depths.remove(depth)

    def observe_request(self, path: str, status: int, seconds: float) -> None:
        route = route_label(path)
        children = self._request_children.get((route, status))
        if children is None:
            children = (self.requests.labels(route, str(status)), self.latency.labels(route))
            self._request_children[(route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_batch(self, inputs: int, tokens: int) -> None:
        self.batch_inputs.observe(inputs)
        self.batch_tokens.observe(tokens)

    def render(self) -> bytes:
        """The Prometheus text exposition of this server's metrics."""
        data: bytes = generate_latest(self.registry)
        return data
