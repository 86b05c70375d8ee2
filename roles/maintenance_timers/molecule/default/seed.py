"""Seed the test host's platform from its config.yaml: tables, an aged and a fresh scrape job with folders, an image.

The roots are the server's (``/srv/imagineer/config.yaml``, written by the scenario's prepare step).
"""

import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from PIL import Image
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from imgops.db.models import PlatformBase, ScrapeJob

root = Path("/srv/imagineer")
server = yaml.safe_load((root / "config.yaml").read_text(encoding="utf-8"))
scraped = Path(server["outputs"]["scraped_dir"])
outputs = Path(server["outputs"]["base_dir"])
(root / "instance").mkdir(parents=True, exist_ok=True)
engine = create_engine(f"sqlite:///{root / 'instance' / 'imagineer.db'}")
PlatformBase.metadata.drop_all(engine)
PlatformBase.metadata.create_all(engine)
now = datetime.utcnow()
with Session(engine) as session, session.begin():
    for job_id, age in ((1, 90), (2, 2)):
        folder = scraped / f"job_{job_id}"
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
outputs.mkdir(parents=True, exist_ok=True)
Image.new("RGB", (640, 480), (200, 40, 40)).save(outputs / "20240101_120000_a_red_card.png")
for path in [root, *root.rglob("*")]:
    shutil.chown(path, "imgops", "imgops")
os.chmod(root, 0o750)
