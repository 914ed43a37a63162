-- wrk script: cycle through distinct CDS Hooks requests read from a file.
-- BENCH_BODIES: file of "path<TAB>json body" lines (one request each).
-- BENCH_DELAY_MS: pause per connection between requests (rate-limited run).
local bodies_path = os.getenv("BENCH_BODIES")
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
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

if delay_ms > 0 then
  delay = function() return delay_ms end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nBENCH_JSON {"requests": %d, "duration_us": %d, "errors": %d, "non_2xx": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean))
end
