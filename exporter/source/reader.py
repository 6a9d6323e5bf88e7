"""Read a YAML data file into plain Python values and the line of every field.

The loader is deliberately narrow: a safe loader, YAML 1.2-style scalars (only ``true``/``false``
are booleans, ``NO`` stays a string, ``01234`` is not an octal number), no duplicate keys, and no
aliases (they can blow a small file up into gigabytes, and canonical data has no use for them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import DataError, Problem

MAX_BYTES = 5 * 1024 * 1024  # a report is some kilobytes; this leaves room for large tables
MAX_DEPTH = 32  # the canonical format nests a handful of levels
MAX_NODES = 200_000
_STANDARD_TAGS = {f"tag:yaml.org,2002:{name}" for name in
                  ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")}

FieldPath = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema booleans and numbers, refusing aliases, deep nesting,
    too many nodes and tags other than YAML's standard ones (``!!python/...`` and the like)."""

    _depth = 0
    _nodes = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in data files",
                                              event.start_mark)
        tag = getattr(event, "tag", None)
        if tag not in (None, "!") and self.resolve_tag(tag) not in _STANDARD_TAGS:
            raise yaml.composer.ComposerError(None, None, f"the tag {tag} is not allowed in data files",
                                              event.start_mark)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise yaml.composer.ComposerError(None, None, f"more than {MAX_NODES} values", event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                                  event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    @staticmethod
    def resolve_tag(tag: str) -> str:
        return tag.replace("!!", "tag:yaml.org,2002:", 1) if tag.startswith("!!") else tag


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


# libyaml's parser, with the same scalar rules. It does the common case ~15x faster; anything it
# would let through that `_Loader` refuses (aliases, tags, depth, size), and any error at all, sends
# the file down the pure-Python path, which gives the located messages.
_CLoader: Any = None
if getattr(yaml, "__with_libyaml__", False):
    from yaml._yaml import CParser

    class _CLoader(CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):  # type: ignore[no-redef]
        def __init__(self, stream):
            CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _CLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers


def _fast_compose(text: str):
    """Return (loader, node) composed by libyaml when the file is within our limits, else None."""
    if _CLoader is None or "\t" in text:  # libyaml takes tabs where PyYAML refuses them
        return None
    starts = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)
    try:
        checker = _CLoader(text)
        depth = nodes = 0
        while checker.check_event():
            event = checker.get_event()
            if isinstance(event, yaml.AliasEvent):
                return None
            if isinstance(event, starts):
                nodes += 1
                tag = event.tag
                if (depth + 1 > MAX_DEPTH or nodes > MAX_NODES
                        or tag not in (None, "!") and _Loader.resolve_tag(tag) not in _STANDARD_TAGS):
                    return None
                if not isinstance(event, yaml.ScalarEvent):
                    depth += 1
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
        loader = _CLoader(text)
        return loader, loader.get_single_node()
    except (yaml.YAMLError, RecursionError, ValueError, TypeError):
        return None


@dataclass
class ParsedYaml:
    """A parsed data file: its values and the line (1-based) where each field path starts."""

    path: Path
    data: Any
    lines: dict[FieldPath, int] = field(default_factory=dict)

    def line_of(self, path: FieldPath) -> int | None:
        """Return the line of *path*, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


def read_yaml(path: Path) -> ParsedYaml:
    """Parse *path*; raise `DataError` naming the file and line of any syntax problem."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError([Problem(path, None, "", f"cannot read file: {exc.strerror or exc}")]) from exc
    if len(raw) > MAX_BYTES:
        raise DataError([Problem(path, None, "", f"file is larger than {MAX_BYTES} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line: int | None = raw[: exc.start].count(b"\n") + 1
        raise DataError([Problem(path, line, "", "not valid UTF-8 text")]) from exc

    loader = None
    fast = _fast_compose(text)
    try:
        if fast is not None:
            loader, node = fast
        else:
            loader = _Loader(text)
            node = loader.get_single_node()
    except yaml.reader.ReaderError as exc:  # raised before parsing: a character YAML does not allow
        line = text[: exc.position].count("\n") + 1
        raise DataError([Problem(path, line, "", f"invalid YAML: character U+{exc.character:04X} is not "
                                 "allowed in YAML text; write it as an escape in a double-quoted string")]) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise DataError([Problem(path, line, "", f"invalid YAML: {exc.problem or exc}")]) from exc
    except yaml.YAMLError as exc:
        raise DataError([Problem(path, None, "", f"invalid YAML: {exc}")]) from exc
    except RecursionError as exc:  # a parser limit reached before ours
        raise DataError([Problem(path, None, "", "invalid YAML: nested too deeply")]) from exc
    finally:
        if loader is not None:
            loader.dispose()
    doc = ParsedYaml(path, None)
    if node is None:
        raise DataError([Problem(path, 1, "", "the file is empty")])
    problems: list[Problem] = []
    doc.data = _convert(node, (), doc, loader, problems)
    if problems:
        raise DataError(problems)
    return doc


def _convert(node: yaml.Node, where: FieldPath, doc: ParsedYaml, loader: _Loader, problems: list[Problem]) -> Any:
    doc.lines.setdefault(where, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem(doc.path, key_node.start_mark.line + 1, dotted(where), "keys must be plain text"))
                continue
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.append(Problem(doc.path, key_node.start_mark.line + 1, dotted(where), "merge keys (<<) are not supported"))
                continue
            key = key_node.value
            child = where + (key,)
            if key in result:
                problems.append(
                    Problem(doc.path, key_node.start_mark.line + 1, dotted(child),
                            f"duplicate key (first given on line {doc.lines[child]})")
                )
                continue
            doc.lines[child] = key_node.start_mark.line + 1
            result[key] = _convert(value_node, child, doc, loader, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, where + (i,), doc, loader, problems) for i, item in enumerate(node.value)]
    try:
        return loader.construct_object(node, deep=True)
    except ValueError as exc:  # a timestamp that is no date, e.g. 2026-02-30
        problems.append(Problem(doc.path, node.start_mark.line + 1, dotted(where), f"invalid value: {exc}"))
        return None
    except yaml.YAMLError as exc:
        problems.append(Problem(doc.path, node.start_mark.line + 1, dotted(where), f"invalid value: {exc}"))
        return None


def dotted(path: FieldPath) -> str:
    """Format a field path the way problems show it: ``faqs.entries[3].answer``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
