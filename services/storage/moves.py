"""Which worker holds each county, and moving counties between workers (`grassroots county list|move|rebalance`).

On Citus a county is a distributed schema: all its tables on one worker (services/storage/citus.py).
`citus_schema_move` copies it to another worker online: with `shard_transfer_mode` 'auto' it copies the
rows, then follows the writes made meanwhile by logical replication, and the county's writes wait only
for the final switch. That needs `wal_level = logical` on the nodes (the kit's cluster.sh and
infra/citus/compose.yaml set it); without it, `--block-writes` copies with the county's writes blocked
for the whole copy. The application keeps talking to the coordinator, which routes to wherever the
county is, so neither the server nor the projector is told anything.

A move and a rebuild of the same county take turns (the rebuild's lock): a rebuild swaps tables into
the county's schema, which must not happen while its tables are being copied.

A rebalance spreads the counties evenly by count over the workers that take shards, moving the
smallest counties (the least to copy) from the fullest worker to the emptiest, one at a time.
Counties differ in size; Citus's own `citus_rebalance_start()` balances by disk size instead.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .citus import is_citus, value
from .connections import SyncConnection
from .database import connect
from .names import REBUILD_LOCK_CLASS, check_adcode, county_schema

POLL_SECONDS = 1.0  # how often a move's progress is read (get_rebalance_progress, from another session)

Progress = Callable[[str], None]


class NotCitus(RuntimeError):
    """The database is plain PostgreSQL: every county is on this one server."""

    def __init__(self) -> None:
        super().__init__("this database is plain PostgreSQL, not a Citus coordinator: every county lives on this"
                         " one server, so there is nothing to move (see infra/citus/RUNBOOK.md to scale out)")


class MoveRefused(ValueError):
    """A move that cannot be made as asked; the message says what to do instead."""


@dataclass(frozen=True, order=True)
class Node:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse_node(text: str) -> Node:
    """HOST:PORT, as the workers are registered on the coordinator (`citus_add_node`)."""
    host, _, port = text.strip().rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise MoveRefused(f"give the target worker as HOST:PORT (e.g. 10.0.0.12:5432), got {text!r}")
    return Node(host, int(port))


def require_citus(conn: SyncConnection) -> None:
    if not is_citus(conn):
        raise NotCitus()


def workers(conn: SyncConnection) -> list[Node]:
    """The nodes that take counties: active primaries meant to hold shards (not the coordinator)."""
    rows = conn.execute("SELECT nodename, nodeport FROM pg_dist_node WHERE isactive AND shouldhaveshards"
                        " AND noderole = 'primary' ORDER BY nodename, nodeport").fetchall()
    return [Node(host, port) for host, port in rows]


# Each county's node: where its events table's one shard is placed (every table of the schema is with
# it). A schema that is not distributed has no shard: it is on the coordinator.
_PLACEMENT = """
SELECT c.adcode, node.nodename, node.nodeport, sh.logicalrelid IS NOT NULL AS distributed
FROM core.counties c
LEFT JOIN pg_dist_shard sh ON sh.logicalrelid = to_regclass('county_' || c.adcode || '.county_events')
LEFT JOIN pg_dist_placement p ON p.shardid = sh.shardid
LEFT JOIN pg_dist_node node ON node.groupid = p.groupid AND node.noderole = 'primary'
"""


def county_nodes(conn: SyncConnection) -> dict[str, Node | None]:
    """Every county's worker on Citus (None: its schema is not distributed, so on the coordinator)."""
    return {adcode: Node(host, port) if distributed and host is not None else None
            for adcode, host, port, distributed in conn.execute(_PLACEMENT + " ORDER BY c.adcode").fetchall()}


def county_sizes(conn: SyncConnection) -> dict[str, int]:
    """Bytes of each distributed county (all its tables' shards): one call to every worker."""
    rows = conn.execute(
        "SELECT substr(n.nspname, 8), sum(sizes.size)::bigint FROM citus_shard_sizes() sizes"
        " JOIN pg_dist_shard sh ON sh.shardid = sizes.shard_id"
        " JOIN pg_class t ON t.oid = sh.logicalrelid JOIN pg_namespace n ON n.oid = t.relnamespace"
        " WHERE n.nspname ~ '^county_[0-9]{6}$' GROUP BY n.nspname").fetchall()
    return {adcode: int(size) for adcode, size in rows}


def move_county(url: str, adcode: str, target: Node, *, block_writes: bool = False,
                progress: Progress = print) -> Node:
    """Move the county's schema to `target`; answers where it was. Refuses (MoveRefused, NotCitus) before
    touching anything when the move cannot be made."""
    adcode = check_adcode(adcode)
    schema = county_schema(adcode)
    with connect(url) as conn:
        require_citus(conn)
        placed = conn.execute(_PLACEMENT + " WHERE c.adcode = %s", (adcode,)).fetchone()
        if placed is None:
            raise MoveRefused(f"no county {adcode} in this database (see `grassroots county list`)")
        _, host, port, distributed = placed
        if not distributed or host is None:
            raise MoveRefused(f"county {adcode}'s schema is not a distributed schema (it is on the coordinator):"
                              " run `grassroots db init`, which distributes it")
        source = Node(host, port)
        if source == target:
            progress(f"county {adcode} is on {target} already: nothing to move")
            return source
        candidates = workers(conn)
        if target not in candidates:
            raise MoveRefused(f"{target} is not a worker of this cluster that takes counties; the workers are "
                              f"{', '.join(map(str, candidates)) or 'none'} (add one: citus_add_node)")
        if not block_writes:
            check_logical_replication(conn, [source, target])
        key = int(adcode)
        if not value(conn, "SELECT pg_try_advisory_lock(%s, %s)", (REBUILD_LOCK_CLASS, key)):
            progress(f"county {adcode} is being rebuilt: waiting for the rebuild to finish")
            conn.execute("SELECT pg_advisory_lock(%s, %s)", (REBUILD_LOCK_CLASS, key))
        try:
            started = time.monotonic()
            mode = "block_writes" if block_writes else "auto"
            progress(f"moving county {adcode} ({schema}) from {source} to {target}"
                     f" ({'writes blocked until done' if block_writes else 'online'})")
            _with_progress(url, schema, progress, lambda: conn.execute(
                "SELECT citus_schema_move(%s::regnamespace, %s, %s, %s::citus.shard_transfer_mode)",
                (schema, target.host, target.port, mode)))
            progress(f"county {adcode} is on {target} ({time.monotonic() - started:.1f} s)")
        finally:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", (REBUILD_LOCK_CLASS, key))
    return source


