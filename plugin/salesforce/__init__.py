"""Salesforce: mentions as SocialPost/SocialPersona/Contact/Case, agents' outbound SocialPosts published.

``connect`` opens the org, ``api`` wraps it (limits, errors), ``inbound``/``records`` build the
records the default inbound social handler would, ``publisher`` reads and reports outbound posts,
``sink`` is the ``Sink`` the host calls.
"""
