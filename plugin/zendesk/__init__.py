"""Zendesk Channel Framework: push sink, pull, channelback, clickthrough, events and the admin UI.

One blueprint (``blueprint.bp``, mounted at ``/zendesk``) carries every route Zendesk calls;
``push`` is the sink, ``instances`` the channel instances of a tenant, ``resources`` the mapping of a
mention to an external resource, ``tokens`` the signed metadata and state.
"""
