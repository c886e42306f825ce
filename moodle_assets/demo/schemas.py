"""Moodle's external-function descriptions: parameter validation and return cleaning.

The structures in ``moodle_assets/moodle/function_schemas*.json`` were taken from a real
Moodle 4.5 and 5.0 (``external_api::external_function_info()``); a site uses its release's. Validating requests against them is what makes
the emulator strict in the same places as a real site (unexpected keys, missing required keys,
wrong types all give ``invalidparameter``), and cleaning answers through them gives the same
key order, the same types and the same dropped keys as ``external_api::clean_returnvalue``.
"""

from __future__ import annotations

import re
from typing import Any

from moodle_assets.moodle import schemas as moodle_schemas

from .errors import MoodleException, invalid_parameter

Node = dict[str, Any]

_CHARSETS = {
    "PARAM_ALPHA": re.compile(r"[a-zA-Z]*"),
    "PARAM_ALPHANUM": re.compile(r"[a-zA-Z0-9]*"),
    "PARAM_ALPHAEXT": re.compile(r"[a-zA-Z_\-]*"),
    "PARAM_ALPHANUMEXT": re.compile(r"[a-zA-Z0-9_\-]*"),
    "PARAM_CAPABILITY": re.compile(r"[a-z0-9_/:\-]*"),
    "PARAM_COMPONENT": re.compile(r"[a-z0-9_]*"),
    "PARAM_AREA": re.compile(r"[a-z0-9_]*"),
    "PARAM_PLUGIN": re.compile(r"[a-z0-9_]*"),
}
_INT = re.compile(r"-?\d+")


def all_schemas(release: str = "4.5") -> dict[str, dict[str, Node]]:
    """Every known function's ``{"params": ..., "returns": ...}`` on a release (shipped with the client)."""
    return moodle_schemas.all_schemas(release)


def schema(function: str, release: str = "4.5") -> dict[str, Node]:
    """The function's structures on ``release``; a function that release lacks (a site whose
    version was set by hand) takes those of the first release that has it."""
    for name in (release, *moodle_schemas.SCHEMA_FILES):
        if function in all_schemas(name):
            return all_schemas(name)[function]
    raise KeyError(function)


# --------------------------------------------------------------------------- parameters


def validate_params(function: str, raw: dict[str, Any], release: str = "4.5") -> dict[str, Any]:
    """Validate decoded form data like ``external_api::validate_parameters`` and apply defaults."""
    return _validate(schema(function, release)["params"], raw, "")


def _validate(node: Node, value: Any, where: str = "") -> Any:
    """``external_api::validate_parameters``: a structure names the key whose value failed,
    ``key => Invalid parameter value detected: <detail>``, level by level (only the detail,
    in ``debuginfo``, ever reaches a client, and only on a site with debugging on)."""
    kind = node["type"]
    if kind == "structure":
        if isinstance(value, list) and not value:
            value = {}
        if isinstance(value, list):
            value = {str(i): v for i, v in enumerate(value)}
        if not isinstance(value, dict):
            raise invalid_parameter(f"Only arrays accepted. The bad value is: '{value}'")
        result: dict[str, Any] = {}
        for key, child in node["keys"].items():
            if key in value:
                try:
                    result[key] = _validate(child, value[key], key)
                except MoodleException as error:
                    raise invalid_parameter(f"{key} => {error.message}: {error.debuginfo}") from None
            elif child["required"] == "required":
                raise invalid_parameter(f"Missing required key in single structure: {key}")
            elif child["required"] == "default":
                result[key] = _default(child)
        unexpected = [k for k in value if k not in node["keys"]]
        if unexpected:
            raise invalid_parameter(f"Unexpected keys ({', '.join(unexpected)}) detected in parameter array.")
        return result
    if kind == "multiple":
        if isinstance(value, dict):
            value = list(value.values())
        if not isinstance(value, list):
            raise invalid_parameter(f"Only arrays accepted. The bad value is: '{value}'")
        return [_validate(node["content"], item, where) for item in value]
    return _validate_single(node, value)


def _default(node: Node) -> Any:
    """A default as Moodle applies it; empty structures get their own children's defaults
    filled in so that handlers read ``options["timestart"]`` without guarding."""
    default = node.get("default")
    if node["type"] == "structure" and default in ([], {}, None):
        try:
            return _validate(node, {})
        except Exception:  # a structure whose children are required keeps the bare default
            return {}
    if node["type"] == "multiple" and default is None:
        return []
    if node["type"] == "single" and default is not None:
        return _validate_single(node, default)
    return default


