"""Identity: accounts, roles, sessions and login throttling, in schema `core`."""
from .accounts import end_departed_accounts
from .sessions import SESSION_DAYS, LoginResult, Session, login, logout, purge, resolve
from .tables import ensure_tables, ensure_tables_async
from .users import ROLES, InvalidUser, User, ensure_user

__all__ = ["ROLES", "SESSION_DAYS", "InvalidUser", "LoginResult", "Session", "User", "end_departed_accounts",
           "ensure_tables", "ensure_tables_async", "ensure_user", "login", "logout", "purge", "resolve"]
