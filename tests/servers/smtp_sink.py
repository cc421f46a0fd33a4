"""SMTP sink for slaclaim's tests: aiosmtpd delivering into a Maildir, as Debian ships it.

Recipients whose local part starts with "reject" are refused with 550 (a permanent
failure) and "tempfail" with 451 (a transient one), so the outbox's handling of both is
tested against a real SMTP conversation.
"""
from aiosmtpd.handlers import Mailbox


class Sink(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if local.startswith("tempfail"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"
