"""Listening sockets for the commands that serve HTTP (worker, gateway, proxy): parse, bind, name."""

from __future__ import annotations

import socket

import click

__all__ = ["bind", "listen_address", "socket_url"]


def listen_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise click.BadParameter(f"want HOST:PORT, got {text!r}", param_hint="--listen")
    return host, int(port)


def bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)  # connections queue until uvicorn accepts them
    except OSError as exc:
        raise click.BadParameter(f"cannot listen on {host}:{port}: {exc}", param_hint="--listen") from None
    return sock


def socket_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
