"""The explorer web app (Panel). The core never imports this package."""

from pairscope.ui.app import create_app, serve
from pairscope.ui.settings import Settings

__all__ = ["Settings", "create_app", "serve"]
