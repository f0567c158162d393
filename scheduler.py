"""The scheduler process: configure logging, load the configuration, run every timed job."""

import logging

from bot import config as bot_config
from bot.jobs import run
from bot.logs import configure_logging

if __name__ == "__main__":
    configure_logging()
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per tick otherwise
    config = bot_config.load()
    try:
        bot_config.require(config, "zalo.app_id", "zalo.app_secret")
    except bot_config.ConfigError as exc:
        raise SystemExit(f"Lỗi: {exc}") from None
    run(config)
