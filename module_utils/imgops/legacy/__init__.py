"""Legacy media import: collect -> manifest -> stage -> albums -> ingest (thumbnails are queued)."""

from .job import run_legacy_import

__all__ = ["run_legacy_import"]
