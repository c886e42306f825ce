"""The field table of docs/sites.md, from the model's own field docs, so the documentation
cannot drift from what the sites file accepts (a test keeps the docs current).

    python -m moodle_assets.sites.reference   # prints the table
"""

from __future__ import annotations

from .model import Site


def field_table() -> str:
    """The markdown table of every field of a site, in the model's order."""
    lines = ["| field | required | meaning |", "|---|---|---|"]
    for name, field in Site.model_fields.items():
        text = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{name}` | {'yes' if field.is_required() else 'no'} | {text} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(field_table(), end="")
