"""Stage 2: rows that point at images or albums no longer there (album links, labels, imgops' queue)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import Connection, Table, select

from .findings import Finding, IdSet
from .scan_images import max_id, stream


@dataclass
class LinkScan:
    dangling_album_image_ids: IdSet = field(default_factory=IdSet)
    dangling_label_ids: IdSet = field(default_factory=IdSet)


def album_ids(connection: Connection, albums: Table) -> IdSet:
    present = IdSet(max_id(connection, albums))
    for (album_id,) in stream(connection, select(albums.c.id)):
        present.add(album_id)
    return present


def scan_links(
    connection: Connection,
    album_images: Table,
    labels: Table,
    images_present: IdSet,
    albums_present: IdSet,
    found: dict[str, Finding],
) -> LinkScan:
    """``album_images`` rows whose image or album is gone, ``labels`` rows whose image is gone."""
    scan = LinkScan()
    statement = select(album_images.c.id, album_images.c.album_id, album_images.c.image_id)
    for link_id, album_id, image_id in stream(connection, statement):
        if image_id not in images_present or album_id not in albums_present:
            scan.dangling_album_image_ids.add(link_id)
            found["dangling_album_images"].add(id=link_id, album_id=album_id, image_id=image_id)
    for label_id, image_id in stream(connection, select(labels.c.id, labels.c.image_id)):
        if image_id not in images_present:
            scan.dangling_label_ids.add(label_id)
            found["dangling_labels"].add(id=label_id, image_id=image_id)
    return scan


def scan_queue(
    connection: Connection, queue: Table, gone: IdSet | None, present: IdSet, found: dict[str, Finding]
) -> None:
    """imgops' own thumbnail jobs for images that vanished (reported; the thumbnails job fails them)."""
    statement = select(queue.c.id, queue.c.status, queue.c.payload).where(queue.c.kind == "thumbnail")
    for job_id, status, payload in stream(connection, statement):
        try:
            image_id = int(json.loads(payload)["image_id"])
        except (ValueError, KeyError, TypeError):
            continue
        if image_id not in present or (gone is not None and image_id in gone):
            found["queue_rows_for_vanished_images"].add(id=job_id, image_id=image_id, status=status)
