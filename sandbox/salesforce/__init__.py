"""Fake Salesforce: the REST API subset horseshoe uses, driven by the real simple-salesforce.

Objects: Account, Contact, Lead, Case, SocialPersona, SocialPost (+ User), with real key prefixes
(001, 003, 00Q, 500, 0SP, 0ST, 005), required fields, lengths and picklists. Endpoints: OAuth token
(password, JWT bearer, refresh), SOAP ``login``, ``/services/data/`` versions, describeGlobal/describe,
sObject rows and create, upsert by external id, ``query``/``queryAll`` (SOQL subset, nextRecordsUrl
paging), sObject Collections (create/update/delete/upsert/retrieve, ``allOrNone``) and ``/limits``.
Every org-scoped response carries ``Sforce-Limit-Info: api-usage=used/limit``.

Start it (HTTPS, since simple-salesforce only builds ``https://`` URLs)::

    from sandbox.server import serve_in_thread
    from sandbox.salesforce import create_app, localhost_cert
    cert, key = localhost_cert()
    app = create_app()                      # seeded org/user/app, see app.DEFAULT_*
    server = serve_in_thread(app, ssl_context=(cert, key))
    base = f"https://127.0.0.1:{server.port}"
    state = app.state                       # SalesforceState: the Python control surface

Connect with username + password + security token (SOAP login), or JWT bearer::

    from simple_salesforce import Salesforce
    from sandbox.salesforce import sandbox_session
    session = sandbox_session(base, cert)   # routes login.salesforce.com to the fake, trusts its cert
    sf = Salesforce(username=..., password=..., security_token=..., session=session)
    sf = Salesforce(username=..., consumer_key=..., privatekey=pem, session=session)

Or inject a session id and instance URL (no login round trip)::

    token = state.open_session(user).token  # or the access_token from /services/oauth2/token
    sf = Salesforce(instance_url=base, session_id=token, session=sandbox_session(base, cert))

A plain ``requests.Session`` also works with ``verify = cert`` *and* ``trust_env = False``: otherwise
``REQUESTS_CA_BUNDLE`` in the environment silently overrides ``session.verify`` (see ``client.py``).

Control over HTTP lives under ``/_sandbox/`` (see ``urls.py``); faults via ``POST /_sandbox/faults``.
"""

from .app import (
    DEFAULT_CONSUMER_KEY,
    DEFAULT_CONSUMER_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_SECURITY_TOKEN,
    DEFAULT_USERNAME,
    SalesforceApp,
    create_app,
    seeded_state,
)
from .client import SandboxAdapter, sandbox_session
from .models import ConnectedApp, DuplicateRule, Org, SalesforceState, User
from .schema import FieldDef
from .tls import localhost_cert

__all__ = [
    "DEFAULT_CONSUMER_KEY",
    "DEFAULT_CONSUMER_SECRET",
    "DEFAULT_PASSWORD",
    "DEFAULT_SECURITY_TOKEN",
    "DEFAULT_USERNAME",
    "ConnectedApp",
    "DuplicateRule",
    "FieldDef",
    "Org",
    "SalesforceApp",
    "SalesforceState",
    "SandboxAdapter",
    "User",
    "create_app",
    "localhost_cert",
    "sandbox_session",
    "seeded_state",
]
