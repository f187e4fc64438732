"""The standalone console: admin users, sessions, the failures page (issue 15).

Pages of other packages mount behind it with ``plugin.console.auth.principal`` and
``plugin.console.auth.require_admin`` (docs/ARCHITECTURE.md, "The standalone console").
"""
