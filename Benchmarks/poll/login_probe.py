#!/usr/bin/env python3
"""Asks GET /login once every PERIOD seconds on one keep-alive connection and
writes each latency (milliseconds) to OUT, until the file STOP exists.
usage: login_probe.py PORT OUT STOP [PERIOD]"""
import http.client
import os
import sys
import time

port, out, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
period = float(sys.argv[4]) if len(sys.argv) > 4 else 0.02
connection = None
with open(out, "w") as latencies:
    while not os.path.exists(stop):
        began = time.monotonic()
        try:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/login")
            connection.getresponse().read()
            latencies.write(f"{(time.monotonic() - began) * 1000:.3f}\n")
            latencies.flush()
        except (OSError, http.client.HTTPException):
            connection = None  # not listening yet, or closed: try again
        time.sleep(max(0.0, period - (time.monotonic() - began)))
