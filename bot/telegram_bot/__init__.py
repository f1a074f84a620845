"""The Telegram front end (named so that it never shadows the `telegram` library)."""
