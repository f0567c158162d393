"""The webhook process: `gunicorn webhooks:app` or `flask --app webhooks run`."""

from bot import config as bot_config
from bot.logs import configure_logging
from bot.web import create_app

configure_logging()
app = create_app(bot_config.load())
