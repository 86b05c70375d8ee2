"""Database access: platform models, engines, imgops-owned tables and their migrations."""

from .engine import check_connection, make_engine, redact_url, transaction, utcnow

__all__ = ["check_connection", "make_engine", "redact_url", "transaction", "utcnow"]
