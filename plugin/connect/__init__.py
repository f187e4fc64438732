"""Guided connection of social accounts: the pages, the OAuth callback, storing and activating.

Trusts only its own signed connect grant (``grant.mint_connect_grant``), so any trusted front door
(the Zendesk admin page today, the standalone console later) can send an admin here.
"""
