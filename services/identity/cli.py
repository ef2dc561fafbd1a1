"""`grassroots user add`: make or update an account from the command line (arguments: services/cli.py)."""
from __future__ import annotations

import argparse
import secrets
import sys

from services.storage.database import connect, database_url
from services.storage.schemas import ensure_core

from .users import InvalidUser, ensure_user


def add_user(args: argparse.Namespace) -> int:
    password = args.password or secrets.token_urlsafe(9)
    url = database_url()
    ensure_core(url)
    try:
        with connect(url) as conn:
            user = ensure_user(conn, args.username, roles=args.roles, password=password,
                               display_name=args.display_name, county=args.county, province=args.province,
                               cadre_id=args.cadre_id, department=args.department,
                               prefecture=getattr(args, "prefecture", None))
    except (InvalidUser, ValueError) as error:
        print(f"grassroots user add: {error}", file=sys.stderr)
        return 2
    place = (f"county {user.county}" if user.county else f"prefecture {user.prefecture}" if user.prefecture
             else f"province {user.province}" if user.province else "no county")
    print(f"user {user.username} ({', '.join(user.roles)}; {place})")
    if not args.password:
        print(f"password: {password}")
    return 0
