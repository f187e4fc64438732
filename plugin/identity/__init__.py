"""One customer record: social profiles matched, linked and merged onto the CRM's existing customers.

``scoring`` decides from evidence, ``adapter`` is what a CRM must offer, ``zendesk``/``salesforce`` are
the adapters, ``plugin`` is the built-in ``horseshoe_resolve_identity``, ``views``/``cli`` are the agent's
and operator's ways in, ``store`` its rows.
"""
