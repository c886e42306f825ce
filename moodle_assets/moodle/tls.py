"""Transport security of a client: the TLS contexts, and the warning for a cleartext site.

Contexts are built once per process and shared by every client (loading the CA certificates
takes ~30 ms, and a harvest makes one client per asset).
"""

from __future__ import annotations

import functools
import ipaddress
import os
import ssl
from urllib.parse import urlsplit

import httpx

__all__ = ["is_cleartext_remote", "ssl_context"]


def is_cleartext_remote(url: str) -> bool:
    """True for an ``http://`` URL whose host is not this machine (loopback stays quiet)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "http":
        return False
    host = (parts.hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def ssl_context(verify: bool | str, url: str) -> ssl.SSLContext:
    """The TLS context for ``verify``, built once per process and shared by every client.

    Loading the CA certificates takes ~30 ms, and a harvest makes one client per asset. An
    http:// site never uses TLS (redirects are not followed), so it gets a bare context
    without loading any certificates; a CA bundle path is still checked, whatever the URL.
    """
    if isinstance(verify, str):
        return _ca_bundle_context(verify)
    if urlsplit(url.strip()).scheme.lower() == "http":
        return _bare_context()
    return _default_context(bool(verify), os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _ca_bundle_context(path: str) -> ssl.SSLContext:
    """httpx 0.28 wants an SSLContext for a CA bundle path."""
    try:
        return ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
    raise ValueError(
        f"the CA bundle {path!r} given as verify cannot be used ({reason}): "
        "point verify at a readable PEM file, or set it to True for the system CAs"
    )


@functools.cache
def _default_context(verify: bool, cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """What httpx would build for ``verify`` (True: certifi's CAs, or SSL_CERT_FILE / SSL_CERT_DIR)."""
    return httpx.create_ssl_context(verify=verify)


@functools.lru_cache(maxsize=1)
def _bare_context() -> ssl.SSLContext:
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
