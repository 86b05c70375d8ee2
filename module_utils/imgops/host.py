"""Which host this is, as the platform's rows name it: imports and thumbnail jobs are keyed by it.

Shared by the jobs that write or work host-keyed rows (``legacy`` queues thumbnails for its host,
``thumbnails`` works only its own host's jobs), so neither owns it.
"""

from __future__ import annotations

import socket

from .config import Config


def host_name(config: Config) -> str:
    """The name this host's imports and thumbnail jobs go by: ``legacy.host``, else the host name."""
    return config.legacy.host or socket.gethostname()
