"""Events in: the webhook records verified events, the turn worker answers them.

`webhook` verifies, parses, deduplicates and records an event, then answers 200: no
understanding and no network call in the request. `worker` claims recorded events (one
citizen's in order, several citizens at once) and runs `turn.answer` on each: the state is read,
the dialogue decides, and the turn's effects, its replies for the outbox and the event's 'done'
are committed in one transaction.
"""
