"""Email over SMTP (stdlib smtplib). With no SMTP host configured, notices stay in the app only."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str, ics: str | None = None) -> None: ...


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int = 25
    from_address: str = "Sameboat <no-reply@localhost>"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_seconds: float = 20.0

    def send(self, to: str, subject: str, body: str, ics: str | None = None) -> None:
        message = EmailMessage()
        message["From"] = self.from_address
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain="sameboat")
        message.set_content(body)
        if ics is not None:
            # method=REQUEST lets calendar clients offer "add to calendar" for the invite.
            message.add_attachment(
                ics.encode(),
                maintype="text",
                subtype="calendar",
                filename="sameboat-session.ics",
                params={"method": "REQUEST"},
            )
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)
