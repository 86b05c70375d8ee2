"""The training purge on the server's own layout (SERVER_FACTS 5.5), with nothing configured but its config.yaml.

The scenarios of the server's own retention tests (tests/backend/test_training_retention.py):
a dry run changes nothing; a real run removes the dataset and the log and clears
dataset_path; the trained weights, checkpoints and index.json stay.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, insert, text

from imgops.config import CheckpointsSection, Config, load_config
from imgops.contracts import problems
from imgops.db import utcnow
from imgops.db.models import PlatformBase, TrainingRun
from imgops.purge import run_purge
from imgops.server_paths import training_log_path


@dataclass(frozen=True)
class ServerLayout:
    root: Path
    imgops_config: Path
    database_url: str
    data_dir: Path
    lora_dir: Path


def _tree(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def _run_files(layout: ServerLayout, run_id: int) -> None:
    dataset = layout.data_dir / f"training_run_{run_id}"
    dataset.mkdir(parents=True)
    for i in range(1, 4):
        (dataset / f"image_{i:04d}.png").write_bytes(b"\x89PNG" + bytes(200))
        (dataset / f"image_{i:04d}.txt").write_text("a caption", encoding="utf-8")
    output = layout.lora_dir / f"trained_{run_id}"
    (output / "checkpoint-500").mkdir(parents=True)
    (output / "checkpoint-500" / "pytorch_lora_weights.safetensors").write_bytes(bytes(300))
    (output / f"run_{run_id}.safetensors").write_bytes(bytes(400))
    log = Path(training_log_path(run_id, str(output), layout.lora_dir) or "")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("step 1 loss 0.3\n" * 20, encoding="utf-8")


@pytest.fixture
def server_layout(tmp_path: Path, database_url: str) -> ServerLayout:
    """The server's config.yaml (its shipped keys, under tmp_path) and imgops.yml naming only it.

    On SQLite the database is the server's default file, so imgops.yml holds
    ``platform_config`` and nothing else; PostgreSQL needs its URL too.
    """
    root = tmp_path / "host"
    server, speedy = root / "server", root / "mnt" / "speedy" / "imagineer"
    (server / "instance").mkdir(parents=True)
    server_config = {
        "model": {"cache_dir": str(speedy / "models")},
        "outputs": {"base_dir": str(speedy / "outputs"), "scraped_dir": str(root / "mnt" / "storage" / "scraped")},
        "output": {"directory": str(speedy / "outputs")},
        "training": {"checkpoint_dir": str(speedy / "checkpoints")},
        "dataset": {"data_dir": str(speedy / "data" / "training")},
    }
    (server / "config.yaml").write_text(yaml.safe_dump(server_config), encoding="utf-8")
    imgops: dict[str, str] = {"platform_config": "server/config.yaml"}
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{server / 'instance' / 'imagineer.db'}"
    else:
        imgops["database_url"] = database_url
    (root / "imgops.yml").write_text(yaml.safe_dump(imgops), encoding="utf-8")
    layout = ServerLayout(
        root, root / "imgops.yml", database_url, speedy / "data" / "training", speedy / "models" / "lora"
    )
    engine = create_engine(database_url)
    PlatformBase.metadata.create_all(engine)
    now = utcnow().replace(microsecond=0)
    with engine.begin() as conn:
        for run_id, status, age in ((1, "completed", 60), (2, "completed", 2), (3, "running", None), (4, "failed", 45)):
            output = layout.lora_dir / f"trained_{run_id}"
            conn.execute(insert(TrainingRun).values(
                id=run_id, name=f"run {run_id}", status=status, training_config="{}",
                dataset_path=str(layout.data_dir / f"training_run_{run_id}"), output_path=str(output),
                final_checkpoint=str(output / f"run_{run_id}.safetensors") if status == "completed" else None,
                created_at=now - timedelta(days=(age or 1) + 1),
                completed_at=now - timedelta(days=age) if status == "completed" else None,
                last_error_at=now - timedelta(days=age) if status == "failed" else None,
            ))  # fmt: skip
            _run_files(layout, run_id)
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('training_runs', 'id'), 10)"))
    engine.dispose()
    entry = {"filename": "run_1.safetensors", "friendly_name": "run 1", "training_run_id": 1,
             "created_at": "2026-01-01T00:00:00Z", "source": "training", "default_weight": 0.6}  # fmt: skip
    organized = {"filename": "style.safetensors", "folder": "my_style", "compatible": True, "format": "sd15",
                 "has_preview": False, "has_config": True, "organized_at": "2026-01-02T10:00:00"}  # fmt: skip
    run_2 = {**entry, "filename": "run_2.safetensors", "training_run_id": 2, "created_at": "2026-02-01T00:00:00Z"}
    index = {"trained_1": entry, "my_style": organized, "trained_2": run_2}  # not sorted: the order must stay
    (layout.lora_dir / "index.json").write_text(json.dumps(index, indent=2), encoding="utf-8")
    return layout


def _config(layout: ServerLayout) -> Config:
    return load_config(layout.imgops_config, environ={})


def _column(layout: ServerLayout, column: str) -> dict[int, object]:
    engine = create_engine(layout.database_url)
    with engine.connect() as conn:
        found = dict(conn.execute(text(f"SELECT id, {column} FROM training_runs ORDER BY id")).all())
    engine.dispose()
    return found


def test_the_lora_root_defaults_from_the_servers_model_cache_dir(server_layout: ServerLayout) -> None:
    config = _config(server_layout)
    assert config.path("lora_dir") == server_layout.lora_dir
    assert config.path("training_dataset_dir") == server_layout.data_dir


def test_a_dry_run_changes_nothing(server_layout: ServerLayout) -> None:
    before = _tree(server_layout.root / "mnt")
    paths = _column(server_layout, "dataset_path")
    planned = run_purge(_config(server_layout), "training", dry_run=True)
    assert problems(planned.to_dict(), "purge_result") == []
    removes = {a.target: a.detail["what"] for a in planned.actions if a.kind == "remove"}
    lora, data = server_layout.lora_dir, server_layout.data_dir
    assert removes == {
        str(data / "training_run_1"): "training_dataset", str(lora / "logs" / "training_1.log"): "training_log",
        str(data / "training_run_4"): "training_dataset", str(lora / "logs" / "training_4.log"): "training_log",
    }  # fmt: skip
    assert planned.notices == [] and planned.summary["refused"] == 0
    assert _tree(server_layout.root / "mnt") == before
    assert _column(server_layout, "dataset_path") == paths


def test_a_real_run_removes_dataset_and_log_clears_dataset_path_and_keeps_the_weights(
    server_layout: ServerLayout,
) -> None:
    lora, data = server_layout.lora_dir, server_layout.data_dir
    weights = {name: _tree(lora / name) for name in ("trained_1", "trained_2", "trained_4")}
    index = (lora / "index.json").read_bytes()
    done = run_purge(_config(server_layout), "training")
    assert problems(done.to_dict(), "purge_result") == [] and done.errors == [] and done.notices == []
    assert sorted(os.listdir(data)) == ["training_run_2", "training_run_3"]
    assert sorted(os.listdir(lora / "logs")) == ["training_2.log", "training_3.log"]
    assert {name: _tree(lora / name) for name in weights} == weights  # checkpoints and weights stay
    assert (lora / "index.json").read_bytes() == index
    datasets = _column(server_layout, "dataset_path")
    assert datasets[1] == "" and datasets[4] == "" and datasets[2].endswith("training_run_2")
    assert _column(server_layout, "final_checkpoint")[1] == str(lora / "trained_1" / "run_1.safetensors")
    assert run_purge(_config(server_layout), "training").changed is False


def test_a_refused_log_never_keeps_the_dataset(server_layout: ServerLayout) -> None:
    lora = server_layout.lora_dir
    elsewhere = server_layout.root / "elsewhere.log"
    elsewhere.write_text("not the purge's", encoding="utf-8")
    (lora / "logs" / "training_1.log").unlink()
    (lora / "logs" / "training_1.log").symlink_to(elsewhere)
    done = run_purge(_config(server_layout), "training")
    refused = [(n["row"], n["what"], n["reason"]) for n in done.notices]
    assert refused == [("training_runs/1", "training_log", "symlink")]
    assert done.summary["refused_by_reason"]["symlink"] == 1
    assert not (server_layout.data_dir / "training_run_1").exists()
    assert _column(server_layout, "dataset_path")[1] == ""
    assert (lora / "logs" / "training_1.log").is_symlink() and elsewhere.read_text(
        encoding="utf-8"
    ) == "not the purge's"


def test_a_run_without_output_path_has_its_log_in_the_lora_logs_folder(server_layout: ServerLayout) -> None:
    """The server's fallback: output_path '' puts the log at <model.cache_dir>/lora/logs/training_<id>.log."""
    engine = create_engine(server_layout.database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE training_runs SET output_path = '' WHERE id = 4"))
    engine.dispose()
    done = run_purge(_config(server_layout), "training")
    assert str(server_layout.lora_dir / "logs" / "training_4.log") in {a.target for a in done.actions}
    assert not (server_layout.lora_dir / "logs" / "training_4.log").exists()


def test_nested_weights_go_with_their_folder_and_are_counted_once(server_layout: ServerLayout) -> None:
    """With purge_checkpoints, final_checkpoint inside output_path goes with the folder: no 'swapped', one count."""
    lora = server_layout.lora_dir
    planned = run_purge(_config(server_layout), "training", purge_checkpoints=True, dry_run=True)
    weights = {a.target: a.detail for a in planned.actions if a.kind == "remove" and a.detail["what"] == "checkpoint"}
    assert sorted(weights) == [str(lora / "trained_1"), str(lora / "trained_4")]  # run 4 failed: no final_checkpoint
    assert weights[str(lora / "trained_1")]["files"] == len(_tree(lora / "trained_1")) + 1
    index = (lora / "index.json").read_bytes()
    assert [(a.target, a.detail["removed"]) for a in planned.actions if a.kind == "update_index"] == [
        (str(lora / "index.json"), ["trained_1"])
    ]
    assert (lora / "index.json").read_bytes() == index  # a dry run writes nothing
    done = run_purge(_config(server_layout), "training", purge_checkpoints=True)
    assert done.notices == [] and done.errors == [] and not (lora / "trained_1").exists()
    assert _column(server_layout, "final_checkpoint")[1] == "" and _column(server_layout, "output_path")[1] == ""
    assert _column(server_layout, "output_path")[4] == ""  # failed run: its folder went, no final_checkpoint
    assert (lora / "trained_2" / "run_2.safetensors").exists()
    text = (lora / "index.json").read_text(encoding="utf-8")
    written = json.loads(text)
    assert list(written) == ["my_style", "trained_2"]  # the other entries, in their order
    assert written["my_style"]["organized_at"] == "2026-01-02T10:00:00"
    assert written["trained_2"]["organized_at"] == "2026-02-01T00:00:00Z"  # the server's API sorts on it
    assert text == json.dumps(written, indent=2)
    assert problems(done.to_dict(), "purge_result") == []
    assert run_purge(_config(server_layout), "training", purge_checkpoints=True).changed is False


def _checkpoints(config: Config, keep_last: int) -> Config:
    retention = CheckpointsSection(enabled=True, keep_last=keep_last)
    return replace(config, purge=replace(config.purge, checkpoints=retention))


def test_checkpoint_retention_keeps_the_newest_steps_and_the_final_weights(server_layout: ServerLayout) -> None:
    lora = server_layout.lora_dir
    run_1 = lora / "trained_1"
    for step in (250, 1000, 1500):  # numeric order, not the names' (checkpoint-250 sorts after checkpoint-1500)
        (run_1 / f"checkpoint-{step}").mkdir()
        (run_1 / f"checkpoint-{step}" / "optimizer.bin").write_bytes(bytes(1000))
    (run_1 / "checkpoint-notes.txt").write_text("not a step checkpoint", encoding="utf-8")
    integrated = lora / "run_1_1.safetensors"  # POST /api/training/loras/1/integrate copied it here
    integrated.write_bytes(bytes(400))
    index = (lora / "index.json").read_bytes()
    before = {"final_checkpoint": _column(server_layout, "final_checkpoint"),
              "output_path": _column(server_layout, "output_path")}  # fmt: skip
    config = _checkpoints(_config(server_layout), 1)
    planned = run_purge(config, "training", dry_run=True)
    steps = {a.target: a.detail for a in planned.actions if a.kind == "remove" and a.detail["what"] == "checkpoint"}
    assert sorted(steps) == sorted(str(run_1 / f"checkpoint-{n}") for n in (250, 500, 1000))
    assert all(d["files"] == 2 for d in steps.values())  # each folder and its file, counted once
    assert (run_1 / "checkpoint-250").exists()
    done = run_purge(config, "training")
    assert problems(done.to_dict(), "purge_result") == [] and done.errors == [] and done.notices == []
    assert sorted(os.listdir(run_1)) == ["checkpoint-1500", "checkpoint-notes.txt", "run_1.safetensors"]
    assert integrated.exists() and (lora / "trained_2" / "checkpoint-500").exists()  # run 2 is recent
    assert (lora / "trained_4" / "checkpoint-500").exists()  # its only step checkpoint: the newest
    assert {"final_checkpoint": _column(server_layout, "final_checkpoint"),
            "output_path": _column(server_layout, "output_path")} == before  # fmt: skip
    assert (lora / "index.json").read_bytes() == index


def test_a_step_checkpoint_holding_the_final_weights_stays_with_keep_last_zero(server_layout: ServerLayout) -> None:
    lora = server_layout.lora_dir
    final = lora / "trained_4" / "checkpoint-500" / "pytorch_lora_weights.safetensors"
    (lora / "trained_4" / "checkpoint-900").mkdir()
    engine = create_engine(server_layout.database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE training_runs SET final_checkpoint = :f WHERE id = 4"), {"f": str(final)})
    engine.dispose()
    done = run_purge(_checkpoints(_config(server_layout), 0), "training")
    assert done.errors == [] and done.notices == []
    assert sorted(os.listdir(lora / "trained_4")) == ["checkpoint-500", "run_4.safetensors"]
    assert sorted(os.listdir(lora / "trained_1")) == ["run_1.safetensors"]


@pytest.mark.parametrize("hostile", ["list", "symlink"])
def test_a_hostile_index_is_left_alone_and_reported(server_layout: ServerLayout, hostile: str) -> None:
    lora = server_layout.lora_dir
    index = lora / "index.json"
    if hostile == "list":
        index.write_text('["trained_1"]', encoding="utf-8")
    else:
        elsewhere = server_layout.root / "elsewhere.json"
        elsewhere.write_text(index.read_text(encoding="utf-8"), encoding="utf-8")
        index.unlink()
        index.symlink_to(elsewhere)
    before = Path(os.path.realpath(index)).read_bytes()
    done = run_purge(_config(server_layout), "training", purge_checkpoints=True)
    assert done.failed and [e["path"] for e in done.errors] == [str(index)]
    assert str(index) in done.errors[0]["message"] and "Traceback" not in done.errors[0]["message"]
    assert Path(os.path.realpath(index)).read_bytes() == before and index.is_symlink() == (hostile == "symlink")
    assert not (lora / "trained_1").exists()  # the folders went before the index was read
