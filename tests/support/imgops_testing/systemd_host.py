"""Real systemd hosts for role tests: a cached Debian bookworm root booted with systemd-nspawn.

    python -m imgops_testing.systemd_host up NAME --workdir DIR    boot NAME, print {"instance", "address",
                                                                   "port", "user", "identity_file"}
    python -m imgops_testing.systemd_host down NAME --workdir DIR  power NAME off and delete its root

The bookworm root is made once by debootstrap and cached under ``$XDG_CACHE_HOME/imgops`` (or
``~/.cache/imgops``); each host boots a copy of it. The container shares the machine's network, so
its sshd listens on a free port of 127.0.0.1 and Ansible reaches it with a key made for the run.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PACKAGES = "systemd,systemd-sysv,dbus,python3,python3-venv,openssh-server,iproute2,ca-certificates"
BOOT_TIMEOUT = 90


def cache_root() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "imgops" / "bookworm-root"


def ensure_root() -> Path:
    """The cached bookworm root, made by debootstrap the first time (under a lock: scenarios may race)."""
    root = cache_root()
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "usr" / "bin" / "python3").exists():
            partial = root.with_name(root.name + ".tmp")
            shutil.rmtree(partial, ignore_errors=True)
            subprocess.run(["debootstrap", "--variant=minbase", f"--include={PACKAGES}", "bookworm", str(partial)],
                           check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            shutil.rmtree(root, ignore_errors=True)
            partial.rename(root)
    return root


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ssh_argv(key: Path, port: int, *command: str) -> list[str]:
    return ["ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "ConnectTimeout=3", "-i", str(key), "-p", str(port), "root@127.0.0.1", *command]  # fmt: skip


def up(name: str, workdir: Path) -> dict[str, object]:
    base = workdir / name
    down(name, workdir)
    base.mkdir(parents=True)
    key = workdir / "id_ed25519"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    root = base / "root"
    subprocess.run(["cp", "-a", "--reflink=auto", str(ensure_root()), str(root)], check=True)
    port = free_port()
    (root / "root" / ".ssh").mkdir(mode=0o700, exist_ok=True)
    shutil.copy(key.with_suffix(".pub"), root / "root" / ".ssh" / "authorized_keys")
    (root / "etc" / "ssh" / "sshd_config.d" / "imgops-test.conf").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nPermitRootLogin prohibit-password\n", encoding="utf-8"
    )
    (root / "etc" / "hostname").write_text(f"{name}\n", encoding="utf-8")
    log = open(base / "console.log", "wb")  # noqa: SIM115 - the container outlives this function
    process = subprocess.Popen(
        ["systemd-nspawn", "--boot", f"--directory={root}", f"--machine={name}", "--register=no", "--keep-unit",
         "--console=passive"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    (base / "pid").write_text(str(process.pid), encoding="utf-8")
    deadline = time.monotonic() + BOOT_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name}: systemd-nspawn exited {process.returncode}; see {base / 'console.log'}")
        ready = subprocess.run(ssh_argv(key, port, "systemctl", "is-system-running", "--wait"),
                               capture_output=True, text=True, check=False)  # fmt: skip
        if ready.stdout.strip() in ("running", "degraded"):
            return {"instance": name, "address": "127.0.0.1", "port": port, "user": "root",
                    "identity_file": str(key)}  # fmt: skip
        time.sleep(1)
    down(name, workdir)
    raise SystemExit(f"{name}: not reachable over SSH within {BOOT_TIMEOUT}s")


def down(name: str, workdir: Path) -> None:
    base = workdir / name
    pid_file = base / "pid"
    if pid_file.exists():
        pid = int(pid_file.read_text(encoding="utf-8"))
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):  # SIGTERM: nspawn powers the host off
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.2)
    shutil.rmtree(base, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("up", "down"))
    parser.add_argument("name")
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    if args.action == "up":
        print(json.dumps(up(args.name, args.workdir)))
    else:
        down(args.name, args.workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
