"""Load endpoint specs from YAML: the built-in templates and a user's own file.

Every problem in every file is collected before anything is raised, so one edit-and-reload
fixes them all; a problem never makes an asset disappear quietly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import yaml

from moodle_assets.endpoints.spec import EndpointSpec, SpecError
from moodle_assets.endpoints.validation import build_spec, load_yaml
from moodle_assets.moodle.schemas import record_keys
from moodle_assets.project import PROJECT_DIR_ENV, SettingError, project_dir, project_path

USER_FILE_ENV = "MOODLE_ENDPOINTS_FILE"
DEFAULT_USER_FILE = "moodle_endpoints.yaml"


def _parse_file(text: str, source: str) -> tuple[list[EndpointSpec], list[str]]:
    try:
        doc = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        return [], [f"{source}{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]
    if doc is None:
        return [], []
    if isinstance(doc, dict) and "endpoints" in doc:
        doc = doc["endpoints"]
    if not isinstance(doc, list):
        return [], [f"{source}: expected a list of endpoints (or a mapping with an 'endpoints' list)"]
    specs, problems = [], []
    for i, raw in enumerate(doc):
        spec, errs = build_spec(raw, source, i, partial=True)
        problems.extend(errs)
        if spec:
            specs.append(spec)
    return specs, problems


def builtin_template_texts() -> list[tuple[str, str]]:
    """(source name, YAML text) of every template shipped in the package."""
    folder = resources.files("moodle_assets.endpoints") / "templates"
    return sorted(
        (f"templates/{entry.name}", entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


def user_file_setting() -> str | None:
    """``$MOODLE_ENDPOINTS_FILE``, None when unset or empty."""
    return os.environ.get(USER_FILE_ENV, "").strip() or None


def user_file_path() -> Path:
    """The user's endpoints file: ``$MOODLE_ENDPOINTS_FILE`` if set, else ``moodle_endpoints.yaml``;
    a relative path is taken from the project folder (never the working directory)."""
    return project_path(user_file_setting() or DEFAULT_USER_FILE)


def missing_user_file_problem(path: Path) -> str | None:
    """The error when ``$MOODLE_ENDPOINTS_FILE`` names a file that is not there (the default
    file is optional: without it there are only the built-in endpoints)."""
    setting = user_file_setting()
    if setting is None or path.is_file():
        return None
    return (
        f"{USER_FILE_ENV} is {setting!r}, but there is no file {path}: point it at your endpoints file, "
        f"or unset it to use {DEFAULT_USER_FILE} in the project folder ({_project_folder()})"
    )


def _project_folder() -> str:
    try:
        return str(project_dir())
    except SettingError:
        return f"${PROJECT_DIR_ENV}"


def check_graph(specs: Iterable[EndpointSpec]) -> list[str]:
    """Cross-endpoint problems: duplicate names, lookups on unknown assets, cycles."""
    problems: list[str] = []
    by_name: dict[str, EndpointSpec] = {}
    for spec in specs:
        if spec.name in by_name:
            problems.append(
                f"{spec.source}: endpoint '{spec.name}', field 'name': duplicate name "
                f"(also defined in {by_name[spec.name].source}); asset names must be unique"
            )
        else:
            by_name[spec.name] = spec
    for spec in by_name.values():
        for dep in spec.upstream():
            if dep not in by_name:
                problems.append(
                    f"{spec.source}: endpoint '{spec.name}', field 'params': lookup on unknown asset '{dep}'; "
                    f"known assets: {', '.join(sorted(by_name))}"
                )
    for spec in by_name.values():
        problems.extend(_unknown_columns(spec, by_name))
    # Depth-first search for cycles in the lookup graph.
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for dep in by_name[name].upstream():
            if dep not in by_name:
                continue
            if state.get(dep) == 1:
                cycle = trail[trail.index(dep) :] + [dep] if dep in trail else [name, dep]
                problems.append(
                    f"{by_name[name].source}: endpoint '{name}': lookup cycle {' -> '.join(cycle)}; "
                    "an asset cannot depend on itself"
                )
            elif dep not in state:
                visit(dep, trail + [dep])
        state[name] = 2

    for name in by_name:
        if name not in state:
            visit(name, [name])
    return problems


def known_columns(spec: EndpointSpec) -> set[str] | None:
    """The columns an endpoint's table will have, when its function's answer is known.

    From the real return structure at the data path, plus the columns the project adds
    (context of each call, parent fields, declared columns). None when not knowable before
    a first load (an unknown function, a complex path, an exploded list).
    """
    if spec.explode:
        return None
    keys = record_keys(spec.function, spec.data_path)
    if keys is None:
        return None
    added = set(spec.parent_fields) | set(spec.columns) | {"_loaded_at", "_item", "_partition"}
    if spec.scalar_column:
        added.add(spec.scalar_column)
    added |= set(spec.fan_out.context_columns) if spec.fan_out else set()
    return keys | added


def _unknown_columns(spec: EndpointSpec, by_name: dict[str, EndpointSpec]) -> list[str]:
    problems = []
    for ref in spec.fan_out.refs if spec.fan_out else ():
        upstream = by_name.get(ref.asset)
        columns = known_columns(upstream) if upstream else None
        if columns is not None and ref.column not in columns:
            problems.append(
                f"{spec.source}: endpoint '{spec.name}', field 'params': lookup {{{ref.key}}}: asset "
                f"'{ref.asset}' has no column '{ref.column}'; its columns include {', '.join(sorted(columns)[:12])}"
            )
    return problems


def load_specs(user_file: str | os.PathLike | None = None, include_user: bool = True) -> list[EndpointSpec]:
    """The built-in templates plus the user's endpoints, validated together.

    The user's endpoints are read from ``user_file`` if given, else from :func:`user_file_path`
    (``$MOODLE_ENDPOINTS_FILE``, which must exist, or ``moodle_endpoints.yaml`` in the project
    folder, if there is one).

    Raises SpecError listing every problem; nothing is returned half-valid.
    """
    specs: list[EndpointSpec] = []
    problems: list[str] = []
    for source, text in builtin_template_texts():
        found, errs = _parse_file(text, source)
        specs.extend(found)
        problems.extend(errs)
    if include_user:
        path = Path(user_file) if user_file is not None else user_file_path()
        if path.is_file():
            found, errs = _parse_file(path.read_text(encoding="utf-8"), str(path))
            specs.extend(found)
            problems.extend(errs)
        elif user_file is not None:
            problems.append(f"{path}: file not found (set {USER_FILE_ENV} to your endpoints file)")
        elif problem := missing_user_file_problem(path):
            problems.append(problem)
    problems.extend(check_graph(specs))
    if problems:
        raise SpecError(problems)
    return specs


def load_text(text: str, source: str = "<text>") -> list[EndpointSpec]:
    """Specs from one YAML text, validated on their own (for tests and the CLI)."""
    specs, problems = _parse_file(text, source)
    problems.extend(check_graph(specs))
    if problems:
        raise SpecError(problems)
    return specs
