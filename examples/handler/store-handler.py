#!/usr/bin/env python3
"""An example application handler for balancerd's agent (`agent.handler`).

balancerd hands the agent's unknown commands to this UNIX socket, one line
each, and sends back the one line this answers (docs/REFERENCE.md,
"Application handler"):

    <peer id> <message id or -> <command>

Commands it knows:

    store:<text>   appends "<message id> <peer id> store:<text>" to the store
                   file (fsynced before the answer `ok`); a critical message
                   whose id that peer already sent is answered `ok` and not
                   stored again: at-least-once delivery becomes exactly-once.
                   A message id is unique per sender, not across senders, so
                   repeats are known by (peer id, message id), never by the id
                   alone (another peer may send the same id).
    echo:<text>    answers <text> (for benchmarks).
    anything else  answers `unknown_cmd` (balancerd keeps such a critical
                   message in delayed/rejected/).

Python 3 standard library only. Usage:

    store-handler.py --socket /run/app/handler.sock --store /var/lib/app/store.txt
"""

import argparse
import os
import signal
import socketserver
import sys
import threading


class Store:
    """The store file: one line per message; (peer, id) pairs seen so far, in memory."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.seen = set()
        if os.path.exists(path):
            with open(path, "rb") as existing:
                data = existing.read()
            # A crash mid-write leaves a partial last line: drop it (its sender
            # got no answer and sends it again).
            complete = data[: data.rfind(b"\n") + 1]
            if len(complete) != len(data):
                with open(path, "r+b") as broken:
                    broken.truncate(len(complete))
            # Split on LF alone: str.splitlines() would also split a command at
            # CR, NEL, U+2028 and others, and read half a line as a message.
            for line in complete.decode("utf-8", "replace").split("\n")[:-1]:
                fields = line.split(" ", 2)
                if len(fields) >= 2 and fields[0] != "-":
                    self.seen.add((fields[1], fields[0]))
        self.file = open(path, "ab")

    def store(self, peer, message_id, command):
        """Stores one message; False when it is a duplicate (already stored)."""
        with self.lock:
            if message_id != "-" and (peer, message_id) in self.seen:
                print(f"store-handler: duplicate {message_id} from {peer} dropped", file=sys.stderr, flush=True)
                return False
            self.file.write(f"{message_id} {peer} {command}\n".encode("utf-8"))
            self.file.flush()
            os.fsync(self.file.fileno())
            if message_id != "-":
                self.seen.add((peer, message_id))
            return True


class Connection(socketserver.StreamRequestHandler):
    """One connection from balancerd's agent: requests one after another."""

    def handle(self):
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.wfile.write((self.server.answer(line) + "\n").encode("utf-8"))
            self.wfile.flush()


class HandlerServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path, store):
        self.store = store
        self.final_path = path
        # Bound under another name and moved into place once it listens: whoever
        # finds the socket can connect to it (no "connection refused" in between).
        staging = path + ".new"
        for stale in (path, staging):
            if os.path.exists(stale):
                os.unlink(stale)
        super().__init__(staging, Connection)

    def server_activate(self):
        super().server_activate()
        os.rename(self.server_address, self.final_path)
        self.server_address = self.final_path

    def answer(self, line):
        parts = line.split(" ", 2)
        if len(parts) != 3:
            return "error:bad_request"
        peer, message_id, command = parts
        if command.startswith("store:"):
            self.store.store(peer, message_id, command)
            return "ok"
        if command.startswith("echo:"):
            return command[len("echo:"):]
        return "unknown_cmd"


def main():
    parser = argparse.ArgumentParser(description="Example balancerd application handler: stores store:<text> messages once each.")
    parser.add_argument("--socket", required=True, help="the UNIX socket to listen on (agent.handler)")
    parser.add_argument("--store", required=True, help="the file messages are appended to")
    arguments = parser.parse_args()
    server = HandlerServer(arguments.socket, Store(arguments.store))

    def stop(*_):
        # Every stored message was fsynced before its answer: nothing to flush.
        # Exit at once rather than wait for connection threads blocked in reads.
        if os.path.exists(arguments.socket):
            os.unlink(arguments.socket)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # A parent that blocks signals in the thread that starts us (a test runner) passes the mask on.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    print(f"store-handler: listening on {arguments.socket}, storing in {arguments.store}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
