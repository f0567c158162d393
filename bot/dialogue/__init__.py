"""What the bot says: intent and conversation state in, replies and the new state out (pure).

`decide.respond` takes a citizen's text through the decisions in order; `answers` builds each
kind of turn (an answer, choices, a fallback, a hand-over, small talk); `replies` cuts buttons to
Zalo's limits; `wards` handles the wards a citizen names; `messages` holds the typed results.
"""

from bot.kb.needs import DIALOGUE_TEXTS as REQUIRED_TEXTS

__all__ = ["REQUIRED_TEXTS"]
"""`REQUIRED_TEXTS`: the text keys the dialogue says (`bot.kb.needs`)."""
