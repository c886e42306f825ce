"""PHP-style form encoding of nested web-service parameters.

Moodle's REST server reads its arguments from ``$_POST``, so nested structures must be
spelled the way PHP parses them back into arrays: ``courseids[0]=2``,
``criteria[0][key]=email``, ``options[ids][0]=2``. Order is preserved because real
recordings (and a human reading a request in a CLI) expect the fields in the order the
spec wrote them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

__all__ = ["encode_params", "encode_scalar"]


def encode_params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flatten nested params into ordered ``(field, value)`` pairs, PHP style.

    ``{"courseids": [2, 3]}`` gives ``courseids[0]=2, courseids[1]=3``; mappings nest
    by key (``options[ids][0]=2``), lists by position. ``None`` values are omitted
    (Moodle then applies its own default), and so are empty lists and mappings, because
    PHP has no way to receive an empty array through a form.
    """
    fields: list[tuple[str, str]] = []
    for key, value in params.items():
        _encode_into(str(key), value, fields)
    return fields


def encode_scalar(value: Any) -> str:
    """Spell one scalar as Moodle's parameter validation accepts it.

    Booleans become ``1``/``0`` (PARAM_BOOL rejects ``true``); floats never use an
    exponent, because PARAM_FLOAT does not parse ``1e-07``.
    """
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot send the float {value!r} to Moodle: use a finite number")
        return format(Decimal(repr(value)), "f")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return value
    raise TypeError(
        f"cannot form-encode a {type(value).__name__} ({value!r}) as a Moodle parameter: "
        "pass str, int, float, bool, a list or a mapping of those"
    )


def _encode_into(prefix: str, value: Any, fields: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _encode_into(f"{prefix}[{key}]", item, fields)
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray)):
        for index, item in enumerate(value):
            _encode_into(f"{prefix}[{index}]", item, fields)
    else:
        fields.append((prefix, encode_scalar(value)))
