"""Start-up steps that features add to the app (scheduler, campaigns, watchers)."""

from __future__ import annotations

from bot.app import App


def install_features(app: App) -> None:
    """Attach start-up and shutdown hooks for the scheduled parts of the bot."""
    from schedules import runtime

    app.startup_hooks.append(lambda a: runtime.set_app(a))
    app.shutdown_hooks.append(lambda a: runtime.set_app(None))
