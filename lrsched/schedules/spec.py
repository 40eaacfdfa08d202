"""Spec strings, parsed to plain data and written back.

::

    spec  := NAME [':' key '=' value (',' key '=' value)*]
    value := word | '[' [value (',' value)*] ']' | '(' spec ')'

``parse`` gives ``{"name": NAME, key: value, ...}``: a nested spec as such a dict, a list
as a list, a word as an int, float, bool, None or string (``5%`` stays a string: a share
of the run). ``format_spec`` writes such a dict back. Schedules are built from the dict
by ``Schedule.from_dict``; this module knows nothing of families.
"""

from __future__ import annotations

import re
from typing import Any

from lrsched.errors import InputError
from lrsched.schedules.fields import MAX_NESTING

HELP = "a spec is NAME or NAME:key=value,key=value (lists in [..], nested specs in (..))"
_WORD = re.compile(r"[A-Za-z0-9_.+\-%]+")
_MAX_BRACKETS = 2 * MAX_NESTING  # each nested schedule opens '[(' in its join's parts


def parse(text: str) -> dict[str, Any]:
    """The plain dict a spec string describes, or a one-line InputError."""
    if not isinstance(text, str):
        raise InputError(f"a spec must be a string, got {type(text).__name__}; {HELP}")
    parser = _Parser(text)
    params = parser.spec()
    parser.expect_end()
    return params


def format_spec(params: dict[str, Any], max_items: int | None = None) -> str:
    """``NAME:key=value,...`` from a dict as ``parse`` returns it.

    ``max_items`` cuts lists longer than that for display (``[1.0,0.9,...,0.0](200
    items)``); such a spec does not parse back.
    """
    items = [(k, v) for k, v in params.items() if k != "name"]
    body = ",".join(f"{k}={_format(v, max_items)}" for k, v in items)
    return params["name"] + (":" + body if body else "")


def _format(value: Any, max_items: int | None) -> str:
    if isinstance(value, dict):
        return f"({format_spec(value, max_items)})"
    if isinstance(value, (list, tuple)):
        if max_items is not None and len(value) > max_items:
            head = [_format(v, max_items) for v in value[:max_items - 1]]
            return f"[{','.join(head)},...,{_format(value[-1], max_items)}]({len(value)} items)"
        return "[" + ",".join(_format(v, max_items) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    return repr(value) if isinstance(value, float) else str(value)


class _Parser:
    """Recursive descent over the grammar above, at most ``_MAX_BRACKETS`` deep."""

    def __init__(self, text: str):
        self.text, self.pos, self.depth = re.sub(r"\s+", "", text), 0, 0  # no value has a space

    def fail(self, what: str):
        raise InputError(f"malformed spec {self.text!r:.80} at position {self.pos}: expected "
                         f"{what}; {HELP}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self, char: str) -> bool:
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def word(self, what: str) -> str:
        m = _WORD.match(self.text, self.pos)
        if not m:
            self.fail(what)
        self.pos = m.end()
        return m.group()

    def expect_end(self):
        if self.pos != len(self.text):
            self.fail("',' or the end")

    def open(self, char: str) -> bool:
        if not self.take(char):
            return False
        self.depth += 1
        if self.depth > _MAX_BRACKETS:
            raise InputError(f"spec nests schedules or lists more than {MAX_NESTING} deep; "
                             "flatten it (a join takes any number of parts)")
        return True

    def spec(self) -> dict[str, Any]:
        params: dict[str, Any] = {"name": self.word("a schedule name")}
        if self.take(":"):
            while True:
                key = self.word("a key")
                if not self.take("="):
                    self.fail(f"'=' after {key!r}")
                if key in params:
                    raise InputError(f"spec {self.text!r:.80} sets {key!r} twice; give it once")
                params[key] = self.value()
                if not self.take(","):
                    break
        return params

    def value(self) -> Any:
        if self.open("("):
            nested = self.spec()
            if not self.take(")"):
                self.fail("')' closing the nested spec")
            self.depth -= 1
            return nested
        if self.open("["):
            items = []
            while not self.take("]"):
                if items and not self.take(","):
                    self.fail("',' or ']'")
                items.append(self.value())
            self.depth -= 1
            return items
        return _scalar(self.word("a value"))


def _scalar(word: str) -> Any:
    lowered = word.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    for convert in (int, float):
        try:
            return convert(word)
        except ValueError:
            pass
    return word
