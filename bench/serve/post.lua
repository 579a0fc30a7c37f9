-- wrk script of bench/serve_bench.py: POSTs pre-made bodies, one per line of a file, in turn.
--
--   wrk -t1 -c32 -d10s --latency -s bench/serve/post.lua http://127.0.0.1:PORT \
--       -- BODIES_FILE /v1/batch "Basic BASE64" [DELAY_MS]
--
-- Every request is formatted once, in init (wrk.format per request would cost the client CPU the
-- servers need). Each thread starts at a different body so that threads do not send the same
-- ones in step. DELAY_MS > 0 makes every connection wait that long before each request (the
-- paced background load of the latency measurement; wrk's own `delay`). done() prints one line
-- `WRKJSON {...}` that the harness parses: wrk counts every status over 399 as an error, so the
-- 2xx count is requests - errors.status (no server here answers 3xx).

local requests = {}
local n = 0
local i = 0
local delay_ms = 0
local thread_no = 0

function setup(thread)
  thread:set("thread_no", thread_no)
  thread_no = thread_no + 1
end

function init(args)
  local path, route, auth = args[1], args[2], args[3]
  delay_ms = tonumber(args[4] or "0") or 0
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = auth}
  for line in io.lines(path) do
    if #line > 0 then
      n = n + 1
      requests[n] = wrk.format("POST", route, headers, line)
    end
  end
  i = ((thread_no or 0) * 7919) % n
  if delay_ms > 0 then
    -- Defined only when asked for: wrk checks for `delay` after init.
    function delay()
      return delay_ms
    end
  end
end

function request()
  i = i % n + 1
  return requests[i]
end


function done(summary, latency, reqs)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
