"""Inbound path: mentions stored first, then triaged, resolved and routed to one delivery per sink."""
