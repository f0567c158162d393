"""The webhook process: `gunicorn webhooks:app` or `flask --app webhooks run`."""

from bot import config as bot_config
from bot.logs import configure_logging
from bot.web import create_app

configure_logging()
config = bot_config.load()
bot_config.require(config, "zalo.app_id", "zalo.oa_secret_key")
app = create_app(config)
