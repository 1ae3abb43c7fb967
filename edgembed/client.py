"""What a RAG backend imports: embeddings from `edgembed serve` (or any OpenAI-compatible server).

`EdgembedEmbeddings` has the methods LangChain's and LlamaIndex's embedding interfaces call
(``embed_query``, ``embed_documents``) without depending on either, plus ``embed_text`` and
``embed_texts``. Long lists go in batches; 429, 502, 503 and 504 answers and dropped
connections are retried with exponential backoff, honouring the server's Retry-After.

Only the standard library is used (urllib), so the client works in the plain ``pip install
edgembed`` a backend needs, with no extra: embeddings travel as base64 float32, decoded with
``array``, which is both smaller on the wire and faster to parse than JSON floats.

    from edgembed.client import EdgembedEmbeddings
    embeddings = EdgembedEmbeddings("http://embed.internal:8001", api_key="...")
    vector = embeddings.embed_query("How do I reset my password?")

Model versions (docs/serving.md, "Versions"): `at_version(N)` is a client pinned to version N
(model ``NAME@vN``), `reembed` embeds a corpus's documents with a version while the old one
keeps answering, `switch_version` and `rollback` move the server's default, and
`reembed_and_switch` does the last two in order.
"""

from __future__ import annotations

import array
import base64
import copy
import json
import logging
import random
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from email.message import Message
from typing import Any

from edgembed.errors import ClientError, ConfigError

__all__ = ["EdgembedEmbeddings", "model_name"]

log = logging.getLogger(__name__)

# Statuses that say "try again later": rate limited, overloaded, or a proxy in front of a
# restarting replica.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
_MAX_DELAY_S = 30.0
# Loading a version reads its model, warms it up and embeds the server's corpus with it.
_LOAD_TIMEOUT_S = 900.0
_VERSIONED = re.compile(r"^(?P<name>.+)@v[1-9][0-9]*$")


def model_name(model_id: str) -> str:
    """The model's name in a model id: ``NAME`` of ``NAME@v2:query``."""
    name, colon, suffix = model_id.rpartition(":")
    if not (colon and suffix in ("query", "document", "latest")):
        name = model_id
    match = _VERSIONED.match(name)
    return match["name"] if match else name


