"""The connect pages as a default plugin (plugin/plugins.py), mounted like any third party's routes."""

from __future__ import annotations

from flask import Blueprint

from plugin.connect.views import bp
from plugin.plugins import hookimpl


@hookimpl
def horseshoe_register_routes() -> list[Blueprint]:
    return [bp]
