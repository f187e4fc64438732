"""The Flask app: Zendesk Channel Framework endpoints, network webhooks, health."""

from plugin.web.app import create_app

__all__ = ["create_app"]
