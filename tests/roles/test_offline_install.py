"""The host runtime installs from the controller's wheelhouse alone: locked, hashed, no package index.

The commands are those of ``roles/imgops_runtime/tasks/install.yml``: the controller builds the imgops
wheel and downloads the locked wheels (the only step that reaches the index); the host installs with
``--no-index --require-hashes`` into a fresh virtual environment.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "roles" / "imgops_runtime" / "files" / "requirements.lock"


def pins(text: str) -> dict[str, str]:
    """name -> version of every ``name==version`` line of a lock file or ``pip freeze``."""
    return {
        re.sub(r"[-_.]+", "-", name).lower(): version
        for name, version in re.findall(r"^([A-Za-z0-9][\w.-]*)==([^\s;\\]+)", text, re.M)
    }


def run(*argv: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def test_the_lock_pins_every_runtime_dependency_within_its_range_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    locked = pins(LOCK.read_text(encoding="utf-8"))
    for spec in project["project"]["dependencies"]:
        requirement = Requirement(spec)
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in locked, f"{name} is not in {LOCK.name}: run make lock"
        assert requirement.specifier.contains(locked[name]), f"{name}=={locked[name]} is outside {spec}: run make lock"
    blocks = re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text(encoding="utf-8").split("\n", 2)[2])
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)
    core_uses_psutil = any(
        "import psutil" in p.read_text(encoding="utf-8") for p in (ROOT / "module_utils").rglob("*.py")
    )
    assert ("psutil" in locked) == core_uses_psutil  # locked exactly when the core uses it (the purge's busy check)
    build = project["build-system"]["requires"]
    assert any(Requirement(r).name == "setuptools" and Requirement(r).specifier.contains("77") for r in build)


@pytest.mark.ansible
def test_a_fresh_environment_installs_from_the_wheelhouse_with_no_index(tmp_path: Path) -> None:
    house = tmp_path / "wheelhouse"
    env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}
    run(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--require-hashes",
        "--dest", house, "--requirement", LOCK)  # fmt: skip
    digests = []
    for attempt in ("first", "second"):  # the same checkout is the same wheel: the release id is stable
        out = tmp_path / attempt
        run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", out, ROOT, env=env)
        (wheel,) = out.glob("imgops-*.whl")
        digests.append(hashlib.sha256(wheel.read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    (house / wheel.name).write_bytes(wheel.read_bytes())

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    pip = venv / "bin" / "pip"
    # As on a host: no index, no configured links, nothing of this checkout on the path.
    offline = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "PYTHONPATH"))}
    offline.update(PIP_NO_INDEX="1", PIP_CONFIG_FILE=os.devnull)
    run(pip, "install", "--quiet", "--no-index", "--find-links", house, "--require-hashes", "--requirement", LOCK,
        env=offline)  # fmt: skip
    run(pip, "install", "--quiet", "--no-index", "--no-deps", house / wheel.name, env=offline)

    assert run(venv / "bin" / "imgops", "--version", env=offline).stdout.strip().endswith(wheel.name.split("-")[1])
    installed = pins(run(pip, "freeze", "--all", env=offline).stdout)
    locked = pins(LOCK.read_text(encoding="utf-8"))
    assert {name: installed.get(name) for name in locked} == locked
    assert set(installed) - set(locked) <= {"imgops", "pip", "setuptools", "wheel"}
