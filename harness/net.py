"""Network helpers shared by every layer: free ports to bind, and whether a port is taken."""

from __future__ import annotations

import ipaddress
import random
import socket


def port_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port (sockets in TIME_WAIT do not count, as for
    any server that sets SO_REUSEADDR)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


# Ports handed to daemons are picked below the kernel's ephemeral range (Linux: 32768 and
# up): a port the OS picks for a probe is free again at once, and the next bind(0) of any
# process (a JVM's RPC, a driver's block manager) may get it before our daemon binds it.
# Starting many JVMs at once, that happened to a worker's UI port about once a run.
_LOW, _HIGH = 20000, 32000


def _ephemeral_floor() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host: str = "127.0.0.1") -> int:
    """A port on host that nothing listens on now, outside the OS's ephemeral range when
    it leaves room below it (else the OS's pick)."""
    high = min(_HIGH, _ephemeral_floor() - 1)
    for _ in range(50) if high > _LOW else ():
        port = random.randint(_LOW, high)  # noqa: S311 - not for security
        if port_free(host, port):
            return port
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def is_loopback(address: str) -> bool:
    """True for a loopback IP address (127.0.0.0/8, ::1); False for any other text."""
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
