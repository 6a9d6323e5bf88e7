"""Where a reader finds a set online: `EXPORTER_PUBLIC_URL`, the address the output folder is served at.

    EXPORTER_PUBLIC_URL=https://reports.example.com/sales/

gives each message a link to the set's folder (`…/sales/<set-id>/`) and to the index page
(`…/sales/index.html`). Set ids are validated ids, so a link holds nothing from the data but them.
Without the variable, messages carry no links.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from ..core.errors import UsageError
from ..core.ids import SetId
from ..core.workspace import INDEX_NAME

PUBLIC_URL = "EXPORTER_PUBLIC_URL"


@dataclass(frozen=True)
class Links:
    folder: str  # the set's folder
    index: str  # the index page of every set


def links_for(set_id: SetId, env: Mapping[str, str]) -> Links | None:
    """The set's links, or None when no public URL is configured; raise `UsageError` for a bad one."""
    base = env.get(PUBLIC_URL, "").strip()
    if not base:
        return None
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise UsageError(f"{PUBLIC_URL} must be an http(s) address of the output folder, such as "
                         "https://reports.example.com/sales/")
    base = base.rstrip("/") + "/"
    return Links(folder=f"{base}{quote(str(set_id))}/", index=f"{base}{INDEX_NAME}")
