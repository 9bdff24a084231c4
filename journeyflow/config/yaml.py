"""The one YAML loader of journeyflow's configuration files (journeys, policy, identity link rules).

Configuration files may come from people who are not developers and, on Dataflow, from a bucket: they are untrusted
input.  :func:`parse_yaml` is PyYAML's ``SafeLoader`` (no Python object tags) made strict:

- YAML anchors and aliases are refused (an alias "bomb" is small as text but expands exponentially); an alias is
  never expanded, it becomes an error at its line;
- nesting deeper than :data:`MAX_YAML_DEPTH` levels below the root is refused while the document is composed
  (iteratively, so a 5,000-level document costs no recursion), and flow collections (``[``, ``{``) four times
  deeper than that already while it is scanned (PyYAML's scanner is quadratic in the flow depth);
- mapping keys must be plain strings, and must not repeat (a second ``quiet_hours:`` block would silently win);
- the size limit (:data:`MAX_CONFIG_BYTES`) is checked by the callers, which name it in their own words
  (:func:`utf8_size` measures it).

Every problem becomes a :class:`YamlIssue` with its line and JSON path, and :class:`YamlDocument` maps every path to
its line, so that later (schema, semantic) errors can also say ``<file>:<line>``.  :func:`load_yaml` is the short
form for callers that want one exception.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from journeyflow.config.errors import UserError

__all__ = ["MAX_CONFIG_BYTES", "MAX_YAML_DEPTH", "YamlDocument", "YamlError", "YamlIssue", "format_path",
           "load_mapping", "load_yaml", "parse_yaml", "utf8_size"]

#: Largest accepted configuration file, in bytes of UTF-8 (1 MiB).
MAX_CONFIG_BYTES = 1 << 20
#: Deepest accepted nesting below the document root (a path of at most this many keys/indexes).
MAX_YAML_DEPTH = 40

_ALIAS_TAG = "tag:journeyflow,2024:alias"
_DEEP_TAG = "tag:journeyflow,2024:too-deep"
_STR_TAG = "tag:yaml.org,2002:str"
_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


class YamlError(UserError):
    """A configuration file that is not acceptable YAML: ``<file>:<line>: not valid YAML: <problem>``."""


@dataclass(frozen=True, slots=True)
class YamlIssue:
    """One problem of a document: its 1-based ``line``, the JSON ``path`` of the node (``()`` is the root), the
    ``message``, and ``syntax``: True for a problem PyYAML itself reports (syntax, unknown tag, bad character),
    False for a rule of this loader (alias, depth, key)."""

    line: int
    path: tuple
    message: str
    syntax: bool = False


@dataclass(slots=True)
class YamlDocument:
    """A parsed document: ``data`` (plain dicts, lists and scalars; None when there were issues or the document
    is empty), ``empty`` (the text holds no document at all), ``issues``, and the line of every path."""

    source: str
    data: Any = None
    empty: bool = False
    issues: list[YamlIssue] = field(default_factory=list)
    lines: dict[tuple, int] = field(default_factory=dict)  # path -> line of the node
    key_lines: dict[tuple, int] = field(default_factory=dict)  # path -> line of the key that leads to it

    def line(self, path: Iterable) -> int:
        """The line of ``path``: its key's line, else its node's, else the nearest ancestor's (1 for the root)."""
        p = tuple(path)
        while True:
            if p in self.key_lines:
                return self.key_lines[p]
            if p in self.lines:
                return self.lines[p]
            if not p:
                return 1
            p = p[:-1]

    def raise_first(self) -> None:
        """Raise :class:`YamlError` for the first issue by line (nothing when there is none)."""
        if self.issues:
            first = min(self.issues, key=lambda i: (i.line, format_path(i.path)))
            raise YamlError(f"{self.source}:{first.line}: not valid YAML: {first.message}")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader whose composer never expands an alias and never descends past MAX_YAML_DEPTH: either becomes a
    marker node (reported by :func:`_walk`); a subtree too deep is skipped event by event, without recursion."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            ev = self.get_event()
            return yaml.ScalarNode(_ALIAS_TAG, ev.anchor, ev.start_mark, ev.end_mark)
        if self._depth > MAX_YAML_DEPTH and not (index is None and isinstance(parent, yaml.MappingNode)):
            # (a mapping key is composed as usual: the walk reports its value, or a key that is not a string)
            ev = self.get_event()
            level = 1 if isinstance(ev, _OPEN) else 0
            while level:
                nxt = self.get_event()
                level += 1 if isinstance(nxt, _OPEN) else -1 if isinstance(nxt, _CLOSE) else 0
            return yaml.ScalarNode(_DEEP_TAG, "", ev.start_mark, ev.end_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def fetch_flow_collection_start(self, TokenClass):  # type: ignore[override]
        """PyYAML's scanner keeps a possible simple key per flow level and checks them all on every token, so
        ``[[[…`` costs time quadratic in its depth (5,000 levels: ~30 s of CPU before the composer's guard is
        reached).  A flow collection opened four times deeper than :data:`MAX_YAML_DEPTH` is refused right here
        (below that the composer's guard names the path; the scan up to there costs nothing)."""
        if self.flow_level >= 4 * MAX_YAML_DEPTH:
            raise yaml.scanner.ScannerError(None, None, f"nested more than {MAX_YAML_DEPTH} levels deep",
                                            self.get_mark())
        super().fetch_flow_collection_start(TokenClass)


def parse_yaml(text: str, source: str) -> YamlDocument:
    """Parse one YAML document strictly (see the module docstring); never raises for a problem of the text: the
    problems are in ``issues`` (and ``data`` is then None)."""
    doc = YamlDocument(source)
    try:
        loader = _StrictLoader(text)
    except yaml.reader.ReaderError as e:  # the reader checks every character before any parsing
        doc.issues.append(YamlIssue(text.count("\n", 0, e.position) + 1, (),
                                    f"character #x{e.character:04x} is not allowed ({e.reason})", True))
        return doc
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            doc.issues.append(YamlIssue(mark.line + 1 if mark else 1, (), f"{e.problem or e.context}", True))
            return doc
        except yaml.YAMLError as e:
            doc.issues.append(YamlIssue(1, (), f"{e}", True))
            return doc
        except RecursionError:
            doc.issues.append(YamlIssue(1, (), "nested too deeply", True))
            return doc
        if node is None:
            doc.empty = True
            return doc
        if not _walk(node, doc):
            return doc
        try:
            doc.data = loader.construct_document(node)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            doc.issues.append(YamlIssue(mark.line + 1 if mark else 1, (), f"{getattr(e, 'problem', e)}", True))
        return doc
    finally:
        loader.dispose()


def load_yaml(text: str, source: str) -> Any:
    """The data of a strict YAML document (None for an empty one); raises :class:`YamlError`
    ``<source>:<line>: not valid YAML: <problem>`` for the first problem."""
    doc = parse_yaml(text, source)
    doc.raise_first()
    return doc.data


def load_mapping(text: str, source: str, what: str) -> dict:
    """The mapping of a strict YAML document (``{}`` for an empty one).  Raises :class:`YamlError` like
    :func:`load_yaml`, or :class:`~journeyflow.config.errors.UserError` ``<source>: <what> must be a YAML mapping``."""
    data = load_yaml(text, source) or {}
    if not isinstance(data, dict):
        raise UserError(f"{source}: {what} must be a YAML mapping")
    return data


def utf8_size(text: str, limit: int) -> int:
    """The UTF-8 size of ``text`` in bytes, exact whenever it may exceed ``limit`` (a text of at most ``limit / 4``
    characters is measured by its length, which is then below the limit too).  Lone surrogates count as 3 bytes."""
    return len(text.encode("utf-8", "surrogatepass")) if len(text) * 4 > limit else len(text)


def _walk(root: yaml.Node, doc: YamlDocument) -> bool:
    """Record lines; report aliases, non-string keys, duplicate keys and too-deep nodes.  False when the document
    must not be constructed (a too-deep node stops the walk at once)."""
    ok = True
    stack: list[tuple[yaml.Node, tuple]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if node.tag == _ALIAS_TAG:
            doc.issues.append(YamlIssue(node.start_mark.line + 1, path, "YAML anchors/aliases are not allowed"))
            ok = False
            continue
        doc.lines[path] = node.start_mark.line + 1
        if node.tag == _DEEP_TAG or len(path) > MAX_YAML_DEPTH:
            doc.issues.append(YamlIssue(node.start_mark.line + 1, path,
                                        f"nested more than {MAX_YAML_DEPTH} levels deep"))
            return False
        if isinstance(node, yaml.MappingNode):
            keys: dict[str, int] = {}
            for k, v in node.value:
                if not isinstance(k, yaml.ScalarNode) or k.tag != _STR_TAG:
                    doc.issues.append(YamlIssue(k.start_mark.line + 1, path, "mapping keys must be plain strings"))
                    ok = False
                    continue
                kp = path + (k.value,)
                if k.value in keys:
                    doc.issues.append(YamlIssue(k.start_mark.line + 1, kp,
                                                f"duplicate key '{k.value}' (first at line {keys[k.value]})"))
                    ok = False
                    continue
                keys[k.value] = k.start_mark.line + 1
                doc.key_lines[kp] = k.start_mark.line + 1
                stack.append((v, kp))
        elif isinstance(node, yaml.SequenceNode):
            for i in range(len(node.value) - 1, -1, -1):
                stack.append((node.value[i], path + (i,)))
    return ok


def format_path(path: Iterable) -> str:
    """``("journeys", 2, "steps", 1, "channel")`` → ``journeys[2].steps[1].channel``; the root is ``$``; a key that
    is not an identifier is quoted (``["a b"]``)."""
    out = []
    for p in path:
        if isinstance(p, int):
            out.append(f"[{p}]")
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(p)):
            out.append(f".{p}" if out else str(p))
        else:
            out.append(f"[{json.dumps(str(p))}]")
    return "".join(out) or "$"
