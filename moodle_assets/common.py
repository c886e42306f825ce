"""Small helpers every layer shares, so each is written once.

* :data:`KEY_PREFIX` — the asset-key prefix of the harvested assets, which is also the
  warehouse schema of their tables (``moodle/courses`` lands in ``moodle.courses``).
* :func:`quote_identifier` — one SQL identifier, quoted for DuckDB.
* :func:`preview_markdown` — the first rows of a table as a Markdown table (materialisation
  metadata).
* :func:`strip_userinfo` — a URL without ``user:password@``, safe to print.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from moodle_assets.moodle.urls import strip_userinfo

__all__ = ["KEY_PREFIX", "preview_markdown", "quote_identifier", "strip_userinfo"]

KEY_PREFIX = "moodle"


def quote_identifier(identifier: str) -> str:
    """Quote one SQL identifier (schema, table or column name)."""
    return '"' + identifier.replace('"', '""') + '"'


def preview_markdown(
    rows: Sequence[Mapping[str, Any]],
    limit_cols: int = 8,
    *,
    width: int = 40,
    hide_private: bool = True,
    none: str | None = None,
    ensure_ascii: bool = False,
) -> str:
    """``rows`` as a Markdown table of at most ``limit_cols`` columns, cells cut to ``width``.

    ``hide_private`` leaves out bookkeeping columns (a leading ``_``); ``none`` is the text of a
    NULL cell (None: ``str(None)``). The harvested assets use the defaults; the analytics
    models ``width=32, hide_private=False, none="", ensure_ascii=True``.
    """
    if not rows:
        return "_no rows_"
    cols = [c for c in rows[0] if not (hide_private and c.startswith("_"))][:limit_cols]

    def cell(value: Any) -> str:
        if value is None and none is not None:
            text = none
        elif isinstance(value, (dict, list)):
            text = json.dumps(value, ensure_ascii=ensure_ascii)
        else:
            text = str(value)
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= width else text[: width - 3] + "..."

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def field_table(model: Any, required_column: bool = False) -> str:
    """A pydantic model's fields as a markdown table, from their own descriptions, so the docs
    that show it cannot drift from what the model accepts."""
    head = "| field | required | meaning |" if required_column else "| field | meaning |"
    lines = [head, "|---|---|---|" if required_column else "|---|---|"]
    for name, field in model.model_fields.items():
        text = (field.description or "").replace("|", "\\|")
        required = f" {'yes' if field.is_required() else 'no'} |" if required_column else ""
        lines.append(f"| `{name}` |{required} {text} |")
    return "\n".join(lines) + "\n"
