"""Wiring of the insights features (issue 11): their blueprints and commands."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the analytics, content-gap, feedback and import blueprints and commands."""
    from server.analytics.routes import bp as analytics_bp
    from server.feedback.routes import bp as feedback_bp
    from server.gaps.routes import bp as gaps_bp
    from server.imports.cli import import_cli
    from server.imports.routes import bp as imports_bp

    for bp in (analytics_bp, feedback_bp, gaps_bp, imports_bp):
        app.register_blueprint(bp)
    app.cli.add_command(import_cli)


def fresh_events() -> None:
    """Write queued suggestion events now, so reports count what was just shown."""
    from server.events import events

    events().flush()
