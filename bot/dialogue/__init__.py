"""What the bot says: intent and conversation state in, replies and the new state out (pure).

`decide.respond` takes a citizen's text through the decisions in order; `answers` builds each
kind of turn (an answer, choices, a fallback, a hand-over, small talk); `replies` cuts buttons to
Zalo's limits; `wards` handles the wards a citizen names; `messages` holds the typed results.
"""

REQUIRED_TEXTS = (
    "welcome",
    "menu_intro",
    "fallback",
    "handover",
    "smalltalk_greeting",
    "smalltalk_thanks",
    "smalltalk_who",
    "smalltalk_bye",
    "smalltalk_emoji",
    "smalltalk_gibberish",
    "choices_prompt",
    "numbered_hint",
    "ask_topic",
    "overview_more",
    "button_documents",
    "button_duration",
    "button_fee",
    "button_where",
    "button_online",
    "button_overview",
    "button_helpful",
    "button_not_helpful",
    "rating_thanks_helpful",
    "rating_thanks_not_helpful",
    "fallback_hotline",
    "handover_after_fallbacks",
    "ward_old_explained",
    "ward_old_unsure",
    "ward_noted",
    "ward_office",
    "unsupported",
    "out_of_scope",
)
"""Text keys the dialogue uses; `kb check` verifies that each one exists."""
