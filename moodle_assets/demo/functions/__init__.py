"""The registry of emulated web-service functions: name → handler.

Each area module exports ``HANDLERS``; adding a function is a handler there plus its data in
the dataset. A handler gets ``(dataset, caller user id, validated params)`` and returns
JSON-able data shaped like the function's return structure, or raises ``MoodleException``.
"""

from __future__ import annotations

from . import (
    assign,
    badges,
    calendar,
    competency,
    completion,
    contents,
    courses,
    enrol,
    forum,
    grades,
    groups,
    quiz,
    site,
    users,
)
from .common import Handler

REGISTRY: dict[str, Handler] = {}
for _module in (
    site,
    courses,
    contents,
    users,
    enrol,
    grades,
    assign,
    quiz,
    completion,
    groups,
    forum,
    calendar,
    badges,
    competency,
):
    REGISTRY.update(_module.HANDLERS)

__all__ = ["REGISTRY", "Handler"]
