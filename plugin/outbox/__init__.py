"""Agents' replies on their way back to the network: recorded once, posted at most once.

``replies`` is the outbox itself; ``crm`` collects replies from CRMs that must be polled and reports
each reply's fate back to them.
"""
