#!/usr/bin/env python3
"""A real SMTP server for the mail tests: aiosmtpd on 127.0.0.1, delivering every message
into the Maildir given as the argument (with X-MailFrom and X-RcptTo headers from the
envelope). Recipients whose address starts with "nobody@" are refused with 550, as a real
server refuses an unknown mailbox. Prints "port N" once it listens and runs until killed.

    smtp_sink.py MAILDIR
"""
import signal
import socket
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

# A test process may hand down SIGTERM blocked or ignored (signal handling of its own); stop on it anyway.
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

class Sink(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("nobody@"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class PatientController(Controller):
    """aiosmtpd's controller on a port the kernel picks (no probe-then-bind race), waiting for
    the server to start as long as a busy machine needs (its own waits are 1 s and 5 s)."""

    def bound_port(self):
        return self.server.sockets[0].getsockname()[1]

    def _trigger_server(self):
        with socket.create_connection((self.hostname, self.bound_port()), 300) as probe:
            probe.recv(1024)


controller = PatientController(Sink(sys.argv[1]), hostname="127.0.0.1", port=0, ready_timeout=300)
controller.start()
print(f"port {controller.bound_port()}", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
