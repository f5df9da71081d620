"""Keep one-time link tokens out of the logs.

Mails link to /verify#t=TOKEN and /password/reset#t=TOKEN, so browsers never send the token in a URL. Links
mailed before used the path (/verify/TOKEN, /password/reset/TOKEN) and still open their page: every logger
that writes request paths (werkzeug's access log, the error log, Flask's app logger) gets a filter that
replaces such a path segment before the record reaches any handler.
"""

from __future__ import annotations

import logging
import re

# A token is token_urlsafe(32): 43 characters. "resend" (/verify/resend) is shorter than the 16 matched.
_TOKEN_IN_PATH = re.compile(r"(/verify/|/password/reset/)[A-Za-z0-9_\-%.~]{16,}")
REDACTED = r"\1[redacted]"
LOGGERS_WITH_PATHS = ("werkzeug", "hrdnet.errors", "hrdnet")


def scrub(text: str) -> str:
    return _TOKEN_IN_PATH.sub(REDACTED, text)


class LinkTokenFilter(logging.Filter):
    """Rewrites a record whose message holds a link token; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install(logger_names: tuple[str, ...] = LOGGERS_WITH_PATHS) -> None:
    """Add the filter once to each logger (create_app may run many times in one process)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, LinkTokenFilter) for f in logger.filters):
            logger.addFilter(LinkTokenFilter())
