"""Every network fake behind one interface: run it, get our brand account on it, write as a customer.

Used by the connector conformance suite (tests/connectors/conformance) and by ``horseshoe demo``.
"""

from .builtin import BUILTIN
from .harness import Harness, Posted

__all__ = ["BUILTIN", "Harness", "Posted"]
