"""Seed the test host's platform: tables, one stale and one fresh completed scrape job with their folders."""

import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from imgops.db.models import PlatformBase, ScrapeJob

root = Path("/srv/imagineer")
(root / "instance").mkdir(parents=True, exist_ok=True)
engine = create_engine(f"sqlite:///{root / 'instance' / 'imagineer.db'}")
PlatformBase.metadata.drop_all(engine)
PlatformBase.metadata.create_all(engine)
now = datetime.utcnow()
with Session(engine) as session, session.begin():
    for job_id, age in ((1, 90), (2, 2)):
        folder = root / "scraped" / f"job_{job_id}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        (folder / "image.jpg").write_bytes(b"x" * 4096)
        session.add(
            ScrapeJob(
                id=job_id,
                name=f"job {job_id}",
                status="completed",
                output_directory=str(folder),
                created_at=now - timedelta(days=age + 1),
                completed_at=now - timedelta(days=age),
            )
        )
for path in [root, *root.rglob("*")]:
    shutil.chown(path, "imgops", "imgops")
os.chmod(root, 0o750)
