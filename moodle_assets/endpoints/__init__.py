"""Endpoint specs: the model, the YAML loader, macros, extraction and the runner."""

from .loader import load_specs, load_text
from .spec import EndpointSpec, SpecError

__all__ = ["EndpointSpec", "SpecError", "load_specs", "load_text"]
