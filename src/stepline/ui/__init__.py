"""The operators' web UI at /ui: server-rendered pages on the services that the API uses."""

from .mount import mount_ui

__all__ = ["mount_ui"]
