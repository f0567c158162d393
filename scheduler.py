"""The scheduler process: configure logging, load the configuration, run every timed job."""

from bot import config as bot_config
from bot.jobs import run

try:
    from bot.logs import configure_logging
except ImportError:  # pragma: no cover - the logs module ships with the pipeline
    import logging

    def configure_logging() -> None:
        """Log to stderr at INFO."""
        logging.basicConfig(level=logging.INFO)


if __name__ == "__main__":
    configure_logging()
    run(bot_config.load())