# What Moodle names each type in "the server was expecting ... type" (the PARAM_ constant's value).
_TYPE_NAMES = {
    "PARAM_INT": "int",
    "PARAM_FLOAT": "float",
    "PARAM_BOOL": "bool",
    "PARAM_ALPHA": "alpha",
    "PARAM_ALPHANUM": "alphanum",
    "PARAM_ALPHAEXT": "alphaext",
    "PARAM_ALPHANUMEXT": "alphanumext",
    "PARAM_CAPABILITY": "capability",
    "PARAM_COMPONENT": "component",
    "PARAM_AREA": "area",
    "PARAM_PLUGIN": "plugin",
}
_FLOAT = re.compile(r"[+-]?[0-9]*\.?[0-9]*(e[-+]?[0-9]+)?", re.IGNORECASE)


def _validate_single(node: Node, value: Any) -> Any:
    """``validate_param``: the value must come back unchanged from Moodle's cleaning, so
    ``05``, `` 5`` or ``true`` (for a bool) are refused just like ``abc``."""
    if isinstance(value, (list, dict)):
        raise invalid_parameter("Scalar type expected, array or object received.")
    ptype = node.get("paramtype", "PARAM_RAW")
    text = value if isinstance(value, str) else _php_string(value)
    refused = invalid_parameter(
        f'Invalid external api parameter: the value is "{text}", the server was expecting "{_TYPE_NAMES.get(ptype, ptype)}" type'
    )
    if ptype == "PARAM_INT":
        if not _INT.fullmatch(text) or str(int(text)) != text:
            raise refused
        return int(text)
    if ptype == "PARAM_FLOAT":
        if not text or not _FLOAT.fullmatch(text):
            raise refused
        try:
            return float(text)
        except ValueError:
            raise refused from None
    if ptype == "PARAM_BOOL":
        if text not in ("0", "1"):  # only 0/1 survive clean_param unchanged
            raise refused
        return text == "1"
    charset = _CHARSETS.get(ptype)
    if charset is not None and not charset.fullmatch(text):
        raise refused
    return text


def _php_string(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


# --------------------------------------------------------------------------- returns


class InvalidResponse(Exception):
    """A handler returned something its function's return structure does not allow.

    Moodle raises ``invalid_response_exception`` here; in the emulator it is a bug.
    """


def clean_returns(function: str, value: Any, release: str = "4.5") -> Any:
    """Shape a handler's answer like ``external_api::clean_returnvalue``."""
    node = schema(function, release)["returns"]
    if node is None:
        return None
    return _clean(node, value, function)


def _clean(node: Node, value: Any, where: str) -> Any:
    kind = node["type"]
    if value is None and node.get("allownull", False) and kind == "single":
        return None
    if kind == "structure":
        if value == [] and all(c["required"] != "required" for c in node["keys"].values()):
            return []  # an empty PHP array: json_encode writes [] even for a structure
        if not isinstance(value, dict):
            raise InvalidResponse(f"{where}: expected an object, got {type(value).__name__}")
        result: dict[str, Any] = {}
        for key, child in node["keys"].items():
            if key in value:
                result[key] = _clean(child, value[key], f"{where}.{key}")
            elif child["required"] == "required":
                raise InvalidResponse(f"{where}: missing required key {key}")
            elif child["required"] == "default" and child["type"] == "single":
                result[key] = child.get("default")  # as clean_returnvalue: values only, never lists
        return result
    if kind == "multiple":
        if not isinstance(value, list):
            raise InvalidResponse(f"{where}: expected a list, got {type(value).__name__}")
        return [_clean(node["content"], item, f"{where}[]") for item in value]
    if value is None:
        raise InvalidResponse(f"{where}: null is not allowed")
    ptype = node.get("paramtype", "PARAM_RAW")
    if ptype == "PARAM_INT":
        if isinstance(value, float) and not value.is_integer():
            raise InvalidResponse(f"{where}: {value!r} is not an int")
        return int(value)
    if ptype == "PARAM_FLOAT":
        number = float(value)
        return int(number) if number.is_integer() else number  # json_encode writes 10.0 as 10
    if ptype == "PARAM_BOOL":
        return bool(value)
    if isinstance(value, (list, dict)):
        raise InvalidResponse(f"{where}: expected a scalar")
    return value
