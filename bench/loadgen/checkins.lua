-- wrk load for the public check-in endpoint (bench/tracing.py runs it):
--   wrk -t2 -c16 -d20s -s bench/loadgen/checkins.lua http://127.0.0.1:PORT/api/v1/checkins/ -- LOADFILE
-- LOADFILE lines: "V <venue code>", "P <phone of a resident>", "I <ID number of a resident>".
-- Each request posts a random venue with: a resident's phone (60 %), a resident's ID number (10 %), or a phone
-- nobody has used before (30 %, unique per thread and request). Statuses are counted per thread and summed in
-- done(), which prints one "RESULT {json}" line for the harness.

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  table.insert(threads, thread)
end

local venues, phones, id_numbers = {}, {}, {}
local sequence = 0
created, ok, limited, client_errors, server_errors, other = 0, 0, 0, 0, 0, 0

function init(args)
  for line in io.lines(args[1]) do
    local kind, value = line:match("^(%a) (.+)$")
    if kind == "V" then
      venues[#venues + 1] = value
    elseif kind == "P" then
      phones[#phones + 1] = value
    elseif kind == "I" then
      id_numbers[#id_numbers + 1] = value
    end
  end
  math.randomseed(os.time() + thread_id * 7919)
end

local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }

function request()
  sequence = sequence + 1
  local venue = venues[math.random(#venues)]
  local roll = math.random()
  local body
  if roll < 0.6 and #phones > 0 then
    body = string.format('{"venue": "%s", "phone": "%s"}', venue, phones[math.random(#phones)])
  elseif roll < 0.7 and #id_numbers > 0 then
    body = string.format('{"venue": "%s", "id_number": "%s"}', venue, id_numbers[math.random(#id_numbers)])
  else
    body = string.format('{"venue": "%s", "phone": "19%d%08d"}', venue, thread_id % 10, sequence)
  end
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status >= 200 and status < 300 then
    ok = ok + 1
  elseif status == 429 then
    limited = limited + 1
  elseif status >= 400 and status < 500 then
    client_errors = client_errors + 1
  elseif status >= 500 then
    server_errors = server_errors + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local totals = { created = 0, ok = 0, limited = 0, client_errors = 0, server_errors = 0, other = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + thread:get(name)
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"mean_us": %.1f, "created": %d, "ok": %d, "non_2xx": %d, "limited": %d, "client_errors": %d, ' ..
    '"server_errors": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, totals.created, totals.ok,
    totals.limited + totals.client_errors + totals.server_errors + totals.other, totals.limited,
    totals.client_errors, totals.server_errors,
    errors.connect + errors.read + errors.write + errors.timeout))
end