def check_logical_replication(conn: SyncConnection, nodes: list[Node]) -> None:
    """An online move needs `wal_level = logical` on the nodes it copies between; say so before starting."""
    rows = conn.execute("SELECT nodename, nodeport, result FROM run_command_on_all_nodes('SHOW wal_level')"
                        " JOIN pg_dist_node USING (nodeid)").fetchall()
    wrong = [f"{Node(host, port)} ({level})" for host, port, level in rows
             if Node(host, port) in nodes and level != "logical"]
    if wrong:
        raise MoveRefused(f"wal_level is not logical on {', '.join(wrong)}: an online move copies the county by"
                          " logical replication. Set wal_level = logical on every node and restart it, or pass"
                          " --block-writes to copy with the county's writes blocked until the move is done")


def _with_progress(url: str, schema: str, progress: Progress, move: Callable[[], object]) -> None:
    """Run `move` (in this thread, on the caller's connection) while another session reports the copy."""
    done = threading.Event()

    def report() -> None:
        last = ""
        with connect(url) as watcher:
            while not done.wait(POLL_SECONDS):
                rows = watcher.execute(
                    "SELECT status, sum(source_shard_size)::bigint, sum(target_shard_size)::bigint"
                    " FROM get_rebalance_progress() WHERE table_name::text LIKE %s GROUP BY status"
                    " ORDER BY count(*) DESC LIMIT 1", (f"{schema}.%",)).fetchall()
                if rows:
                    status, source, copied = rows[0]
                    line = f"  {status}: {_megabytes(copied)} of {_megabytes(source)} copied"
                    if line != last:
                        progress(line)
                        last = line

    watcher = threading.Thread(target=report, daemon=True)
    watcher.start()
    try:
        move()
    finally:
        done.set()
        watcher.join(10)


def _megabytes(size: int | None) -> str:
    return f"{(size or 0) / 1e6:.1f} MB"


@dataclass(frozen=True)
class Move:
    adcode: str
    source: Node
    target: Node


def rebalance_plan(placement: dict[str, Node | None], nodes: list[Node], sizes: dict[str, int]) -> list[Move]:
    """Moves that leave every worker with as many counties as any other, or one fewer; each takes the
    smallest county of the fullest worker to the emptiest. Counties on the coordinator or on a node
    that takes no counties (drained) are moved too."""
    if not nodes:
        return []
    held: dict[Node, list[str]] = {node: [] for node in nodes}
    stray: list[str] = []
    for adcode, node in placement.items():
        if node is None:
            continue  # not distributed: `grassroots db init` distributes it first
        held.get(node, stray).append(adcode)

    def by_size(adcode: str) -> tuple[int, str]:
        return sizes.get(adcode, 0), adcode

    moves: list[Move] = []
    for adcode in sorted(stray, key=by_size):
        target = min(nodes, key=lambda node: (len(held[node]), node))
        source = placement[adcode]
        assert source is not None
        moves.append(Move(adcode, source, target))
        held[target].append(adcode)
    while True:
        fullest = max(nodes, key=lambda node: (len(held[node]), node))
        emptiest = min(nodes, key=lambda node: (len(held[node]), node))
        if len(held[fullest]) - len(held[emptiest]) <= 1:
            return moves
        adcode = min(held[fullest], key=by_size)
        held[fullest].remove(adcode)
        held[emptiest].append(adcode)
        moves.append(Move(adcode, fullest, emptiest))


def rebalance(url: str, *, dry_run: bool = False, block_writes: bool = False, progress: Progress = print) -> list[Move]:
    """Spread the counties evenly over the workers, one move at a time; answers the moves (made or planned)."""
    with connect(url) as conn:
        require_citus(conn)
        placement = county_nodes(conn)
        nodes = workers(conn)
        moves = rebalance_plan(placement, nodes, county_sizes(conn))
    counts = {node: sum(1 for n in placement.values() if n == node) for node in nodes}
    progress("counties per worker: " + ", ".join(f"{node} {count}" for node, count in counts.items()))
    if not moves:
        progress("balanced already: nothing to move")
        return moves
    progress(f"{len(moves)} {'move' if len(moves) == 1 else 'moves'} to make" + (" (dry run)" if dry_run else ""))
    for number, move in enumerate(moves, 1):
        if dry_run:
            progress(f"[{number}/{len(moves)}] would move county {move.adcode} from {move.source} to {move.target}")
            continue
        move_county(url, move.adcode, move.target, block_writes=block_writes,
                    progress=_prefixed(progress, f"[{number}/{len(moves)}] "))
    return moves


def _prefixed(progress: Progress, prefix: str) -> Progress:
    return lambda line: progress(prefix + line)
