"""Outgoing e-mail, always through the outbox (topic "mail.send").

MAIL_BACKEND=file writes each message as an .eml file under MAIL_DIR (development and tests read them
there); MAIL_BACKEND=smtp sends through SMTP_HOST. Messages are built in the request (with links from
SITE_URL) and sent by the worker, so a slow mail server never holds a web request or a transaction.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from flask import current_app, render_template

from hrdnet import outbox

TOPIC = "mail.send"


def queue(to: str, subject: str, template: str, **context) -> None:
    """Render a text e-mail from templates/mail/<template>.txt and queue it in the current transaction."""
    body = render_template(f"mail/{template}.txt", **context)
    outbox.enqueue(TOPIC, {"to": to, "subject": subject, "body": body, "message_id": make_msgid("hrdnet")})


def _build(payload: dict) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message["Message-ID"] = payload["message_id"]
    message.set_content(payload["body"])
    return message


@outbox.handler(TOPIC)
def deliver(payload: dict) -> None:
    message = _build(payload)
    backend = current_app.config["MAIL_BACKEND"]
    if backend == "file":
        folder = Path(current_app.config["MAIL_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        # Named by Message-ID: a redelivery overwrites the same file instead of making a second message.
        name = payload["message_id"].strip("<>").replace("@", "_").replace("/", "_")
        (folder / f"{name}.eml").write_bytes(bytes(message))
    elif backend == "smtp":
        config = current_app.config
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=30) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls()
            if config["SMTP_USERNAME"]:
                smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
            smtp.send_message(message)
    else:
        raise ValueError(f"unknown MAIL_BACKEND {backend!r}")
