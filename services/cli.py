"""The `grassroots` command.

Each area registers its own subcommands in `register_<area>` below; the handler modules are imported
lazily so that `grassroots --help` stays fast.
"""
from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable

Command = Callable[[argparse.Namespace], int | None]  # a subcommand's handler: its exit code (None: 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grassroots", description="Grassroots (下基层) field-visit system")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Areas add their subcommands here, one call each.
    register_db(commands)
    register_county(commands)
    register_household(commands)
    register_api(commands)
    register_projections(commands)
    register_demo(commands)
    register_backup(commands)
    return parser


def register_backup(commands: argparse._SubParsersAction) -> None:
    import importlib

    def handler(name: str):  # imported on use: keeps `grassroots --help` fast
        return lambda args: getattr(importlib.import_module("services.storage.backup"), name)(args)

    backup = commands.add_parser("backup", help="write a consistent backup of one county, or of every county")
    backup.add_argument("--county", help="6-digit adcode (default: every county and every account)")
    backup.add_argument("path", metavar="PATH", help="the backup file to write (a tar file)")
    backup.set_defaults(handler=handler("backup_command"))
    restore = commands.add_parser("restore", help="restore a backup's counties, which must not exist yet")
    restore.add_argument("path", metavar="PATH", help="a file written by `grassroots backup`")
    restore.set_defaults(handler=handler("restore_command"))


def register_household(commands: argparse._SubParsersAction) -> None:
    import importlib

    household = commands.add_parser("household", help="one household's personal data")
    actions = household.add_subparsers(dest="household_command", required=True, metavar="ACTION")
    erase = actions.add_parser("erase", help="erase a household's personal data (deletes its key; events remain)")
    erase.add_argument("adcode", help="6-digit adcode of the household's county")
    erase.add_argument("household_id", metavar="ID", help="the household's id")
    erase.add_argument("--reason", required=True, help="why (kept in the audit log), e.g. 本人申请删除")
    erase.set_defaults(handler=lambda args: importlib.import_module("services.erasure").command(args))


def register_demo(commands: argparse._SubParsersAction) -> None:
    import importlib

    demo = commands.add_parser("demo", help="provision and load the demo province (Hainan: 保亭, 琼中, 五指山), once")
    demo.add_argument("--seed", type=int, default=2026, help="the same seed always gives the same data")
    demo.add_argument("--scale", type=float, default=1.0, help="fraction of the full demo, in (0, 1]")
    demo.add_argument("--progress", action="store_true", help="show the progress bar even when not on a terminal")
    demo.set_defaults(handler=lambda args: importlib.import_module("services.demo.loader").main(args))


def register_projections(commands: argparse._SubParsersAction) -> None:
    import importlib

    def handler(module: str, name: str) -> Command:  # imported on use: keeps `grassroots --help` fast
        return lambda args: getattr(importlib.import_module(module), name)(args)

    projector = commands.add_parser("projector", help="run the projection driver alone (serve runs one too)")
    projector.add_argument("--until-stdin-closes", action="store_true",
                           help="also stop when standard input closes (serve runs its projector so)")
    projector.set_defaults(handler=handler("projections.driver", "command"))
    projections = commands.add_parser("projections", help="read-model maintenance")
    actions = projections.add_subparsers(dest="projections_command", required=True, metavar="ACTION")
    rebuild = actions.add_parser("rebuild", help="rebuild read models from the events, swapping them in")
    rebuild.add_argument("--county", help="6-digit adcode (default: every county)")
    rebuild.add_argument("--projection", help="one read model by name (default: all)")
    rebuild.set_defaults(handler=handler("projections.rebuild", "command"))


