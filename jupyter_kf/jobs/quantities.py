"""Kubernetes resource quantities (``500m``, ``2``, ``4Gi``, ``1.5e3``), parsed without I/O."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SUFFIXES = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
# The apimachinery grammar: a signed decimal number, then a binary or decimal SI suffix,
# or a decimal exponent.
_QUANTITY = re.compile(
    r"^([+-]?[0-9]+(?:\.[0-9]*)?|[+-]?\.[0-9]+)([eE][+-]?[0-9]+|[numkMGTPE]i?)?$"
)


def parse_quantity(value: str | int | float) -> Decimal:
    """The quantity's value in base units (cores, bytes). Raises ``ValueError`` if malformed."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a quantity")
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. 500m, 2, 4Gi)")
    number, suffix = match.group(1), match.group(2) or ""
    try:
        base = Decimal(number)
    except InvalidOperation as exc:  # pragma: no cover - the regex already checked
        raise ValueError(f"{value!r} is not a Kubernetes quantity") from exc
    if suffix[:1] in ("e", "E"):
        return base * (Decimal(10) ** int(suffix[1:]))
    if suffix not in _SUFFIXES or suffix in ("ki", "ni", "ui", "mi"):
        raise ValueError(f"{value!r} has an unknown suffix {suffix!r}")
    return base * _SUFFIXES[suffix]
