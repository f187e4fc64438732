"""horseshoe: social-media mentions into the helpdesk, agent replies back to the network."""

__version__ = "0.1.0"
