"""Kubernetes names from JupyterHub user and server names: the one place they are made.

Any user name (unicode, 10 KB, ``"../.."``, upper case) must give a valid, stable name
that no other user name gives. The rules (after kubespawner's ``safe`` scheme):

- A name that is already a valid DNS-1123 label (``[a-z0-9-]``, starts and ends
  alphanumeric), contains no ``--`` and fits the budget is kept as it is: ``alice``.
- Anything else is cleaned (lower case, every run of other characters becomes one
  ``-``, truncated) and gets ``---`` plus the first 8 hex digits of its sha256:
  ``Alice@Example.com`` → ``alice-example-com---5d2a3f9c``.
- A user and a named server always get the hashed form ``{user}--{server}---{hash}``,
  the hash taken over both names.

Why no two inputs meet: a kept name never contains ``--``; a hashed single name contains
``--`` exactly once, in its ``---`` suffix (the cleaned part never has ``--``); a
user+server name contains ``--`` twice. Within one form, the hash covers the whole input.
"""

from __future__ import annotations

import hashlib
import re

DNS_LABEL_MAX = 63
HASH_LEN = 8
_VALID = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_OTHER = re.compile(r"[^a-z0-9]+")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?)?$")


def _hash(*parts: str) -> str:
    digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:HASH_LEN]


def _clean(name: str, budget: int) -> str:
    """Lower case, other characters collapsed to single dashes, no dash at either end."""
    cleaned = _OTHER.sub("-", name.lower()).strip("-")
    return cleaned[:budget].strip("-")


def is_safe(name: str, max_length: int = DNS_LABEL_MAX) -> bool:
    """Whether ``name`` is kept as it is: a DNS-1123 label without ``--`` in budget."""
    return bool(_VALID.match(name)) and "--" not in name and len(name) <= max_length


def safe_slug(name: str, max_length: int = DNS_LABEL_MAX) -> str:
    """A DNS-1123 label (``max_length`` at most) for one name; see the module doc."""
    if max_length < HASH_LEN + 4:
        raise ValueError(f"max_length {max_length} leaves no room for a hash")
    if is_safe(name, max_length):
        return name
    cleaned = _clean(name, max_length - HASH_LEN - 3) or "x"
    return f"{cleaned}---{_hash(name)}"


def multi_slug(user: str, server: str, max_length: int = DNS_LABEL_MAX) -> str:
    """A DNS-1123 label for a user's named server: ``{user}--{server}---{hash}``."""
    if max_length < HASH_LEN + 9:
        raise ValueError(f"max_length {max_length} leaves no room for a hash")
    budget = max_length - HASH_LEN - 5  # "--" and "---"
    server_part = _clean(server, budget // 2) or "x"  # the server gets half at most
    user_part = _clean(user, budget - len(server_part)) or "x"
    return f"{user_part}--{server_part}---{_hash(user, server)}"


def server_slug(user: str, server: str = "", max_length: int = DNS_LABEL_MAX) -> str:
    """The slug of a (user, server): the user's alone for the default server."""
    return multi_slug(user, server, max_length) if server else safe_slug(user, max_length)


def label_value(name: str) -> str:
    """A valid label value (63 characters, ``[A-Za-z0-9_.-]``) for any name, hashed if
    it had to change. The exact name goes in an annotation beside it."""
    if len(name) <= DNS_LABEL_MAX and _LABEL_VALUE.match(name) and "--" not in name:
        return name
    cleaned = re.sub(r"[^A-Za-z0-9_.]+", "-", name).strip("-_.")
    cleaned = cleaned[: DNS_LABEL_MAX - HASH_LEN - 3].strip("-_.") or "x"
    return f"{cleaned}---{_hash(name)}"
