"""Reply Assist: the policies and replies that fit a support ticket, served to the helpdesk."""
from __future__ import annotations

import logging
import os

from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: config, store, index, API blueprints, commands."""
    from server import config
    from server.migrations import cli as db_cli
    if db_cli.running():  # `flask --app server db ...`: the schema may be behind; only config is needed
        app = Flask(__name__)
        config.load(app, test_config)
        return db_cli.init_app(app)
    from server import api, cli, db, errors, indexing, language, learner
    from server import console, cors, demo  # the extension's origin checks; the demo helpdesk
    from index import segments
    from server import events  # suggestion events, written off the request path
    from server import readcache  # the reads /suggest repeats, checked once per request
    from server.insertions.routes import bp as insertions_bp
    from server.offers.routes import bp as offers_bp
    from server.snippets.routes import bp as snippets_bp
    from server.suggest.routes import bp as suggest_bp
    from server.selfservice import routes as selfservice
    from server.contacts.routes import bp as contacts_bp
    from server.desk.routes import bp as desk_bp

    app = Flask(__name__, instance_relative_config=False)
    config.load(app, test_config)
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    errors.init_app(app)
    cors.init_app(app)
    db.init_app(app)
    indexing.init_app(app)
    learner.init_app(app)
    events.init_app(app)
    readcache.init_app(app)
    segments.configure(app.config["SEARCH_CACHE_MB"])
    app.register_blueprint(api.bp)
    app.register_blueprint(snippets_bp)
    app.register_blueprint(suggest_bp)
    app.register_blueprint(insertions_bp)
    app.register_blueprint(offers_bp)
    app.register_blueprint(contacts_bp)
    app.register_blueprint(desk_bp)
    selfservice.init_app(app)  # the public API, the help widget, the demo FAQ page
    from server import insights  # analytics, content gaps, feedback, helpdesk imports (issue 11)
    insights.init_app(app)
    cli.init_app(app)
    # Not in `flask ...` commands (Flask sets FLASK_RUN_FROM_CLI): a rebuild or an import would
    # share its cores with a warm-up nobody waits for.
    if (not app.config.get("TESTING") and app.config.get("WARM_UP", True)
            and os.environ.get("FLASK_RUN_FROM_CLI") != "true"):
        # So the first ticket of the day isn't the one that waits for the models to load.
        language.warm_up(language.candidates(["en", "it", "id", "ja", "ar"], app.config["DETECT_LANGUAGES"]))
        from server import warming
        warming.prewarm_search_in_background(app)  # and doesn't read postings from Whoosh cold
    demo.init_app(app)  # the demo helpdesk, only when DEMO is on
    console.init_app(app)  # the managers' console, in every mode
    return app
