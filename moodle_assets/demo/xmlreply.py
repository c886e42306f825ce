"""The XML reply Moodle's REST server gives when ``moodlewsrestformat`` is not ``json``.

A port of ``webservice_rest_server::xmlize_result``: the return structure drives the output,
so every declared key appears (missing ones as ``<VALUE null="null"/>``), booleans become 0/1.
"""

from __future__ import annotations

from typing import Any

from .errors import MoodleException

_HEADER = '<?xml version="1.0" encoding="UTF-8" ?>\n'


def _escape(text: str) -> str:
    """PHP's ``htmlspecialchars($s, ENT_COMPAT)``: single quotes stay as they are."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xmlize(value: Any, node: dict[str, Any] | None) -> str:
    if node is None:
        return ""
    kind = node["type"]
    if kind == "single":
        if value is None:
            return '<VALUE null="null"/>\n'
        return f"<VALUE>{_escape(_scalar(value))}</VALUE>\n"
    if kind == "multiple":
        inner = "".join(_xmlize(item, node["content"]) for item in (value or []))
        return f"<MULTIPLE>\n{inner}</MULTIPLE>\n"
    source = value if isinstance(value, dict) else {}
    keys = "".join(
        f'<KEY name="{key}">{_xmlize(source.get(key), child)}</KEY>\n' for key, child in node["keys"].items()
    )
    return f"<SINGLE>\n{keys}</SINGLE>\n"


def xml_response(value: Any, returns: dict[str, Any] | None) -> str:
    return f"{_HEADER}<RESPONSE>\n{_xmlize(value, returns)}</RESPONSE>\n"


def xml_exception(error: MoodleException, debug: bool = False) -> str:
    """The exception as XML; ``debug`` adds ``DEBUGINFO`` as a site with debugging on does."""
    errorcode, message = error.said(debug)
    code = f"<ERRORCODE>{_escape(errorcode)}</ERRORCODE>\n" if errorcode is not None else ""
    info = f"<DEBUGINFO>{_escape(error.debuginfo)}</DEBUGINFO>\n" if debug and error.debuginfo else ""
    return (
        f'{_HEADER}<EXCEPTION class="{error.exception_class}">\n{code}'
        f"<MESSAGE>{_escape(message)}</MESSAGE>\n{info}</EXCEPTION>\n"
    )
