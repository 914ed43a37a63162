"""Is a URL's path below a FHIR base path? Compared as the server will read it.

httpx removes literal dot segments (`/ok/../admin` becomes `/admin`) but keeps encoded
ones (`/ok/%2e%2e/admin`, `/ok/..%2fadmin`), which a plain prefix test on the path
accepts and many servers then resolve above the base. So a path is refused outright
when it holds an encoded dot, slash or backslash, a backslash, or a dot segment left
after normalisation (also as `..;param`, which Tomcat-style servers read as `..`);
otherwise it is below the base when its segments start with the base's segments.
The same test covers the allowlist, the first request, redirects and `next` links.
"""

from __future__ import annotations

import httpx

__all__ = ["is_under", "path_refusal"]

_ENCODED = ("%2e", "%2f", "%5c")
_DOTS = (".", "..")


def path_refusal(url: httpx.URL) -> str | None:
    """Why `url`'s path cannot be compared safely, or None when it can."""
    raw = url.raw_path.split(b"?", 1)[0].decode("ascii", "replace").lower()
    if any(code in raw for code in _ENCODED) or "\\" in raw:
        return "encoded dot or slash in path"
    if any(segment.split(";", 1)[0] in _DOTS for segment in url.path.split("/")):
        return "dot segment in path"
    return None


def is_under(url: httpx.URL, base: httpx.URL) -> bool:
    """True when `url`'s path is `base`'s path or below it (origins are checked apart)."""
    if path_refusal(url) is not None or path_refusal(base) is not None:
        return False
    path, prefix = url.path.rstrip("/"), base.path.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")
