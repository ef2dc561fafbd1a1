"""A TCP proxy of our own between the app and PostgreSQL that misbehaves on demand (issue 15, item 3).

It listens on a loopback port and forwards every connection to the database (its unix socket or its
TCP port), in an event loop on a thread of its own, so a synchronous test steers it while phones load
the server. The faults, each until `heal()`:

- `resets()`: every connection is reset (RST) every RESET_EVERY seconds; new ones are accepted;
- `delay(seconds)`: every chunk of bytes, both ways, arrives that much later (order kept);
- `blackhole()`: nothing passes either way and new connections hang: bytes are held, not dropped, and
  go on when it heals, as TCP's retransmissions would after a partition;
- `refuse()`: open connections are reset and new ones refused (the port is closed), as when the
  database is down.
"""
from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Coroutine
from typing import Any
from urllib.parse import quote

from psycopg.conninfo import conninfo_to_dict

RESET_EVERY = 0.5  # seconds


class Proxy:
    def __init__(self, database_url: str) -> None:
        params = conninfo_to_dict(database_url)
        host, port = str(params.get("host") or "localhost"), int(params.get("port") or 5432)
        # libpq: a host that is a directory names the unix socket's directory.
        self.upstream_socket = f"{host}/.s.PGSQL.{port}" if host.startswith("/") else None
        self.upstream = (host, port)
        self.params = {k: v for k, v in params.items() if k not in ("host", "port", "hostaddr")}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="db-proxy")
        self.server: asyncio.Server | None = None
        self.port = 0
        self.pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.flowing = asyncio.Event()
        self.latency = 0.0
        self.resetting: asyncio.Task[None] | None = None
        self.connections = 0  # accepted so far

    @property
    def url(self) -> str:
        """The database's URL with the proxy in its place."""
        user = quote(str(self.params.get("user", "postgres")))
        password = self.params.get("password")
        auth = f"{user}:{quote(str(password))}" if password else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{quote(str(self.params.get('dbname', 'postgres')))}"

    def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def start(self) -> Proxy:
        self.thread.start()
        self._run(self._listen())
        return self

    def close(self) -> None:
        self._run(self._heal())
        self._run(self._close_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    # --- the faults ---------------------------------------------------------------------------------

    def resets(self) -> None:
        self._run(self._resets())

    def delay(self, seconds: float) -> None:
        self.latency = seconds

    def blackhole(self) -> None:
        self.loop.call_soon_threadsafe(self.flowing.clear)

    def refuse(self) -> None:
        self._run(self._refuse())

    def heal(self) -> None:
        self._run(self._heal())

    # --- inside the proxy's loop --------------------------------------------------------------------

    async def _listen(self) -> None:
        self.flowing.set()
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _resets(self) -> None:
        async def every() -> None:
            while True:
                self._reset_all()
                await asyncio.sleep(RESET_EVERY)

        self.resetting = asyncio.create_task(every())

    async def _refuse(self) -> None:
        assert self.server is not None
        self.server.close()
        self._reset_all()
        await self.server.wait_closed()
        self.server = None

    async def _heal(self) -> None:
        self.latency = 0.0
        self.flowing.set()
        if self.resetting is not None:
            self.resetting.cancel()
            self.resetting = None
        if self.server is None:
            await self._listen()

    async def _close_all(self) -> None:
        if self.server is not None:
            self.server.close()
        self._reset_all()

    def _reset_all(self) -> None:
        for pair in list(self.pairs):
            for writer in pair:
                _reset(writer)
        self.pairs.clear()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await self.flowing.wait()  # a blackhole: the connection is open, nothing answers
        try:
            if self.upstream_socket:
                server_reader, server_writer = await asyncio.open_unix_connection(self.upstream_socket)
            else:
                server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _reset(client_writer)
            return
        pair = (client_writer, server_writer)
        self.pairs.add(pair)
        try:
            await asyncio.gather(self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer))
        finally:
            self.pairs.discard(pair)
            for writer in pair:
                writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Forward bytes in order, each chunk `latency` seconds after it was read, none while blackholed."""
        chunks: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def send() -> None:
            while True:
                due, data = await chunks.get()
                if not data:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                await self.flowing.wait()
                writer.write(data)
                await writer.drain()
            with contextlib.suppress(OSError):
                writer.write_eof()

        sender = asyncio.create_task(send())
        try:
            while True:
                data = await reader.read(65536)
                await chunks.put((time.monotonic() + self.latency, data))
                if not data:
                    break
            await sender
        except OSError:
            sender.cancel()
            _reset(writer)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST, as a broken network path or a killed peer does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
