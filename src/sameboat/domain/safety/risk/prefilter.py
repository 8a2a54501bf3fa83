"""Which of many regular expressions could match a text, in one linear pass.

The phrase layer has a few hundred patterns, and almost every sentence people write matches none of them;
trying each with Python's ``re`` cost about 0.4 ms a sentence, most of what assessing a chat message costs.
RE2 (google-re2) matches a whole set of patterns in one pass over the text. Each pattern is loosened for
it first: lookarounds and word boundaries dropped, word, digit and space classes widened to Unicode.
Loosening only ever lets more through, so a pattern the filter leaves out cannot match, and every
candidate is still decided by its own ``re`` pattern: the results are the same, only faster
(tests/unit/safety/test_prefilter.py checks that on the chat set). A pattern RE2 cannot read is always a
candidate.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import re2

_LOOKAROUND_OPENERS = ("(?<!", "(?<=", "(?!", "(?=")
# Python's classes are Unicode-aware; RE2's shorthand ones are ASCII. Wider is safe, narrower is not.
_INSIDE_CLASS = {"w": r"\pL\pN_", "d": r"\pN", "s": r"\s\p{Z}"}
_OUTSIDE_CLASS = {"w": r"[\pL\pN_]", "W": r"[^\pL\pN_]", "d": r"\pN", "D": r"\PN", "s": r"[\s\p{Z}]"}


class Unloosenable(ValueError):
    """A pattern this module cannot turn into a wider RE2 pattern (it then always counts as a candidate)."""


def _class_opening(source: str, start: int) -> int:
    """Length of the ``[`` at ``start`` with its ``^`` and a leading ``]``, which is a literal there."""
    length = 1
    if source.startswith("^", start + length):
        length += 1
    if source.startswith("]", start + length):
        length += 1
    return length


def _end_of_group(source: str, start: int) -> int:
    """Index just past the group that opens at ``start``."""
    depth = 0
    i = start
    in_class = False
    while i < len(source):
        char = source[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            i += _class_opening(source, i)
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise Unloosenable("unbalanced group")


def loosen(source: str) -> str:
    """A pattern RE2 accepts that matches wherever ``source`` matches under Python's ``re`` (and maybe more)."""
    out: list[str] = []
    i = 0
    in_class = False
    while i < len(source):
        if not in_class and source.startswith(_LOOKAROUND_OPENERS, i):
            i = _end_of_group(source, i)  # a lookaround only ever narrows a match
            continue
        if not in_class and source.startswith("(?P<", i):
            i = source.index(">", i) + 1  # RE2 refuses repeated group names; the filter needs no names
            out.append("(?:")
            continue
        if source.startswith("(?P=", i):
            raise Unloosenable("back-reference")
        char = source[i]
        if char == "\\" and i + 1 < len(source):
            letter = source[i + 1]
            if letter in "bB" and not in_class:
                i += 2  # a word boundary is a lookaround too
                continue
            table = _INSIDE_CLASS if in_class else _OUTSIDE_CLASS
            if letter in table:
                out.append(table[letter])
            elif in_class and letter in "WDS":
                raise Unloosenable("negated class inside a class")
            elif letter in "AZ":
                raise Unloosenable("anchor")
            else:
                out.append(source[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            opening = _class_opening(source, i)
            out.append(source[i : i + opening])
            i += opening
            continue
        out.append(char)
        i += 1
    return "".join(out)


class PatternPrefilter:
    """``candidates(text)``: the indexes of the patterns that could match somewhere in ``text``."""

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        options = re2.Options()
        options.max_mem = 256 << 20  # Unicode classes make the set's automaton large (built once per process)
        options.never_capture = True
        options.log_errors = False  # an unreadable pattern is expected: it becomes an 'always' candidate
        self._set = re2.Set.SearchSet(options)
        self._added: list[int] = []  # RE2's index -> ours
        always: list[int] = []
        for index, pattern in enumerate(patterns):
            if pattern.flags & ~re.UNICODE:  # flags this module does not translate
                always.append(index)
                continue
            try:
                self._set.Add(loosen(pattern.pattern))
            except (Unloosenable, re2.error, ValueError):
                always.append(index)
                continue
            self._added.append(index)
        self.always = frozenset(always)
        self._set.Compile()

    def candidates(self, text: str) -> frozenset[int]:
        found = self._set.Match(text)
        if not found:
            return self.always
        return self.always.union(self._added[j] for j in found)
