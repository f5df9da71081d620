"""Mailed one-time links, used the way a browser does: the token travels in the URL fragment.

A link is `/password/reset#t=TOKEN` or `/verify#t=TOKEN`. The browser never sends the fragment; the page's
script copies it into the form's `token` field, and the POST carries it. These helpers do the same.
"""

from __future__ import annotations

from tests.conftest import csrf_token, link_in


def split_link(link: str) -> tuple[str, str]:
    """('/password/reset', TOKEN) for a mailed link (the old path form `/password/reset/TOKEN` too)."""
    if "#t=" in link:
        path, token = link.split("#t=", 1)
        return path, token
    path, _, token = link.rpartition("/")
    return path, token


def mailed_link(message, page_path: str) -> str:
    """The link to page_path ('/password/reset' or '/verify') in an e-mail, with its fragment.

    The old path form is accepted too, so that the attack tests can be run against the code before the fix.
    """
    body = message.get_content()
    return link_in(message, page_path + ("#t=" if page_path + "#t=" in body else "/"))


def submit_link(client, link: str, **fields):
    """Open the link's page and post its form with the token, as the page's script would."""
    path, token = split_link(link)
    target = path if "#t=" in link else link  # an old path-form link posted to itself
    return client.post(target, data={"token": token, "csrf_token": csrf_token(client, target), **fields})
