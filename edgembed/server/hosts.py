"""The Host names a server without an API key answers: a defence against DNS rebinding.

A web page on another site can point its own host name at 127.0.0.1 and then call a keyless
server on the reader's machine as if it were that site (search the corpus, post feedback).
The browser then sends that name as the Host header, so a keyless server answers only:

- the names it is bound to: 127.0.0.1, localhost, [::1] and its ``--host``;
- any IP address (a rebinding page always sends a name; an orchestrator's probes send the
  pod's IP);
- the names the operator allows (``--allowed-host``; ``*`` allows every name);
- a request without a Host header (no browser sends one).

Every route is covered, /health and /ready included (their probes send an IP). With an API key
every name is answered: a page cannot learn the key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

import msgspec

from edgembed.server.envelope import shown
from edgembed.server.schemas import ErrorBody, ErrorEnvelope

__all__ = ["LOOPBACK_NAMES", "HostNames"]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def _name(host: str) -> str:
    """The host name of a Host header or a --host value: no port, no brackets, no final dot,
    lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit() and ":" not in name:
        host = name
    return host.rstrip(".")


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostNames:
    """Which Host headers a keyless server answers (see the module docstring)."""

    def __init__(self, bound_host: str, allowed: Sequence[str]) -> None:
        self.any = "*" in allowed
        self.names = frozenset(_name(host) for host in (*LOOPBACK_NAMES, bound_host, *allowed))

    def refused(self, headers: Iterable[tuple[bytes, bytes]]) -> str | None:
        """The host name of a request's headers when it is not answered, else None."""
        if self.any:
            return None
        for key, value in headers:
            if key == b"host":
                name = _name(value.decode("latin-1"))
                if name in self.names or _is_address(name):
                    return None
                return name or "(empty)"
        return None

    def answer(self, name: str) -> bytes:
        """The body of the 421 answer for a refused host `name`, in OpenAI's envelope."""
        name = shown(name)
        allowed = ", ".join(sorted(self.names))
        message = (
            f"This server does not answer requests for the host name '{name}': without an "
            f"API key it answers {allowed} and IP addresses only (a defence against DNS "
            f"rebinding). Call it by one of those, start it with --allowed-host {name}, or "
            "give it an API key."
        )
        error = ErrorBody(
            message=message, type="invalid_request_error", param=None, code="host_not_allowed"
        )
        return msgspec.json.encode(ErrorEnvelope(error=error))
