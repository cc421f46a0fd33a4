#!/usr/bin/env python3
"""A Postfix policy service (smtpd_end_of_data_restrictions) that answers DUNNO only after
a delay at the end of each message: Postfix then answers the client's final "." that much
later, like a slow content filter. Usage: slow_policy.py PORT SECONDS. Loopback only."""
import socketserver
import sys
import time

DELAY = float(sys.argv[2])


class Policy(socketserver.StreamRequestHandler):
    def handle(self):
        attributes = {}
        for line in self.rfile:
            line = line.decode("utf-8", "replace").rstrip("\n")
            if line:
                key, _, value = line.partition("=")
                attributes[key] = value
                continue
            # A blank line ends one request; Postfix may reuse the connection.
            if attributes.get("protocol_state") == "END-OF-MESSAGE":
                time.sleep(DELAY)
            self.wfile.write(b"action=DUNNO\n\n")
            self.wfile.flush()
            attributes = {}


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


Server(("127.0.0.1", int(sys.argv[1])), Policy).serve_forever()
