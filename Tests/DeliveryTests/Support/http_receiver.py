#!/usr/bin/env python3
"""A real HTTP receiver for the webhook and task tests: records every POST (path, headers,
JSON body) as one line of JSON in LOG, and answers the first FAILURES requests with 503,
then 201 with a task-like JSON body. Prints "port N" once it listens; runs until killed.

    http_receiver.py LOG [FAILURES] [STATUS]

STATUS (default 503) is the failing answer: 400 tests a permanent refusal.
"""
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

log_path = sys.argv[1]
failures = int(sys.argv[2]) if len(sys.argv) > 2 else 0
failing_status = int(sys.argv[3]) if len(sys.argv) > 3 else 503
lock = threading.Lock()
seen = 0


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8")
        with lock:
            seen += 1
            number = seen
            status = failing_status if number <= failures else 201
            with open(log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps({
                    "path": self.path, "status": status,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": json.loads(body) if body else None,
                }) + "\n")
        answer = json.dumps({"data": {"gid": f"task-{number}"}} if status == 201 else {"errors": [{"message": "try later"}]})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer.encode("utf-8"))

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"port {server.server_address[1]}", flush=True)
server.serve_forever()
