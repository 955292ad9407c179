"""Mounting of the UI's routes and static files on the application."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from . import actions, pages_auth, pages_executions, pages_start, pages_workflows, stream
from .responses import UI_DIR


def mount_ui(app: FastAPI) -> None:
    """Serve the UI under /ui and its scripts, styles and vendored libraries under /ui/static."""
    # Static files first, so /ui/static/... never reaches a page route.
    app.mount("/ui/static", StaticFiles(directory=UI_DIR / "static"), name="ui-static")
    for module in (pages_auth, pages_workflows, pages_start, pages_executions, actions, stream):
        app.include_router(module.router)
