"""The tenant's outbound allow-list, checked before a step opens a connection.

A pattern is a glob on the host name or address ("*.lab.example", "10.20.*", "*" for
every host) or a CIDR block ("10.20.0.0/16"). A host is allowed when its name matches a
glob, or when every address it resolves to matches a CIDR block or a glob.
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import socket

from .base import StepContext, StepFailure


def _networks(patterns: tuple[str, ...]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for pattern in patterns:
        if "/" in pattern:
            try:
                networks.append(ipaddress.ip_network(pattern, strict=False))
            except ValueError:
                continue
    return networks


def _globs(patterns: tuple[str, ...]) -> list[str]:
    return [pattern.lower() for pattern in patterns if "/" not in pattern]


def address_allowed(address: str, patterns: tuple[str, ...]) -> bool:
    ip = ipaddress.ip_address(address)
    if any(ip in network for network in _networks(patterns) if network.version == ip.version):
        return True
    return any(fnmatch.fnmatchcase(str(ip), glob) for glob in _globs(patterns))


async def check_egress(ctx: StepContext, host: str, port: int) -> None:
    """Raise EGRESS_DENIED unless the tenant's allow-list admits `host`."""
    patterns = ctx.allowed_hosts
    if any(fnmatch.fnmatchcase(host.lower(), glob) for glob in _globs(patterns)):
        return
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise StepFailure("SSH_CONNECT_FAILED", f"cannot resolve host {host!r}: {exc}") from exc
        addresses = sorted({str(info[4][0]) for info in infos})
    if addresses and all(address_allowed(address, patterns) for address in addresses):
        return
    raise StepFailure(
        "EGRESS_DENIED",
        f"host {host!r} is not in this tenant's allowed hosts; an admin can add it to the "
        "tenant setting allowedHosts",
        retryable=False,
    )
