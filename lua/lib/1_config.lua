--[[
  Configuration, typed errors and the clock: what every other helper needs.

  Errors are returned as `redis.error_reply('<CODE> <message>')`; the client maps
  the first word to an error class. Every check happens before the first write,
  so a refused call changes nothing (the one deliberate exception is the
  failed-check counter that rate-limits password and leader-code guessing).

  lua/lib/ files join the library in name order, and a local is only seen by
  code after it, so each file uses only files with a smaller number:
  1_config < 2_args < 3_keys < 4_json < 5_secrets < 6_expiry < 7_stream.
]]

local DEFAULTS = {
  max_state = 1048576,  -- bytes of one sealed state or change (base64url: ~1.37x the plan's JSON)
  max_name = 200,       -- bytes of a stream name (UTF-8)
  max_page = 100,       -- streams per list page
  history = 1000,       -- changes kept after the snapshot (lua/publish.lua); the log's bytes
                        -- are bounded by the snapshot's, so this only bounds a catch-up's count
  fail_limit = 10,      -- failed secret checks per stream per window
  fail_window = 60,     -- seconds
  idle_ttl = 3600,      -- seconds without publish or heartbeat before a stream ends
  sweep = 10,           -- expired streams cleaned per write call
  max_push = 60000,     -- bytes of an envelope sent on the channel; larger ones go out as a
                        -- "fetch" notice (Webdis 0.1.9 breaks WebSocket frames over 65,535 bytes)
  publish_bytes = 16777216, -- bytes of sealed content one stream may publish per window, 0 = off:
                        -- a leader dragging a waypoint on a 200 KB plan sends ~4 states/s, ~8 MB
                        -- per 10 s; a flood of 1 MiB states gets ~1.6/s (issue 12, attack 8)
  publish_window = 10,  -- seconds
  max_streams = 10000,  -- live streams in all, 0 = no cap (issue 12, attack 9)
  pass_ttl = 86400,     -- seconds a pass (a proof of an earlier right secret) exempts from the rate limit
}

local CONFIG = 'relay:config'     -- hash of overrides for DEFAULTS (set by the operator)

local function fail(code, msg)
  return error({ err = code .. ' ' .. msg }, 0)
end

-- Every key lives in database 0. Webdis turns a URL like `/7/FCALL/...` into
-- SELECT 7, which would give a caller a fresh keyspace with no relay:config
-- (so no operator limits) and streams nobody lists; a SELECT inside a function
-- does not leak to the caller's connection, so we pin db 0 here. pcall: in a
-- cluster SELECT is refused, and db 0 is the only one anyway.
local function home_db()
  pcall(redis.call, 'SELECT', 0)
end

-- The merged table is built only when relay:config changed since the last call (the
-- library's locals live as long as it is loaded); every call still reads the hash, so an
-- operator's HSET counts from the next call on. Callers never write to it.
local last_raw, last_cfg = nil, DEFAULTS

local function config()
  home_db()
  local raw = redis.call('HGETALL', CONFIG)
  if #raw == 0 then return DEFAULTS end
  local key = table.concat(raw, '\0')
  if key == last_raw then return last_cfg end
  local cfg = {}
  for k, v in pairs(DEFAULTS) do cfg[k] = v end
  for i = 1, #raw, 2 do
    local n = tonumber(raw[i + 1])
    if DEFAULTS[raw[i]] ~= nil and n and n >= 0 then cfg[raw[i]] = math.floor(n) end
  end
  last_raw, last_cfg = key, cfg
  return cfg
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
