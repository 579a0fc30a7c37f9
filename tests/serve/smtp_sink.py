#!/usr/bin/env python3
"""An SMTP server for runtime/serve/transport_test.cpp, on aiosmtpd (Debian's python3-aiosmtpd).

usage: smtp_sink.py MODE DIR
  MODE  ok                every message is accepted
        tempfail-then-ok  the first RCPT gets "451 4.3.0 Try again later", then as ok
        permfail          every RCPT gets "550 5.1.1 No such user"
  DIR   where each accepted message is saved: NNN.eml (the DATA as received, dot-stuffing
        undone) and NNN.json (the envelope: mail_from, rcpt_tos), NNN counting from 001; a
        message's files appear (by rename) before the server answers its DATA.

It listens on 127.0.0.1 on a port the system picks, prints that port and a newline on stdout
when it is ready, and runs until SIGTERM, until its stdin reaches end of file (the test that
started it is gone), or for 60 seconds at most.
"""
import asyncio
import json
import logging
import os
import signal
import sys

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, mode, directory):
        self.mode = mode
        self.directory = directory
        self.failed_once = False
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.mode == "permfail":
            return "550 5.1.1 No such user"
        if self.mode == "tempfail-then-ok" and not self.failed_once:
            self.failed_once = True
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.directory, "%03d" % self.count)
        save(base + ".json", json.dumps({"mail_from": envelope.mail_from,
                                         "rcpt_tos": envelope.rcpt_tos}).encode())
        save(base + ".eml", envelope.original_content)
        return "250 2.0.0 Ok: queued as %03d" % self.count


def save(path, data):
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.rename(path + ".tmp", path)


async def main(mode, directory):
    loop = asyncio.get_running_loop()
    handler = Handler(mode, directory)
    server = await loop.create_server(lambda: SMTP(handler, hostname="sink.test"), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    loop.add_reader(sys.stdin.fileno(), lambda: done.set() if not os.read(0, 512) else None)
    try:
        await asyncio.wait_for(done.wait(), 60)
    except asyncio.TimeoutError:
        pass
    server.close()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("ok", "tempfail-then-ok", "permfail"):
        sys.exit(__doc__)
    logging.disable(logging.CRITICAL)  # aiosmtpd logs every session
    asyncio.run(main(sys.argv[1], sys.argv[2]))
