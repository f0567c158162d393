"""Delivery: queued replies, broadcasts and reminders sent to Zalo, each part exactly once.

`delivery` claims due rows and sends them (retries with backoff, a lease per row); `indoubt`
settles, from the citizen's Zalo conversation history, a send that may have gone out unseen.
"""
