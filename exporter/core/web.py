"""What the HTTP senders (webhooks, health-check pings) share: no redirects, and errors told without the URL."""

from __future__ import annotations

import urllib.request


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a hop: the 3xx reaches the sender as an error (a webhook or ping URL holds a
    token, and a redirect could carry it to another host or scheme)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def error_text(value: object) -> str:
    """Why a request failed, in words that never quote the URL: an OS error's own text, else the error's kind."""
    if isinstance(value, TimeoutError):
        return "timed out"
    if isinstance(value, OSError) and value.strerror:
        return value.strerror
    return type(value).__name__ if isinstance(value, BaseException) else str(value)
