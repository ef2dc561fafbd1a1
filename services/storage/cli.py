"""Handlers of `grassroots db init` and `grassroots county add|list|move|rebalance` (the parser lives in
services/cli.py)."""
from __future__ import annotations

import argparse
import sys

from .database import database_url
from .citus import REFERENCE_TABLES, is_citus
from .database import connect
from .moves import MoveRefused, NotCitus, county_nodes, move_county as move, parse_node, rebalance
from .names import InvalidAdcode
from .schemas import init_database, list_counties, provision_county


def init_db(args: argparse.Namespace) -> int:
    if init_database(database_url()):
        print(f"database ready on Citus: reference tables {', '.join(REFERENCE_TABLES)}; the rest of core and"
              " rollup on the coordinator; each county added becomes a distributed schema")
    else:
        print("database ready (PostgreSQL)")
    return 0


def add_county(args: argparse.Namespace) -> int:
    if (args.lat is None) != (args.lon is None):
        print("error: give both --lat and --lon (the county's centroid), or neither", file=sys.stderr)
        return 2
    centroid = (args.lat, args.lon) if args.lat is not None else None
    try:
        county = provision_county(
            database_url(), args.adcode, args.name, args.province, prefecture=args.prefecture,
            province_code=args.province_code, centroid=centroid,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"county {county.adcode} {county.name} ({county.province}) ready in schema {county.schema}")
    return 0


def show_counties(args: argparse.Namespace) -> int:
    url = database_url()
    counties = list_counties(url)
    if not counties:
        print("no counties yet: add one with `grassroots county add ADCODE --name … --province …`")
        return 0
    with connect(url) as conn:
        nodes = county_nodes(conn) if is_citus(conn) else None
    for county in counties:
        where = " / ".join(part for part in (county.province, county.prefecture) if part)
        centroid = f"  ({county.centroid[0]:.2f}, {county.centroid[1]:.2f})" if county.centroid else ""
        node = ""
        if nodes is not None:
            placed = nodes.get(county.adcode)
            node = f"  on {placed}" if placed else "  on the coordinator (not distributed: run `grassroots db init`)"
        print(f"{county.adcode}  {county.name}  {where}{centroid}{node}")
    return 0


def move_county(args: argparse.Namespace) -> int:
    try:
        move(database_url(), args.adcode, parse_node(args.to), block_writes=args.block_writes,
             progress=lambda line: print(line, flush=True))
    except (MoveRefused, NotCitus, InvalidAdcode) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def rebalance_counties(args: argparse.Namespace) -> int:
    try:
        rebalance(database_url(), dry_run=args.dry_run, block_writes=args.block_writes,
                  progress=lambda line: print(line, flush=True))
    except (MoveRefused, NotCitus) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
