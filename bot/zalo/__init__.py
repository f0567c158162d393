"""The Zalo platform boundary: the only code that knows Zalo's field names and endpoints.

`events` parses webhook bodies into typed events, `signature` verifies them, `client` calls the
OA API (its `ZaloError` family says what to do on failure), and `tokens` keeps the access token
fresh.
"""
