"""Whether a TCP port can be served on, asked before the demo spends a minute loading data for nothing."""

from __future__ import annotations

import socket


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on `host`:`port` (or the address cannot be bound at all).

    Binds the way Django's development server does (SO_REUSEADDR), so a port left in TIME_WAIT by a server
    that just stopped counts as free — as it is for runserver.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return True
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError:
            return True
    return False
