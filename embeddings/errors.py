"""The small exception hierarchy of the core.

Front ends translate these at their edge: the CLI prints the message on one line and exits
non-zero; the bot apologises to the user and logs the traceback. Every message says what to do.
"""

from __future__ import annotations


class CoopbotError(Exception):
    """Base class for errors a user can act on; the message says how."""


class IndexMissingError(CoopbotError):
    """No index has been built at the configured location."""


class IndexMismatchError(CoopbotError):
    """The index was built with another model or chunker than the one configured."""


class IndexCorruptError(CoopbotError):
    """An index file is unreadable (truncated, corrupt or from an incompatible version)."""


class IndexWriteError(CoopbotError):
    """The index could not be written (disk full, no permission, database locked); the index
    in use is unchanged."""


class IndexBusyError(CoopbotError):
    """Another program holds the index database locked; retrying later will work."""


class IndexLockedError(CoopbotError):
    """Another process is building the index and we were asked not to wait."""


class EncoderError(CoopbotError):
    """The embedding model cannot be loaded (missing path, no network to fetch it, ...)."""


class EvalFileError(CoopbotError):
    """An evaluation file is missing or malformed."""


class DatabaseError(CoopbotError):
    """The PostgreSQL server named by COOPBOT_DATABASE_URL cannot be used (unreachable,
    refused the login, lacks pgvector, or the driver is not installed)."""
