"""The file line of a position inside a condition written over several YAML lines.

A condition may span lines: a literal block (``when: |``: newlines kept), a folded block (``when: >-``) or a plain or
quoted scalar continued on the next lines (newlines folded into spaces).  The type checker reports the character
offset of the part of the condition that is wrong (``CelTypeError.offset``, from the parse tree's positions); this
maps it back to the line of the file that holds that part, so ``journeys validate`` points at the faulty line, not
at the ``when:`` key.  Each source line's text is looked up in the condition text in order; a line that cannot be
found (escapes in a double-quoted scalar) is skipped, and without any match the key's line stands.
"""
from __future__ import annotations

import re

__all__ = ["condition_line"]

_LEAD = re.compile(r"""^\s*(?:-\s+)?(?:[^\s:'"][^:]*:\s+)?(?:[|>][-+0-9]*\s*$|['"])?""")
_PIECE = 24  # characters of a source line looked up (quoted scalars may fold or escape what follows)


def condition_line(source: str, node_line: int, text: str, offset: int | None) -> int:
    """The 1-based file line of ``text[offset]``, where ``text`` is the scalar whose node starts at ``node_line``
    of ``source`` (the YAML text); ``node_line`` itself when ``offset`` is None or nothing matches."""
    if offset is None:
        return node_line
    lines = source.splitlines()[node_line - 1:node_line - 1 + text.count("\n") + len(text) // 2 + 2]
    best, pos = node_line, 0
    for i, raw in enumerate(lines):
        piece = (_LEAD.sub("", raw, count=1) if i == 0 else raw).strip().rstrip("'\"")
        if not piece:
            continue
        at = text.find(piece[:_PIECE], pos)
        if at < 0:
            continue
        if at > offset:
            break
        best, pos = node_line + i, at + 1
    return best
