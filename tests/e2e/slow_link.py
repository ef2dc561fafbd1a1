"""A slow village link between the browser and the server: a loopback TCP relay that holds every chunk
of the server's answers for `latency` seconds. It widens the window in which a batch is already applied
on the server while its answer is still on the way, so that a network toggle or a reload loses it and
the phone must resend (the server then answers `duplicate`).
"""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress


def _pipe(source: socket.socket, target: socket.socket, latency: float) -> None:
    with suppress(OSError):
        while chunk := source.recv(65536):
            if latency:
                time.sleep(latency)
            target.sendall(chunk)
    for sock in (source, target):  # one side gone: the relayed connection is over
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def slow_link(upstream: str, latency: float) -> Iterator[str]:
    """Relay to `upstream` ("http://host:port") on a free loopback port; yields the relay's base URL."""
    host, port = upstream.removeprefix("http://").rsplit(":", 1)
    listener = socket.create_server(("127.0.0.1", 0))
    opened: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def accept() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener is closed
            opened.append(client)
            try:
                server = socket.create_connection((host, int(port)))
            except OSError:
                client.close()
                continue
            opened.append(server)
            for args in ((client, server, 0.0), (server, client, latency)):
                threads.append(threading.Thread(target=_pipe, args=args, daemon=True))
                threads[-1].start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        acceptor.join(5)
        for sock in opened:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(5)
        for sock in opened:
            sock.close()
