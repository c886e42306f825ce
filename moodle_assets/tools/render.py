"""Text and JSON renderings of a sample and a preflight result, for the terminal.

The text is meant to be read once and acted on: the request as sent, a small table of
the records, and the paths to put in a spec. Nested values are abbreviated in the table
(``[3 items]``, ``{4 keys}``); the JSON rendering keeps them whole. Records and metadata are
printed through :func:`~moodle_assets.endpoints.extract.redact_secrets`, as they are staged:
a credential Moodle returns (the account's private access key) never reaches the terminal.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from moodle_assets.endpoints.extract import redact_secrets
from moodle_assets.tools.sample import Sample
from moodle_assets.tools.suggest import METADATA

ROWS_SHOWN = 10
COLUMNS_SHOWN = 6
CELL_WIDTH = 24
SUGGESTIONS_SHOWN = 8


def cell(value: Any, width: int = CELL_WIDTH) -> str:
    """One value as a short table cell."""
    if isinstance(value, list):
        text = f"[{len(value)} item{'' if len(value) == 1 else 's'}]"
    elif isinstance(value, dict):
        text = f"{{{len(value)} key{'' if len(value) == 1 else 's'}}}"
    elif value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def columns_of(records: Sequence[dict]) -> list[str]:
    """Every key of the records, in first-seen order."""
    seen: dict[str, None] = {}
    for record in records:
        for key in record:
            seen.setdefault(key, None)
    return list(seen)


def table(records: Sequence[dict], columns: Sequence[str]) -> list[str]:
    """Records as aligned text lines: a header, a rule, one line per record."""
    cells = [[cell(r.get(c)) for c in columns] for r in records]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    line = lambda values: "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=False)).rstrip()  # noqa: E731
    return [line(columns), line(["-" * w for w in widths])] + [line(row) for row in cells]


def _value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def sample_text(sample: Sample) -> str:
    out: list[str] = []
    what = f"endpoint {sample.endpoint} ({sample.function})" if sample.endpoint else f"function {sample.function}"
    out.append(f"Request for {what}{', first page only' if sample.paged else ''}:")
    out.append(f"  POST {sample.url}")
    out += [f"  {name}={value}" for name, value in sample.request]
    if sample.lookup:
        values = ", ".join(f"{k}={_value(v)}" for k, v in sample.lookup.items())
        out.append(f"Lookup values: {values} (from {sample.lookup_source})")
    out.append("")

    where = sample.data_path or ("$[*]" if isinstance(sample.document, list) else "$")
    records = redact_secrets(sample.records)
    columns = columns_of(records)
    out.append(f"Records at {where}: {len(records)}{' on this page' if sample.paged else ''}")
    if records:
        shown = columns[:COLUMNS_SHOWN]
        out += ["  " + line for line in table(records[:ROWS_SHOWN], shown)]
        if len(records) > ROWS_SHOWN:
            out.append(f"  ... {len(records) - ROWS_SHOWN} more")
        if len(columns) > len(shown):
            out.append(f"  {len(columns)} columns; not shown: {', '.join(columns[len(shown) :])}")
    out.append("")

    if sample.metadata_path:
        out.append(f"Metadata at {sample.metadata_path}: {len(sample.metadata)}")
        out += [f"  {json.dumps(m, ensure_ascii=False)}" for m in redact_secrets(sample.metadata[:ROWS_SHOWN])]
    elif sample.suggested_metadata_path:
        count = len(sample.document.get("warnings") or []) if isinstance(sample.document, dict) else 0
        out.append(
            f"Metadata: no metadata_path set; this answer has {sample.suggested_metadata_path} "
            f'({count}): add metadata_path: "{sample.suggested_metadata_path}" to keep Moodle\'s warnings'
        )
    else:
        out.append("Metadata: no metadata_path set")
    out.append("")

    out.append("Suggested data paths (most record-like first):")
    data = [s for s in sample.suggestions if s.kind != METADATA]
    if not data:
        out.append("  none: the answer holds no objects or lists")
    width = max([len(s.path) for s in data[:SUGGESTIONS_SHOWN]] + [0])
    for s in data[:SUGGESTIONS_SHOWN]:
        noun = {"records": "records", "object": "object", "values": "values"}[s.kind]
        if s.kind == "object":
            count = "1 object"
        else:
            count = f"{s.count} {noun if s.count != 1 else noun.rstrip('s')}"
        keys = f"  keys: {', '.join(s.example_keys)}" if s.example_keys else ""
        out.append(f"  {s.path.ljust(width)}  {count}{keys}")
    return "\n".join(out)


def sample_json(sample: Sample) -> str:
    columns = columns_of(sample.records)
    records, metadata = redact_secrets([sample.records[:ROWS_SHOWN], sample.metadata])
    return json.dumps(
        {
            "endpoint": sample.endpoint,
            "function": sample.function,
            "url": sample.url,
            "request": [[name, value] for name, value in sample.request],
            "first_page_only": sample.paged,
            "lookup": sample.lookup,
            "lookup_source": sample.lookup_source,
            "data_path": sample.data_path,
            "record_count": len(sample.records),
            "columns": columns,
            "records": records,
            "metadata_path": sample.metadata_path,
            "metadata": metadata,
            "suggested_metadata_path": sample.suggested_metadata_path,
            "suggestions": [s.as_dict() for s in sample.suggestions],
        },
        indent=2,
        ensure_ascii=False,
        default=str,
    )