class EdgembedEmbeddings:
    """Embeddings over HTTP from an OpenAI-compatible `/v1/embeddings` endpoint.

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:8001`` (``/v1`` is added when missing).
        api_key: sent as ``Authorization: Bearer``; None for a server started without a key.
        model: the model id; None asks the server's /v1/models once and uses the first one.
        timeout: seconds to wait for one HTTP answer.
        retries: how many times a retryable failure is retried before `ClientError`.
        batch_size: inputs per request; longer lists are split (the server allows 2048).
        dimensions: keep the first N dimensions, re-normalised (None: all of them).
        backoff_s: the first retry's delay; it doubles on each retry, with jitter.
        send_input_type: send ``input_type`` (``query`` from `embed_query`, ``document`` from
            `embed_documents`), which tells `edgembed serve --log-queries` what to log. Set
            False for a server that refuses fields it does not know (OpenAI's own API).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        model: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        *,
        batch_size: int = 256,
        dimensions: int | None = None,
        backoff_s: float = 0.5,
        send_input_type: bool = True,
    ) -> None:
        if batch_size < 1 or retries < 0 or timeout <= 0:
            raise ConfigError(
                f"batch_size must be >= 1, retries >= 0 and timeout > 0; got {batch_size}, "
                f"{retries} and {timeout}"
            )
        root = base_url.rstrip("/")
        self.base_url = root if root.endswith("/v1") else f"{root}/v1"
        self.api_key = api_key
        self.model = model
        self.timeout = timeout
        self.retries = retries
        self.batch_size = batch_size
        self.dimensions = dimensions
        self.backoff_s = backoff_s
        self.send_input_type = send_input_type

    def embed_query(self, text: str) -> list[float]:
        """The embedding of one search query."""
        return self._embed_batch([text], "query")[0]

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """The embeddings of `texts`, in order, sent `batch_size` at a time.

        Raises:
            ClientError: the server refused a request, or stayed unreachable or overloaded
                through every retry.
        """
        if isinstance(texts, str):
            raise TypeError("embed_documents takes a list of strings; use embed_query for one")
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            vectors.extend(self._embed_batch(batch, "document"))
        return vectors

    def embed_text(self, text: str) -> list[float]:
        """Alias of `embed_query`."""
        return self.embed_query(text)

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        """Alias of `embed_documents`."""
        return self.embed_documents(texts)

    def model_id(self) -> str:
        """The model id sent with each request: `model`, or the server's first model."""
        if self.model is None:
            listing = self._request("GET", "/models", None)
            models = listing.get("data") or []
            if not models:
                raise ClientError(f"{self.base_url}/models lists no model; pass model=...")
            self.model = str(models[0]["id"])
        return self.model

    def at_version(self, version: int) -> EdgembedEmbeddings:
        """A client like this one pinned to version `version` of the model (``NAME@vN``): what
        a RAG backend embeds with while its index holds that version's vectors."""
        pinned = copy.copy(self)
        pinned.model = f"{model_name(self.model_id())}@v{version}"
        return pinned

    def versions(self) -> dict[str, Any]:
        """The server's loaded versions and its default (GET /v1/versions)."""
        return dict(self._request("GET", "/versions", None))

    def load_version(self, export: str) -> dict[str, Any]:
        """Load the export folder `export` (inside the server's versions folder) as a version
        beside the others; the default does not change. Returns its card.

        Raises:
            ClientError: the server refused (not an export, loaded already under another
                folder, no key).
        """
        try:
            return dict(self._request("POST", "/versions", {"export": export}, _LOAD_TIMEOUT_S))
        except ClientError as error:
            if error.code != "version_loaded":
                raise
            # A retry after a load that succeeded but whose answer was lost: find its card.
            for card in self.versions()["data"]:
                if card["export"] == export:
                    return dict(card)
            raise

    def switch_version(self, version: int) -> dict[str, Any]:
        """Make `version` the server's default (what the plain model name embeds with)."""
        return dict(self._request("POST", "/versions/default", {"version": version}))

    def rollback(self) -> dict[str, Any]:
        """Make the default before the last switch the default again."""
        return dict(self._request("POST", "/versions/rollback", {}))

    def unload_version(self, version: int) -> dict[str, Any]:
        """Stop serving `version` (not the default) once its queued requests are answered."""
        return dict(self._request("DELETE", f"/versions/{version}", None))

    def reembed(
        self,
        texts: Sequence[str],
        version: int,
        on_batch: Callable[[int, list[list[float]]], None] | None = None,
    ) -> list[list[float]]:
        """`texts` embedded as documents by version `version`, `batch_size` at a time; each
        batch is also handed to ``on_batch(first_index, vectors)`` (write it to the new index
        there). The model in service keeps answering queries meanwhile."""
        pinned = self.at_version(version)
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = pinned.embed_documents(texts[start : start + self.batch_size])
            if on_batch is not None:
                on_batch(start, batch)
            vectors.extend(batch)
        return vectors

    def reembed_and_switch(
        self,
        texts: Sequence[str],
        version: int,
        on_batch: Callable[[int, list[list[float]]], None] | None = None,
    ) -> tuple[list[list[float]], EdgembedEmbeddings]:
        """`reembed`, then switch the server's default to `version`. Returns the vectors and a
        client pinned to the new version: query the new index with it (and keep the old
        client and index until the swap in your backend is done)."""
        vectors = self.reembed(texts, version, on_batch)
        self.switch_version(version)
        return vectors, self.at_version(version)

    def _embed_batch(self, texts: list[str], input_type: str) -> list[list[float]]:
        payload: dict[str, Any] = {
            "model": self.model_id(),
            "input": texts,
            "encoding_format": "base64",
        }
        if self.send_input_type:
            payload["input_type"] = input_type
        if self.dimensions is not None:
            payload["dimensions"] = self.dimensions
        body = self._request("POST", "/embeddings", payload)
        try:
            items = sorted(body["data"], key=lambda item: item["index"])
            vectors = [_decode(item["embedding"]) for item in items]
        except (KeyError, TypeError, ValueError) as exc:
            raise ClientError(f"{self.base_url}/embeddings answered an unexpected body") from exc
        if len(vectors) != len(texts):
            raise ClientError(f"sent {len(texts)} inputs, got {len(vectors)} embeddings back")
        return vectors

    def _request(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None,
        timeout: float | None = None,
    ) -> Any:
        """One HTTP call with retries; the decoded JSON answer."""
        attempt = 0
        while True:
            try:
                return self._send(method, path, payload, timeout or self.timeout)
            except _Retryable as retry:
                if attempt == self.retries:
                    raise ClientError(
                        f"{retry.reason}; gave up after {self.retries + 1} attempts. Check "
                        "that `edgembed serve` is running there, or add replicas if it is "
                        "overloaded.",
                        status=retry.status,
                        code=retry.code,
                    ) from retry
                delay = self._delay(attempt, retry.retry_after)
                log.warning("%s; retrying in %.1f s", retry.reason, delay)
                time.sleep(delay)
                attempt += 1

    def _send(self, method: str, path: str, payload: dict[str, Any] | None, timeout: float) -> Any:
        url = f"{self.base_url}{path}"
        headers = {"Accept": "application/json"}
        data = None
        if payload is not None:
            data = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            raise _http_error(url, error) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise _Retryable(f"cannot reach {url} ({reason})") from error
        except json.JSONDecodeError as error:
            raise ClientError(f"{url} answered something that is not JSON") from error

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        backoff = self.backoff_s * 2.0**attempt * random.uniform(0.8, 1.2)
        return min(max(backoff, retry_after or 0.0), _MAX_DELAY_S)


class _Retryable(Exception):
    """A failure worth another try: overload or an unreachable server."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.code = code
        self.retry_after = retry_after


def _http_error(url: str, error: urllib.error.HTTPError) -> Exception:
    """A `_Retryable` for overload statuses, else a `ClientError` with the server's message."""
    message, code = _envelope(error)
    reason = f"{url} answered {error.code}: {message}"
    if error.code in RETRY_STATUSES:
        retry_after = _retry_after(error.headers)
        return _Retryable(reason, status=error.code, code=code, retry_after=retry_after)
    hint = {
        401: " Pass the server's key as api_key=.",
        404: " Check base_url and the model id (GET /v1/models lists it).",
    }.get(error.code, "")
    return ClientError(reason + hint, status=error.code, code=code)


def _envelope(error: urllib.error.HTTPError) -> tuple[str, str | None]:
    """The message and code of OpenAI's error envelope, or the raw body when it is not one."""
    raw = error.read().decode("utf-8", "replace")
    try:
        body = json.loads(raw)["error"]
        return str(body["message"]), body.get("code")
    except (ValueError, KeyError, TypeError):
        return raw[:200] or error.reason, None


def _retry_after(headers: Message) -> float | None:
    value = headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to the backoff


def _decode(embedding: str | list[float]) -> list[float]:
    """A vector from base64 little-endian float32 (or from a JSON list, as some servers send)."""
    if isinstance(embedding, list):
        return [float(value) for value in embedding]
    values = array.array("f", base64.b64decode(embedding))
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()
