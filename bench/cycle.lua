-- wrk script: cycle through distinct CDS Hooks requests read from a file.
-- BENCH_BODIES: file of "path<TAB>json body" lines (one request each).
-- BENCH_RATE: total requests per second over all connections (paced run), 0 for none.
local bodies_path = os.getenv("BENCH_BODIES")
local rate = tonumber(os.getenv("BENCH_RATE") or "0")
local requests = {}
local counter = 0

function init(args)
  local headers = {["Content-Type"] = "application/json"}
  for line in io.lines(bodies_path) do
    local tab = line:find("\t", 1, true)
    table.insert(requests, wrk.format("POST", line:sub(1, tab - 1), headers, line:sub(tab + 1)))
  end
end

function request()
  counter = counter + 1
  return requests[((counter - 1) % #requests) + 1]
end

-- Paced as wrk2 does: one schedule for all connections (this script runs in wrk's one
-- load thread), each request taking the next slot 1000/rate ms after the previous one.
-- A fixed pause per connection would ignore the response time (the run falls short of
-- the rate) and keep the connections in phase (bursts of 8 at once).
if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef[[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clock_id, bench_timespec *tp);
  ]]
  local ts = ffi.new("bench_timespec")
  local CLOCK_MONOTONIC = 1
  local function now_ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local interval_ms = 1000 / rate
  local next_ms = nil
  delay = function()
    local now = now_ms()
    next_ms = next_ms or now
    local wait = next_ms - now
    next_ms = next_ms + interval_ms
    if wait <= 0 then return 0 end
    return math.floor(wait + 0.5)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nBENCH_JSON {"requests": %d, "duration_us": %d, "errors": %d, "non_2xx": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean))
end
