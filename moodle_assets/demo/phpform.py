"""PHP-style form decoding: ``courseids[0]=2&criteria[0][key]=email`` → nested data.

Moodle's server.php reads ``$_POST``/``$_GET``, where PHP has already turned bracketed
names into nested arrays. Integer-keyed arrays become Python lists (in index order) so that
the schema validator can tell a ``multiple`` from a ``structure`` the way PHP's
``array_values`` check does.
"""

from __future__ import annotations

import re
from typing import Any

_SEGMENT = re.compile(r"\[([^\]]*)\]")


def _split(name: str) -> list[str]:
    """``a[b][0]`` → ``["a", "b", "0"]``; a malformed tail is kept as a literal name like PHP."""
    head, bracket, _ = name.partition("[")
    if not bracket:
        return [name]
    rest = name[len(head) :]
    parts = _SEGMENT.findall(rest)
    if "".join(f"[{p}]" for p in parts) != rest:
        return [name]
    return [head, *parts]


def _listify(node: Any) -> Any:
    """Turn dicts whose keys are all integers into lists ordered by key."""
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(re.fullmatch(r"-?\d+", key) for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def decode_php_form(fields: list[tuple[str, str]]) -> dict[str, Any]:
    """Decode form fields into nested dicts and lists; later duplicates win, as in PHP."""
    root: dict[str, Any] = {}
    for name, value in fields:
        path = _split(name)
        node = root
        for depth, segment in enumerate(path):
            last = depth == len(path) - 1
            if segment == "":  # PHP's ``a[]=x`` appends at the next integer index
                segment = str(sum(1 for k in node if re.fullmatch(r"\d+", k)))
            if last:
                node[segment] = value
            else:
                child = node.get(segment)
                if not isinstance(child, dict):
                    child = {}
                    node[segment] = child
                node = child
    return {key: _listify(value) for key, value in root.items()}
