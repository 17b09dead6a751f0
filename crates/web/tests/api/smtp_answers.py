"""An aiosmtpd handler for Insight's mail tests: aiosmtpd's own Mailbox
(every accepted mail lands in a Maildir), which also refuses chosen
recipients at RCPT TO the way real servers do, picked by the local part:

    reject-...@   550 5.1.1, a permanent refusal (no such user)
    busy-...@     451 4.3.0, a temporary refusal, every time
    busyN-...@    451 4.3.0 the first N times, then accepted

Started by crates/web/tests/api/aiosmtpd.rs as
`python -m aiosmtpd -n -c smtp_answers.RefusingMailbox MAILDIR`.
"""

import re

from aiosmtpd.handlers import Mailbox

BUSY = re.compile(r"^busy(\d*)-")


class RefusingMailbox(Mailbox):
    def __init__(self, mail_dir, message_class=None):
        super().__init__(mail_dir, message_class)
        self.refusals = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject-"):
            return "550 5.1.1 <%s>: Recipient address rejected: no such user here" % address
        busy = BUSY.match(local)
        if busy:
            refused = self.refusals.get(address, 0)
            if not busy.group(1) or refused < int(busy.group(1)):
                self.refusals[address] = refused + 1
                return "451 4.3.0 <%s>: Mailbox busy, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"
