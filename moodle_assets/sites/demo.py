"""Several emulated Moodle sites at once, to try the sites file and ``sites check`` on.

``moodle-assets demo-server --sites N`` serves N demo sites of different sizes and seeds on
consecutive ports, each with a token of its own, and prints the sites file and the lines to
export (or writes the file with ``--sites-file``). The tokens are the emulator's public demo
constants, not secrets; a real token is never printed by any command.
"""

from __future__ import annotations

import argparse
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the emulator is imported only when demo sites are started
    from moodle_assets.demo.server import DemoServer

NAMES = ("north", "south", "east", "west", "central")
MAX_SITES = 9
HEADER = "# Demo sites written by 'moodle-assets demo-server --sites'"


@dataclass(frozen=True)
class DemoSite:
    """One running demo site, its sites-file entry and its (public, demo) token."""

    name: str
    server: DemoServer
    token: str
    scale: float
    seed: int

    @property
    def token_env(self) -> str:
        return f"MOODLE_SITE_{self.name.upper()}_TOKEN"


def site_name(index: int) -> str:
    return NAMES[index] if index < len(NAMES) else f"site{index + 1}"


def start_demo_sites(
    count: int,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 7,
    scale: float = 1.0,
    moodle_version: str = "4.5",
) -> list[DemoSite]:
    """Start ``count`` sites: the first of ``scale``, each next one smaller (scale / n) and
    with the next seed, so their courses and users differ; ports ``port``, ``port + 1``, ...
    (``port`` 0: any free ports). Stops the ones started if one cannot bind."""
    from moodle_assets.demo.dataset import DemoConfig, generate
    from moodle_assets.demo.server import DemoServer

    if not 1 <= count <= MAX_SITES:
        raise ValueError(f"--sites must be 1 to {MAX_SITES}, not {count}")
    started: list[DemoSite] = []
    try:
        for i in range(count):
            name = site_name(i)
            config = DemoConfig(seed=seed + i, scale=scale / (i + 1), moodle_version=moodle_version)
            token = f"demo-token-{name}-site-0123456789"
            server = DemoServer(generate(config), host, port + i if port else 0, token=token).start()
            started.append(DemoSite(name, server, token, config.scale, config.seed))
    except BaseException:
        for site in started:
            site.server.stop()
        raise
    return started


def sites_yaml(sites: list[DemoSite]) -> str:
    """The sites file for the running demo sites (names of variables only, no token)."""
    out = [HEADER, "# Export each token_env below before 'moodle-assets sites check'.", "sites:"]
    for site in sites:
        out += [
            f"  - name: {site.name}  # demo seed {site.seed}, scale {site.scale:g}",
            f"    url: {site.server.url}",
            f"    token_env: {site.token_env}",
        ]
    return "\n".join(out) + "\n"


def export_lines(sites: list[DemoSite]) -> str:
    return "\n".join(f"export {site.token_env}={site.token}" for site in sites)


def write_sites_file(path: Path, text: str) -> None:
    """Write the demo's sites file, never over a file the demo did not write."""
    if path.exists() and not path.read_text(encoding="utf-8").startswith(HEADER):
        raise SystemExit(f"moodle-assets demo-server: {path} exists and is not a demo sites file; not overwritten")
    path.write_text(text, encoding="utf-8")


def run_demo_sites(args: argparse.Namespace) -> int:
    """``demo-server --sites N``: serve until Ctrl-C."""
    try:
        sites = start_demo_sites(
            args.sites,
            host=args.host,
            port=args.port,
            seed=args.seed,
            scale=args.scale,
            moodle_version=args.moodle_version,
        )
    except (ValueError, OSError) as exc:
        print(f"moodle-assets demo-server: {exc}")
        return 2
    try:
        print(f"{len(sites)} demo Moodle {args.moodle_version} sites (Ctrl-C stops them):")
        for site in sites:
            print(f"  {site.name:<8} {site.server.url}  seed {site.seed}, scale {site.scale:g}")
        text = sites_yaml(sites)
        if args.sites_file:
            path = Path(args.sites_file).expanduser()
            write_sites_file(path, text)
            print(f"\nWrote {path}; then:\n  export MOODLE_SITES_FILE={path.resolve()}")
        else:
            print("\nSites file (save as moodle_sites.yaml in the project folder):\n")
            print(text)
        print("\nThe demo tokens (public constants of the emulator), one variable per site:")
        print(export_lines(sites), flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        for site in sites:
            site.server.stop()
    return 0


def add_sites_flags(demo_server: argparse.ArgumentParser) -> None:
    """Add ``--sites`` and ``--sites-file`` to the existing ``demo-server`` command; without
    them it runs exactly as before (its own function, unchanged)."""
    single = demo_server.get_default("func")
    demo_server.add_argument(
        "--sites",
        type=int,
        default=1,
        metavar="N",
        help="Serve N demo sites of different sizes on consecutive ports from --port, and print "
        "their sites file and token variables (default 1: the single demo site).",
    )
    demo_server.add_argument("--sites-file", help="With --sites: write the demo's sites file here.")

    def dispatch(args: argparse.Namespace) -> int:
        if args.sites == 1 and not args.sites_file:
            return single(args)
        return run_demo_sites(args)

    demo_server.set_defaults(func=dispatch)


__all__ = ["DemoSite", "add_sites_flags", "export_lines", "run_demo_sites", "sites_yaml", "start_demo_sites"]
