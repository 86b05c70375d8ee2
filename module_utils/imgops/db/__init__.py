"""Database access: platform models, engines, imgops-owned tables and their migrations."""

from .engine import check_connection, connected_engine, make_engine, redact_url, transaction, utcnow

__all__ = ["check_connection", "connected_engine", "make_engine", "redact_url", "transaction", "utcnow"]
