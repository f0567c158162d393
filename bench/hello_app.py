"""A bare Flask app for the webhook benchmark's baseline: `gunicorn bench.hello_app:app`."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
@app.post("/")
def hello() -> str:
    """The cheapest possible answer."""
    return "hello"
