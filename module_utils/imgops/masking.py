"""Credentials never leave imgops: every database URL is shown masked, and every message masked again.

A URL carries secrets in its user-info (``user:pass@``) and in query parameters (``?password=``,
``sslpassword=``, tokens); a driver's error text may quote the connection string it was given. So:
``redact_url`` masks each of them in a URL shown on purpose; ``remember_url`` records the secrets of
every URL imgops connects with; ``mask`` replaces those known secrets, and anything shaped like a
credential (``://user:pass@``, ``password=...``), in any text (messages, results, log lines).
Parsing is by hand and never fails, so a malformed URL (a bad port) is masked all the same.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, unquote_plus

MASK = "***"
MIN_KNOWN_SECRET = 4
"""Known secrets shorter than this are masked only where they are shaped like a credential (replacing
every ``a`` of a one-letter password would garble every message)."""

_SECRET_KEY = r"[A-Za-z_]*(?:password|passwd|passphrase|secret[A-Za-z_]*|token|credentials?|api_?key)"
_SECRET_PARAM = re.compile(_SECRET_KEY, re.IGNORECASE)
# ``key=value`` in a query string or a libpq conninfo string (a value may be single-quoted there);
# a value masked already is left alone.
_KEY_VALUE = re.compile(rf"(?i)(\b{_SECRET_KEY}\s*=\s*)(?!\*\*\*)('(?:[^'\\]|\\.)*'|[^\s&;,'\"]+)")
# ``scheme://user:password@``: everything between the first ``:`` of the user-info and the last ``@``.
_USERINFO = re.compile(r"(://[^/?#@:\s]*:)([^\s/?#]*)(@)")

_known: set[str] = set()
_lock = threading.Lock()


def is_secret_parameter(name: str) -> bool:
    """Whether a URL query parameter carries a credential (``password``, ``sslpassword``, a token)."""
    return _SECRET_PARAM.fullmatch(name) is not None


def _split(url: str) -> tuple[str, str, str, str]:
    """``scheme://``, the user-info, the rest of the authority and path, and the query (no port parsing)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    rest, _, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    head = f"{scheme}{sep}"
    return head, userinfo if at else "", (host if at else authority) + slash + path, query


def url_secrets(url: str) -> set[str]:
    """Every credential ``url`` carries, as written and decoded."""
    _, userinfo, _, query = _split(url)
    found = set()
    if ":" in userinfo:
        found.add(userinfo.partition(":")[2])
    for part in query.split("&"):
        key, eq, value = part.partition("=")
        if eq and is_secret_parameter(unquote_plus(key)) and value:
            found.add(value)
    found |= {unquote(s) for s in found} | {unquote_plus(s) for s in found}
    found |= {quote(s, safe="") for s in found} | {quote_plus(s) for s in found}
    return {s for s in found if s}


def redact_url(url: str) -> str:
    """``url`` as people may see it: the user-info password and every secret query parameter masked."""
    head, userinfo, rest, query = _split(url)
    if ":" in userinfo:
        userinfo = userinfo.partition(":")[0] + ":" + MASK
    shown = head + (f"{userinfo}@" if userinfo else "") + rest
    if query:
        params = [
            f"{key}={MASK}" if is_secret_parameter(key) else f"{key}={value}"
            for key, value in parse_qsl(query, keep_blank_values=True)
        ]
        shown += "?" + "&".join(params)
    return mask(shown)


def remember_url(url: str) -> None:
    """Record ``url``'s secrets so that ``mask`` hides them wherever they turn up (a driver's error)."""
    with _lock:
        _known.update(url_secrets(url))


def mask(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with known secrets (and ``secrets``) and anything shaped like a credential masked."""
    with _lock:
        known = _known | set(secrets)
    for secret in sorted((s for s in known if len(s) >= MIN_KNOWN_SECRET), key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _USERINFO.sub(lambda m: m.group(1) + MASK + m.group(3) if m.group(2) != MASK else m.group(0), text)
    return _KEY_VALUE.sub(lambda m: m.group(1) + MASK, text)


def mask_known(data: Any) -> Any:
    """``data`` (JSON-like) with every known secret masked in each string, keys included."""
    with _lock:
        known = sorted((s for s in _known if len(s) >= MIN_KNOWN_SECRET), key=len, reverse=True)
    if not known:
        return data

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            for secret in known:
                node = node.replace(secret, MASK)
            return node
        if isinstance(node, dict):
            return {walk(key): walk(value) for key, value in node.items()}
        if isinstance(node, list | tuple):
            return [walk(value) for value in node]
        return node

    return walk(data)
