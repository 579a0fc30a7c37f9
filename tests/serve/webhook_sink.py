#!/usr/bin/env python3
"""An HTTP server for runtime/serve/transport_test.cpp's webhook tests (Python's http.server).

usage: webhook_sink.py MODE DIR
  MODE  ok            every request gets 200 "ok"
        fail-then-ok  the first request gets 503 "busy, try later", then as ok
        reject        every request gets 400 "bad payload: " and 300 x's
  DIR   where each request is saved as NNN.json (method, path, headers with lower-case names,
        body as text), NNN counting from 001, before it is answered.

It listens on 127.0.0.1 on a port the system picks, prints that port and a newline on stdout
when it is ready, and runs until SIGTERM, until its stdin reaches end of file (the test that
started it is gone), or for 60 seconds at most.
"""
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        server = self.server
        with server.lock:
            server.count += 1
            n = server.count
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        record = {"method": "POST", "path": self.path,
                  "headers": {k.lower(): v for k, v in self.headers.items()},
                  "body": body.decode("utf-8", "replace")}
        path = os.path.join(server.directory, "%03d.json" % n)
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        mode = server.mode
        if mode == "reject":
            self.answer(400, b"bad payload: " + b"x" * 300)
        elif mode == "fail-then-ok" and n == 1:
            self.answer(503, b"busy, try later")
        else:
            self.answer(200, b"ok")

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main(mode, directory):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.mode, server.directory, server.count, server.lock = mode, directory, 0, threading.Lock()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=lambda: (sys.stdin.buffer.read(), stop.set()), daemon=True).start()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    stop.wait(60)
    os._exit(0)  # at once, whatever a handler thread is doing


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("ok", "fail-then-ok", "reject"):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
