"""Without an API key the server answers only its own host names and IP addresses (DNS
rebinding); with a key, or names the operator allows, every request is answered."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import ClientFactory

ROUTES = ["/health", "/ready", "/v1/models", "/docs/openapi.json", "/nowhere"]


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:8001", "localhost", "LOCALHOST.:8001", "[::1]:8001", "10.1.2.3:8001", "[fe80::1]"],
)
def test_own_names_and_addresses_are_answered(make_client: ClientFactory, host: str) -> None:
    with make_client() as client:
        assert client.get("/v1/models", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("path", ROUTES)
def test_another_name_gets_421_on_every_route(make_client: ClientFactory, path: str) -> None:
    with make_client() as client:
        response = client.get(path, headers={"Host": "rebound.example:8001"})
        posted = client.post("/v1/embeddings", json={}, headers={"Host": "rebound.example"})
    for answer in (response, posted):
        assert answer.status_code == 421
        error = answer.json()["error"]
        assert error["code"] == "host_not_allowed" and error["type"] == "invalid_request_error"
        assert "'rebound.example'" in error["message"]
        assert "--allowed-host rebound.example" in error["message"]


@pytest.mark.parametrize(
    ("settings", "host"),
    [
        ({"allowed_hosts": ("embed.internal",)}, "Embed.Internal:8001"),
        ({"allowed_hosts": ("*",)}, "anything.example"),
        ({"host": "box.lan"}, "box.lan:8001"),
        ({"api_key": "secret"}, "rebound.example"),
    ],
)
def test_allowed_names_and_keyed_servers_answer(
    make_client: ClientFactory, settings: dict[str, Any], host: str
) -> None:
    headers = {"Host": host, "Authorization": "Bearer secret"}
    with make_client(**settings) as client:
        assert client.get("/v1/models", headers=headers).status_code == 200


def test_a_long_name_is_not_echoed_whole(make_client: ClientFactory) -> None:
    with make_client() as client:
        response = client.get("/health", headers={"Host": "a" * 5000 + ".example"})
    assert response.status_code == 421 and len(response.text) < 1000


def test_refusals_are_counted(make_client: ClientFactory) -> None:
    with make_client() as client:
        client.get("/health", headers={"Host": "rebound.example"})
        text = client.get("/metrics").text
    assert 'edgembed_requests_total{route="/health",status="421"} 1.0' in text
