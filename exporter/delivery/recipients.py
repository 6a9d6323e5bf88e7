"""Who receives what (`data/recipients.yaml`): named distribution lists, by email and/or drop folder.

Validated like the report data, so problems come out as ``FILE:LINE: field.path: problem``. A drop
folder is the one local path data may name; it is absolute, or relative to the output folder, and may
not climb with ``..``. An SFTP target's remote folder is checked the same way (relative to the login
folder). File names inside either still come only from validated report ids.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, model_validator

from ..core.errors import DataError, Problem
from ..core.formats import FORMATS
from ..core.model import Email, Id, Text
from ..source.reader import read_yaml
from ..source.validate import parse_model
from .webhook import WebhookSpec


def _folder(value: str) -> str:
    if not value.strip() or "\x00" in value:
        raise ValueError("must be a folder path")
    if ".." in PurePosixPath(value).parts:
        raise ValueError("may not contain '..'")
    return value


_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?$")
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")


def _host(value: str) -> str:
    """A host name or an IP address: nothing an SSH client could take as an option or a second host."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if not _HOST.match(value) or len(value) > 253:
            raise ValueError(f"{value!r} is not a host name or IP address") from None
    return value


def _user(value: str) -> str:
    if not _USER.match(value):
        raise ValueError(f"{value!r} is not a user name: letters, digits, '.', '_' and '-'")
    return value


def _remote_folder(value: str) -> str:
    if any(not ch.isprintable() for ch in value):
        raise ValueError("must be a folder path on one line")
    return _folder(value)


class SftpTarget(BaseModel):
    """Where an SFTP list's files go; the key and the pinned host keys come from the environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: Annotated[StrictStr, AfterValidator(_host)]
    port: int = Field(default=22, ge=1, le=65535, strict=True)
    path: Annotated[StrictStr, AfterValidator(_remote_folder)] = Field(
        description="The remote folder: absolute, or relative to the login folder; no '..'.")
    user: Annotated[StrictStr, AfterValidator(_user)]

    def url(self) -> str:
        """How the target is shown: ``sftp://user@host:port/path`` (``/~/path`` when relative to the login folder)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        path = self.path if self.path.startswith("/") else f"/~/{self.path}"
        return f"sftp://{self.user}@{host}:{self.port}{path}"


if TYPE_CHECKING:  # a Literal built at runtime is not a type to a type checker
    FormatName = str
else:
    FormatName = Literal[tuple(sorted(FORMATS))]


class DistributionList(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Id
    name: Text
    email: list[Email] = []
    drop_folder: Annotated[StrictStr, AfterValidator(_folder)] | None = None
    sftp: SftpTarget | None = None
    webhook: WebhookSpec | None = Field(default=None, description=(
        "A Teams, Slack or JSON webhook: {url: ${NAME} or URL, style: teams | slack | json}."))
    reports: Literal["all"] | list[Id] = "all"
    formats: list[FormatName] | None = Field(default=None, description="Default: every published format.")
    bcc: bool = Field(default=False, strict=True, description=(
        "Send the email with the addresses in the envelope only: no recipient sees the others."))

    @model_validator(mode="after")
    def _somewhere(self):
        if not self.email and self.drop_folder is None and self.sftp is None and self.webhook is None:
            raise ValueError("give at least one channel: email addresses, a drop_folder, sftp or a webhook")
        return self

    def wants(self, report_id: str) -> bool:
        return self.reports == "all" or report_id in self.reports


class Recipients(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, title="Recipients")

    lists: list[DistributionList] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self):
        ids = [item.id for item in self.lists]
        for list_id in ids:
            if ids.count(list_id) > 1:
                raise ValueError(f"list id {list_id!r} is used twice")
        return self


@dataclass(frozen=True)
class LoadedRecipients:
    path: Path
    recipients: Recipients

    def drop_folder(self, item: DistributionList, output_dir: Path) -> Path | None:
        """Return the list's drop folder; a relative one is relative to the output folder."""
        if item.drop_folder is None:
            return None
        folder = Path(item.drop_folder)
        return folder if folder.is_absolute() else output_dir / folder

    def lists(self, names: tuple[str, ...] | list[str] = ()) -> list[DistributionList]:
        """Return the lists named (all when none); an unknown name is a usage error."""
        from ..core.errors import UsageError

        known = {item.id: item for item in self.recipients.lists}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise UsageError(f"unknown list {', '.join(map(repr, unknown))} (known: {', '.join(known)})")
        return [known[n] for n in dict.fromkeys(names)] if names else list(self.recipients.lists)


def load_recipients(path: Path, known_reports: list[str] | None = None) -> LoadedRecipients:
    """Read and validate the recipients file; raise `DataError` listing every problem."""
    doc = read_yaml(path)
    recipients = parse_model(doc, Recipients)
    if known_reports is not None:
        problems = []
        for i, item in enumerate(recipients.lists):
            if item.reports == "all":
                continue
            for r, report_id in enumerate(item.reports):
                if report_id not in known_reports:
                    problems.append(Problem(path, doc.line_of(("lists", i, "reports", r)), f"lists[{i}].reports[{r}]",
                                            f"unknown report id {report_id!r} (known: {', '.join(known_reports)})"))
        if problems:
            raise DataError(problems)
    return LoadedRecipients(path, recipients)
