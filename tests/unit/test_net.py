"""Ports for daemons: free, and outside the kernel's ephemeral range, where a port the OS
picked for a probe cannot be handed to another process's bind(0) before our daemon binds."""

from __future__ import annotations

import socket

from harness.net import _ephemeral_floor, free_port, is_loopback, port_free


def test_free_ports_are_bindable_and_below_the_ephemeral_range():
    ports = {free_port() for _ in range(20)}
    assert all(p < _ephemeral_floor() for p in ports), ports
    assert len(ports) > 1  # picked at random, not one fixed port
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_a_listening_port_is_not_free():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert not port_free("127.0.0.1", s.getsockname()[1])


def test_loopback_addresses_are_the_loopbacks_and_nothing_else():
    """What the admin route and the console answer: loopback clients only."""
    assert all(is_loopback(a) for a in ("127.0.0.1", "127.1.2.3", "::1"))
    assert not any(is_loopback(a) for a in ("192.0.2.7", "10.0.0.1", "::", "", "localhost",
                                            "not an address"))
