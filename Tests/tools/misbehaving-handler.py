#!/usr/bin/env python3
"""An application handler for balancerd's tests that breaks the contract on
request (docs/REFERENCE.md, "Application handler"). Each request line is
appended to the journal as "<connection number> <line>" before anything is
answered. Commands:

    echo:<text>   answers <text>
    double        answers "first" and "second" in one write (two lines, one request)
    late          answers "first"; "second" goes out just before the answer
                  to the next request on that connection (a late line)
    long:<n>      answers n bytes of "x"
    hold          answers "held" once the file <journal>.release exists
    silent        answers nothing

Usage: misbehaving-handler.py SOCKET JOURNAL
"""

import os
import socket
import sys
import threading
import time

path, journal = sys.argv[1], sys.argv[2]
lock = threading.Lock()


def note(connection, line):
    with lock, open(journal, "a", encoding="utf-8") as out:
        out.write(f"{connection} {line}\n")
        out.flush()


def serve(conn, number):
    late = b""
    for raw in conn.makefile("rb"):
        line = raw.decode("utf-8", "replace").rstrip("\n")
        note(number, line)
        command = line.split(" ", 2)[2] if line.count(" ") >= 2 else line
        out, late = late, b""
        if command.startswith("echo:"):
            out += command[len("echo:"):].encode("utf-8") + b"\n"
        elif command == "double":
            out += b"first\nsecond\n"
        elif command == "late":
            out += b"first\n"
            late = b"second\n"
        elif command.startswith("long:"):
            out += b"x" * int(command[len("long:"):]) + b"\n"
        elif command == "hold":
            while not os.path.exists(journal + ".release"):
                time.sleep(0.005)
            out += b"held\n"
        elif command == "silent":
            pass
        else:
            out += b"unknown_cmd\n"
        if out:
            conn.sendall(out)


def main():
    server = socket.socket(socket.AF_UNIX)
    # Moved into place once it listens: a test that finds the socket can connect.
    server.bind(path + ".new")
    server.listen(64)
    os.rename(path + ".new", path)
    number = 0
    while True:
        conn, _ = server.accept()
        number += 1
        threading.Thread(target=serve, args=(conn, number), daemon=True).start()


if __name__ == "__main__":
    main()
