-- wrk script for bench/e2e.sh: each request carries the next bearer token of the file named by
-- BENCH_TOKENS (one token per line), round-robin over the whole file. Requests are formatted once
-- per thread in init(), so the client spends no time building them.
local path = os.getenv("BENCH_TOKENS")
local requests = {}
local n = 0
local i = 0

function init(args)
  for line in io.lines(path) do
    if #line > 0 then
      n = n + 1
      requests[n] = wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. line })
    end
  end
  if n == 0 then error("no tokens in " .. tostring(path)) end
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return requests[i]
end
