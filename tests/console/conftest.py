"""The two-tenant stack of tests/security (acme, globex) serves the console tests too."""

from tests.security.conftest import stack  # noqa: F401  (the fixture)
