"""One `trig serve --clock manual` for a benchmark: started on a port it picks, its log read to
the end (a pipe nobody reads would block serve's next line, as it once blocked the click bench's
serve for good), stopped with SIGTERM."""
import base64, http.client, json, os, re, signal, subprocess, threading, time

WRITE, ADMIN = "wk-bench", "ak-bench"


class ServeProcess:
    def __init__(self, trig, rules, data, start_timeout=300):
        env = dict(os.environ, TRIG_WRITE_KEY=WRITE, TRIG_ADMIN_KEY=ADMIN,
                   TRIG_TRACKING_SECRET="bench-secret")
        self.proc = subprocess.Popen([trig, "serve", rules, "--data", data, "--listen",
                                      "127.0.0.1:0", "--clock", "manual"],
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.port = None
        deadline = time.time() + start_timeout
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            m = re.search(r"listening on http://[^:]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("serve did not start")
        self.log_lines = 0  # serve's log lines after start-up

        def drain():
            for _ in self.proc.stderr:
                self.log_lines += 1
        threading.Thread(target=drain, daemon=True).start()

    def http(self, method, path, body=None, key=WRITE, timeout=60):
        """(status, body bytes) of one request on a connection of its own (a kept-alive one may be
        closed by serve's idle timeout while the caller waits on a busy machine)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"Authorization": "Basic " + base64.b64encode((key + ":").encode()).decode(),
             "Content-Type": "application/json"}
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def stop(self, timeout=60):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
