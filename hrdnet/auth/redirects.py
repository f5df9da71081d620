"""Where to go after login: a `next` value is read the way a browser would read it, then rebuilt.

Browsers remove ASCII tab, LF and CR anywhere in a URL, trim leading and trailing C0 controls and spaces,
and treat `\\` like `/` in http(s) URLs. So `/\\t/evil.example` is `//evil.example` to a browser: another
host. Checking the raw string is therefore not enough; we clean the value exactly as a browser would,
parse it, and redirect to a path rebuilt from the parsed parts, so what is redirected to is what was checked.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

_REMOVED_ANYWHERE = re.compile(r"[\t\n\r]")
_TRIMMED = "".join(chr(c) for c in range(0x21))  # C0 controls and space
# Characters that may stay as they are in a path or query; everything else is percent-encoded, so the
# Location header is plain ASCII with no control characters (a raw LF there was a 500 after login).
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


def as_browser_reads(value: str) -> str:
    """The URL a browser would actually use for `value` (WHATWG URL parser's pre-processing)."""
    return _REMOVED_ANYWHERE.sub("", value).strip(_TRIMMED).replace("\\", "/")


def local_path(value: str | None) -> str | None:
    """`value` as a same-site path (with its query), or None when it could lead anywhere else."""
    if not value:
        return None
    cleaned = as_browser_reads(value)
    if not cleaned.startswith("/") or cleaned.startswith("//"):
        return None  # relative, scheme-relative (another host) or with a scheme (javascript:, https:)
    try:
        parts = urlsplit(cleaned)
    except ValueError:  # e.g. an unbalanced "[" that urlsplit takes for an IPv6 host
        return None
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    path = quote(parts.path, safe=_PATH_SAFE)
    return path + ("?" + quote(parts.query, safe=_QUERY_SAFE) if parts.query else "")
