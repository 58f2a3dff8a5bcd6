"""The test suite itself proves the product is offline."""

import socket

import pytest
from pytest_socket import SocketConnectBlockedError


def test_connecting_beyond_loopback_fails_the_test() -> None:
    # 192.0.2.1 is TEST-NET-1: blocked by the guard before any packet is sent.
    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("192.0.2.1", 80), timeout=1)


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=1):
            pass
