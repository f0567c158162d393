"""The texts the bot's code says, by the part that says them: every knowledge base must have
them (`kb check` verifies it). The dialogue and outreach take their keys from here, so the
check needs nothing from the layers above the knowledge base."""

STATUS_KEYS = (
    "cho_tiep_nhan",
    "da_tiep_nhan",
    "dang_xu_ly",
    "bo_sung",
    "tu_choi",
    "tre_han",
    "co_ket_qua",
    "da_tra",
    "dung_xu_ly",
)
"""Dossier statuses (domain-facts 3.2); each has the text `dossier_status_<key>`."""

DIALOGUE_TEXTS = (
    "steps_prepare",
    "steps_submit",
    "steps_online",
    "steps_result",
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
    "choices_near_domain",
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
    "rating_not_helpful_choices",
    "button_staff",
    "fallback_hotline",
    "handover_after_fallbacks",
    "ward_old_explained",
    "ward_old_unsure",
    "ward_noted",
    "ward_office",
    "unsupported",
    "out_of_scope",
)
"""Text keys the dialogue (`bot.dialogue`) uses."""

OUTREACH_TEXTS = (
    "dossier_status",
    "dossier_no_appointment",
    "dossier_consent",
    "dossier_not_found",
    "dossier_help",
    "dossier_linked",
    "dossier_linked_item",
    "dossier_too_many",
    "reminders_stopped",
    "reminders_none",
    "data_deleted",
    "reminder_appointment",
    "reminder_result_ready",
    "news_broadcast",
    "news_link_title",
    *(f"dossier_status_{key}" for key in STATUS_KEYS),
)
"""Text keys outreach (`bot.outreach`) uses."""

INBOX_TEXTS = ("processing_failed",)
"""Text keys the turn worker (`bot.inbox`) says: the apology when a message cannot be processed."""

REQUIRED_TEXTS = {
    "bot.dialogue": DIALOGUE_TEXTS,
    "bot.outreach": OUTREACH_TEXTS,
    "bot.inbox": INBOX_TEXTS,
}
"""Every text key the code needs, by the part of the bot that needs it."""
