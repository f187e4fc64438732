"""Every network fake behind one interface: run it, get our brand account on it, write as a customer.

Used by the connector conformance suite (tests/connectors/conformance) and by ``horseshoe demo``. The
``Harness`` base lives here; each network's harness lives beside its fake (``sandbox/x/harness.py``...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .harness import Harness, Posted

if TYPE_CHECKING:
    from .registry import BUILTIN

__all__ = ["BUILTIN", "Harness", "Posted"]


def __getattr__(name: str) -> Any:
    # The registry imports every harness module, and each of those imports this package for the base
    # class: loading it on first use lets a harness module be imported on its own without a cycle.
    if name == "BUILTIN":
        from .registry import BUILTIN

        return BUILTIN
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
