#!/usr/bin/env python3
"""A real SMTP server for the mail tests: aiosmtpd on 127.0.0.1, delivering every message
into the Maildir given as the argument (with X-MailFrom and X-RcptTo headers from the
envelope). Prints "port N" once it listens and runs until killed.

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

probe = socket.socket()
probe.bind(("127.0.0.1", 0))
port = probe.getsockname()[1]
probe.close()
controller = Controller(Mailbox(sys.argv[1]), hostname="127.0.0.1", port=port)
controller.start()
print(f"port {port}", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
