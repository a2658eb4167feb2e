"""The one name a bundle goes by, valid for every target that uses it.

The name becomes a Docker image repository and container name, a compose service and project, a
Swarm stack and service, and Kubernetes object, container and Service names and label values. The
strictest of those rules is a Kubernetes Service name, an RFC 1035 label (DNS-1035): lower-case
letters, digits and '-', starting with a letter, ending with a letter or digit, at most 63
characters. A name that keeps it keeps all the others: Kubernetes' DNS-1123 label (objects,
containers), Docker's container name `[a-zA-Z0-9][a-zA-Z0-9_.-]+` (two characters at least) and
image repository component `[a-z0-9]+([._-][a-z0-9]+)*`.
Sources: Kubernetes docs "Object Names and IDs" (RFC 1035/1123 labels); moby's container name
pattern (daemon/names) and the distribution reference grammar.
"""

from __future__ import annotations

import re

MAX = 63
DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
DNS_1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DOCKER_CONTAINER = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
DOCKER_REPOSITORY = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")


def problem(name: str) -> str | None:
    """Why ``name`` cannot be a bundle's name, or None."""
    if len(name) < 2:
        return "it must have 2 characters at least (Docker container names)"
    if len(name) > MAX:
        return f"it is longer than {MAX} characters (Kubernetes names)"
    if not DNS_1035.fullmatch(name):
        return ("use lower-case letters, digits and '-', starting with a letter and ending with a letter or digit "
                "(a Kubernetes Service name, RFC 1035)")
    return None


def derive(text: str, suffix: str = "") -> str:
    """A valid name made from ``text`` (a model id, a folder) and ``suffix`` (the kind)."""
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "model"
    if not base[0].isalpha():
        base = f"m-{base}"
    tail = f"-{suffix}" if suffix else ""
    base = base[:MAX - len(tail)].rstrip("-")
    name = f"{base}{tail}"
    return name if len(name) >= 2 else f"{name}-x"


def check(name: str) -> str:
    """``name`` if it is valid; else DlgenError with the reason and a valid name to use."""
    from dlgen.errors import DlgenError

    why = problem(name)
    if why:
        raise DlgenError(f"invalid name {name!r}: {why}", f"use --name {derive(name)}")
    return name
