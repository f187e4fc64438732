"""Faithful fakes of Zendesk, Salesforce and the social networks, speaking their real wire protocols.

Each fake is a package split moto-style into models (state: a ``sandbox.base.FakeBackend``), responses
(handlers), urls (routing), exceptions (the service's own error shapes) and harness (its adapter for the
connector conformance suite, networks only). ``sandbox.base.FakeService`` serves every fake with the
same ``/_sandbox`` controls, latency, request budget and fault injection; ``sandbox.runner.start_fake``
runs one on a real localhost port so the real client libraries can talk to it.
"""
