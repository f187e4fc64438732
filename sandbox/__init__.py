"""Faithful fakes of Zendesk, Salesforce and the social networks, speaking their real wire protocols.

Each fake is a WSGI app split moto-style into models (state), responses (handlers), urls (routing) and
exceptions (the service's own error shapes). ``sandbox.server.serve_in_thread`` runs one on a real
localhost port so the real client libraries can talk to it.
"""
