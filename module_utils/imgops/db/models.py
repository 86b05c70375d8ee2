"""SQLAlchemy models of the platform's tables, exactly as the server defines them.

imgops works on databases the server made. Older ones lack the albums
set-template columns, so those columns are ``deferred`` (never loaded unless
asked for) and have only server-side defaults (never sent in an INSERT
unless set); ordinary album reads and writes work on both generations.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column


class PlatformBase(DeclarativeBase):
    """Tables the server owns. imgops creates them only for demos and tests (``imgops db init``)."""


class Image(PlatformBase):
    __tablename__ = "images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    file_path: Mapped[str] = mapped_column(String(500), nullable=False)
    thumbnail_path: Mapped[str | None] = mapped_column(String(500))
    prompt: Mapped[str | None] = mapped_column(Text)
    negative_prompt: Mapped[str | None] = mapped_column(Text)
    seed: Mapped[int | None] = mapped_column(Integer)
    steps: Mapped[int | None] = mapped_column(Integer)
    guidance_scale: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    lora_config: Mapped[str | None] = mapped_column(Text)
    is_nsfw: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_public: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)


class Label(PlatformBase):
    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id"), nullable=False)
    label_text: Mapped[str] = mapped_column(Text, nullable=False)
    confidence: Mapped[float | None] = mapped_column(Float)
    label_type: Mapped[str | None] = mapped_column(String(50))
    source_model: Mapped[str | None] = mapped_column(String(100))
    source_prompt: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime | None] = mapped_column(DateTime)


SET_TEMPLATE_COLUMNS = (
    "is_set_template",
    "csv_data",
    "base_prompt",
    "prompt_template",
    "style_suffix",
    "example_theme",
    "lora_config",
)


class Album(PlatformBase):
    __tablename__ = "albums"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    album_type: Mapped[str | None] = mapped_column(String(50))
    is_public: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    is_training_source: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by: Mapped[str | None] = mapped_column(String(255))
    generation_prompt: Mapped[str | None] = mapped_column(Text)
    generation_config: Mapped[str | None] = mapped_column(Text)
    # Set-template columns: absent on older databases (see module docstring).
    is_set_template: Mapped[bool | None] = deferred(mapped_column(Boolean, server_default=false()))
    csv_data: Mapped[str | None] = deferred(mapped_column(Text))
    base_prompt: Mapped[str | None] = deferred(mapped_column(Text))
    prompt_template: Mapped[str | None] = deferred(mapped_column(Text))
    style_suffix: Mapped[str | None] = deferred(mapped_column(Text))
    example_theme: Mapped[str | None] = deferred(mapped_column(Text))
    lora_config: Mapped[str | None] = deferred(mapped_column(Text))
    created_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)


class AlbumImage(PlatformBase):
    __tablename__ = "album_images"
    __table_args__ = (UniqueConstraint("album_id", "image_id", name="uq_album_image"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    album_id: Mapped[int] = mapped_column(ForeignKey("albums.id"), nullable=False)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id"), nullable=False)
    sort_order: Mapped[int | None] = mapped_column(Integer)
    added_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime | None] = mapped_column(DateTime)


class ScrapeJob(PlatformBase):
    __tablename__ = "scrape_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    source_url: Mapped[str | None] = mapped_column(String(500))
    scrape_config: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(50))
    progress: Mapped[int | None] = mapped_column(Integer)
    images_scraped: Mapped[int | None] = mapped_column(Integer)
    output_directory: Mapped[str | None] = mapped_column(String(500))
    album_id: Mapped[int | None] = mapped_column(ForeignKey("albums.id"))
    error_message: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime | None] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)


class TrainingRun(PlatformBase):
    __tablename__ = "training_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    dataset_path: Mapped[str] = mapped_column(String(500), nullable=False)
    output_path: Mapped[str] = mapped_column(String(500), nullable=False)
    training_config: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(50))
    progress: Mapped[int | None] = mapped_column(Integer)
    final_checkpoint: Mapped[str | None] = mapped_column(String(500))
    training_loss: Mapped[float | None] = mapped_column(Float)
    validation_loss: Mapped[float | None] = mapped_column(Float)
    error_message: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime | None] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)


class MigrationHistory(PlatformBase):
    __tablename__ = "migration_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    applied_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime)
    details: Mapped[str | None] = mapped_column(Text)


TERMINAL_SCRAPE_STATUSES = ("completed", "failed", "cancelled", "cleaned_up")
TERMINAL_TRAINING_STATUSES = ("completed", "failed", "cancelled")
