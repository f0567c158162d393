"""The scheduler process: configure logging, load the configuration, run every timed job."""

import logging

from bot import config as bot_config
from bot.jobs import run
from bot.logs import configure_logging

if __name__ == "__main__":
    configure_logging()
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per tick otherwise
    run(bot_config.load())