def register_api(commands: argparse._SubParsersAction) -> None:
    import importlib

    def handler(module: str, name: str) -> Command:  # imported on use: keeps `grassroots --help` fast
        return lambda args: getattr(importlib.import_module(module), name)(args)

    user = commands.add_parser("user", help="accounts and roles")
    actions = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create an account, or update it (idempotent)")
    add.add_argument("username")
    add.add_argument("--role", action="append", required=True, dest="roles", help="repeat for several roles",
                     choices=["cadre", "county_admin", "department", "province_viewer", "prefecture_viewer",
                              "operator"])
    add.add_argument("--county", help="6-digit adcode (every role but the viewers; optional for operator)")
    add.add_argument("--province", help="6-digit province code (province_viewer only), e.g. 460000")
    add.add_argument("--prefecture", help="6-digit prefecture code (prefecture_viewer only), e.g. 469000: its"
                                          " counties are those whose adcode starts with its first 4 digits")
    add.add_argument("--cadre-id", help="the cadre's id in the county (cadre role)")
    add.add_argument("--department", help="the department's name (department role), e.g. 县民政局")
    add.add_argument("--display-name")
    add.add_argument("--password", help="at least 8 characters; a random one is made and printed when omitted")
    add.set_defaults(handler=handler("services.identity.cli", "add_user"))
    serve = commands.add_parser("serve", help="serve the API, the PWA and the projector (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-projector", action="store_true", help="run no projection driver in this process")
    serve.set_defaults(handler=handler("services.api.app", "serve"))


def register_db(commands: argparse._SubParsersAction) -> None:
    import importlib

    db = commands.add_parser("db", help="prepare the database")
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    init = actions.add_parser("init", help="make the shared tables; on Citus also place them (idempotent)")
    init.set_defaults(handler=lambda args: importlib.import_module("services.storage.cli").init_db(args))


def register_county(commands: argparse._SubParsersAction) -> None:
    import importlib

    def storage_command(name: str) -> Command:  # imported on use: keeps `grassroots --help` fast
        return lambda args: getattr(importlib.import_module("services.storage.cli"), name)(args)

    county = commands.add_parser("county", help="provision, list and place counties (tenants)")
    actions = county.add_subparsers(dest="county_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="register a county and create its schema (idempotent)")
    add.add_argument("adcode", help="6-digit administrative division code, e.g. 469029")
    add.add_argument("--name", required=True, help="e.g. 保亭黎族苗族自治县")
    add.add_argument("--province", required=True, help="e.g. 海南省")
    add.add_argument("--prefecture")
    add.add_argument("--province-code", help="6-digit code of the province, e.g. 460000")
    add.add_argument("--lat", type=float, help="centroid latitude (WGS-84)")
    add.add_argument("--lon", type=float, help="centroid longitude (WGS-84)")
    add.set_defaults(handler=storage_command("add_county"))
    show = actions.add_parser("list", help="list the provisioned counties (on Citus, with each county's worker)")
    show.set_defaults(handler=storage_command("show_counties"))
    move = actions.add_parser("move", help="move a county to another Citus worker (online: citus_schema_move)")
    move.add_argument("adcode", help="6-digit adcode of the county")
    move.add_argument("--to", required=True, metavar="HOST:PORT", help="the worker, as registered (citus_add_node)")
    move.add_argument("--block-writes", action="store_true",
                      help="copy with the county's writes blocked (for nodes without wal_level = logical)")
    move.set_defaults(handler=storage_command("move_county"))
    rebalance = actions.add_parser("rebalance", help="spread the counties evenly over the Citus workers")
    rebalance.add_argument("--dry-run", action="store_true", help="show the moves without making them")
    rebalance.add_argument("--block-writes", action="store_true",
                           help="copy with each county's writes blocked (for nodes without wal_level = logical)")
    rebalance.set_defaults(handler=storage_command("rebalance_counties"))


def collect_cycles_less_often() -> None:
    """Python's cycle collector runs after every 700 net allocations by default: a projector batch or a rebuild,
    which holds thousands of decoded events and their rows alive at once, spent 27 % of its Python time
    collecting (a rebuild at 5 × the demo took 10.1 s of Python, 7.4 s with this). Every `grassroots` command
    runs with it; a young generation of 10,000 holds at most that many objects' worth of garbage cycles."""
    gc.set_threshold(10_000, 10, 10)


def main(argv: list[str] | None = None) -> int:
    collect_cycles_less_often()
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
