"""SMTP sink for slaclaim's tests: aiosmtpd delivering into a Maildir, as Debian ships it.

Recipients whose local part starts with "reject" are refused with 550 (a permanent
failure) and "tempfail" with 451 (a transient one), so the outbox's handling of both is
tested against a real SMTP conversation.

With SINK_XOAUTH2="user token" in the environment the server offers SASL XOAUTH2 (after
STARTTLS, as aiosmtpd requires), accepts only that user and bearer token, and refuses
MAIL from an unauthenticated session. With SINK_XOAUTH2_CHALLENGE=1 it refuses a wrong
token the way Microsoft and Google do (RFC 7628): a 334 with a JSON error, then 535 once
the client answers.
"""
import json
import base64
import os

from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult

EXPECTED = os.environ.get("SINK_XOAUTH2")


class Sink(Mailbox):
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if EXPECTED and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # The bytes as they came, as an MTA delivers them: the stock handler parses the
        # message and writes Python's rendering of it (headers refolded), which is not
        # what slaclaim sent and costs the machine more CPU than the daemon under test.
        self.mailbox.add(envelope.original_content.replace(b"\r\n", b"\n"))
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if local.startswith("tempfail"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    if EXPECTED:

        async def auth_XOAUTH2(self, server, args):
            if len(args) > 1:
                payload = args[1]
            else:
                payload = await server.challenge_auth("", encode_to_b64=False)
                if not isinstance(payload, bytes):
                    return AuthResult(success=False, handled=False)
                payload = payload.decode()
            try:
                fields = base64.b64decode(payload).decode().split("\x01")
            except Exception:
                return AuthResult(success=False, handled=False)
            user, token = EXPECTED.split(" ", 1)
            ok = "user=" + user in fields and "auth=Bearer " + token in fields
            if not ok:
                if os.environ.get("SINK_XOAUTH2_CHALLENGE"):
                    error = json.dumps({"status": "401", "schemes": "bearer", "scope": "https://outlook.office365.com/.default"})
                    await server.challenge_auth(base64.b64encode(error.encode()).decode(), encode_to_b64=False)
                return AuthResult(success=False, handled=False)
            return AuthResult(success=True, auth_data=user)
