"""Step inputs for the SSH test peers, shared by the SSH and SCP step tests."""

from __future__ import annotations

import asyncssh


def key_inputs(sshd, **extra):
    return {
        "host": sshd.host,
        "port": sshd.port,
        "username": sshd.username,
        "privateKey": sshd.private_key,
        "hostKey": sshd.host_key,
        **extra,
    }


def password_inputs(server, **extra):
    return {
        "host": server.host,
        "port": server.port,
        "username": server.username,
        "password": server.password,
        "hostKey": server.host_key,
        **extra,
    }


def other_public_key() -> str:
    return asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()


def key_body(public_key_line: str) -> str:
    return public_key_line.split()[1]
