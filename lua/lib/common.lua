--[[
  Shared helpers for every relay function: argument checks, key names,
  configuration, typed errors, secrets and expiry.

  Errors are returned as `redis.error_reply('<CODE> <message>')`; the client maps
  the first word to an error class. Every check happens before the first write,
  so a refused call changes nothing (the one deliberate exception is the
  failed-check counter that rate-limits password and leader-code guessing).
]]

local DEFAULTS = {
  max_state = 1048576,  -- bytes of one state (JSON)
  max_name = 200,       -- bytes of a stream name (UTF-8)
  max_page = 100,       -- streams per list page
  history = 32,         -- envelopes kept per stream for catch-up
  fail_limit = 10,      -- failed secret checks per stream per window
  fail_window = 60,     -- seconds
  idle_ttl = 3600,      -- seconds without publish or heartbeat before a stream ends
  sweep = 10,           -- expired streams cleaned per write call
  max_push = 60000,     -- bytes of an envelope sent on the channel; larger ones go out as a
                        -- "fetch" notice (Webdis 0.1.9 breaks WebSocket frames over 65,535 bytes)
  publish_bytes = 16777216, -- bytes of states (+ patches) one stream may publish per window, 0 = off:
                        -- a leader dragging a waypoint on a 200 KB plan sends ~4 states/s, ~8 MB
                        -- per 10 s; a flood of 1 MiB states gets ~1.6/s (issue 12, attack 8)
  publish_window = 10,  -- seconds
  max_streams = 10000,  -- live streams in all, 0 = no cap (issue 12, attack 9)
  pass_ttl = 86400,     -- seconds a pass (a proof of an earlier right secret) exempts from the rate limit
}

local INDEX = 'relay:index'       -- zset, score 0, member = stream name (list order)
local DEADLINES = 'relay:deadline' -- zset, score = deadline ms, member = stream name
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

local function config()
  home_db()
  local cfg = {}
  for k, v in pairs(DEFAULTS) do cfg[k] = v end
  local raw = redis.call('HGETALL', CONFIG)
  for i = 1, #raw, 2 do
    local n = tonumber(raw[i + 1])
    if DEFAULTS[raw[i]] ~= nil and n and n >= 0 then cfg[raw[i]] = math.floor(n) end
  end
  return cfg
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF). Runs of ASCII are
-- skipped with one pattern search each, so mostly-ASCII JSON costs little.
local function valid_utf8(s)
  local i, n = 1, #s
  while true do
    i = s:find('[\128-\255]', i)
    if not i then return true end
    local c = s:byte(i)
    local len, min
    if c >= 0xC2 and c <= 0xDF then len, min = 2, 0x80
    elseif c >= 0xE0 and c <= 0xEF then len, min = 3, 0x800
    elseif c >= 0xF0 and c <= 0xF4 then len, min = 4, 0x10000
    else return false end
    if i + len - 1 > n then return false end
    local cp = c % (2 ^ (7 - len))
    for j = i + 1, i + len - 1 do
      local b = s:byte(j)
      if b < 0x80 or b > 0xBF then return false end
      cp = cp * 64 + (b - 0x80)
    end
    if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return false end
    i = i + len
  end
end

local function check_arity(argv, n, keys, nkeys)
  if #keys ~= nkeys then fail('INVALID', 'expected ' .. nkeys .. ' key(s)') end
  if #argv ~= n then fail('INVALID', 'expected ' .. n .. ' argument(s)') end
end

-- Characters a name must not hold because names are shown to people: C1
-- controls (U+0080-U+009F), line/paragraph separators (U+2028/9) and the bidi
-- embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) that can
-- make one name look like another in the list. As UTF-8 byte sequences.
local function has_unicode_control(s)
  return s:find('\194[\128-\159]') ~= nil or s:find('\226\128[\168-\174]') ~= nil
    or s:find('\226\129[\166-\169]') ~= nil
end

-- A stream name: 1..max_name bytes of UTF-8 text, no control characters
-- (C0, DEL, C1), no line separators and no bidi controls.
local function check_name(name, cfg)
  if #name == 0 then fail('INVALID', 'name is empty') end
  if #name > cfg.max_name then fail('TOO_LARGE', 'name is longer than ' .. cfg.max_name .. ' bytes') end
  if name:find('[%z\1-\31\127]') then fail('INVALID', 'name contains a control character') end
  if not valid_utf8(name) then fail('INVALID', 'name is not UTF-8') end
  if has_unicode_control(name) then fail('INVALID', 'name contains a control character') end
end

-- Verifiers, tokens and channels are lowercase hex of a fixed length range.
local function check_hex(value, what, min, max)
  if #value < min or #value > max or value:find('[^0-9a-f]') then
    fail('INVALID', what .. ' must be ' .. min .. '-' .. max .. ' lowercase hex digits')
  end
end

local function check_int(value, what, max)
  if not value:match('^%d+$') or #value > 15 then fail('INVALID', what .. ' must be a non-negative integer') end
  local n = tonumber(value)
  if max and n > max then fail('TOO_LARGE', what .. ' is larger than ' .. max) end
  return n
end

-- The one hash tag of a stream: `{` + name with `%`, `{` and `}` percent-escaped + `}`,
-- so a name can never end or open the tag early. Every key of a stream is built here.
local function base_key(name)
  return 'relay:{' .. name:gsub('[%%{}]', function(c) return string.format('%%%02X', c:byte()) end) .. '}'
end

local function keys_for(name)
  local b = base_key(name)
  -- fails: failed password checks (connect); code_fails: failed leader-code checks
  -- (reconnect, stop). Apart, so guessing passwords never locks the leader out.
  return {
    meta = b .. ':meta', state = b .. ':state', log = b .. ':log',
    fails = b .. ':fails', code_fails = b .. ':code_fails',
  }
end

-- The caller's KEYS[1] must be exactly the base key rebuilt from the name: foreign
-- keys are refused, so FCALL cannot be aimed at anything but this stream.
local function check_key(keys, name)
  if keys[1] ~= base_key(name) then fail('INVALID', 'key does not match the stream name') end
  return keys_for(name)
end

-- Secrets: the client sends a PBKDF2 verifier; we keep sha1(salt .. verifier).
local function hash_secret(salt, verifier)
  return redis.sha1hex(salt .. '\0' .. verifier)
end

-- Constant-length comparison of two hex digests (no early exit on the first difference).
local function same_digest(a, b)
  if a == nil or b == nil or #a ~= #b then return false end
  local diff = 0
  for i = 1, #a do
    if a:byte(i) ~= b:byte(i) then diff = diff + 1 end
  end
  return diff == 0
end

-- A pass (issue 12, attack 7): proof that this client got this stream's check
-- of one kind right before, so a flood of wrong guesses that fills the window
-- cannot lock it out. "<expiry, unix s>.<mac>", the mac keyed with the stored
-- hash of the secret (pw_hash or code_hash), which only Redis holds: nobody
-- forges one without the secret, and it dies with the stream (a new stream of
-- the same name has a new salt, so new hashes).
local function pass_mac(key, exp)
  return redis.sha1hex(key .. '\0pass\0' .. exp)
end

local function make_pass(key, now, cfg)
  local exp = math.floor(now / 1000) + cfg.pass_ttl
  return exp .. '.' .. pass_mac(key, exp)
end

-- The pass argument: '-' for none, else "<digits>.<40 hex>"; anything else is INVALID.
local function check_pass_arg(v)
  if v == '-' then return end
  if #v > 60 or not v:match('^%d+%.%x+$') then fail('INVALID', 'pass must be "-" or one the relay issued') end
end

local function has_pass(pass, key, now)
  local exp, mac = pass:match('^(%d+)%.(%x+)$')
  if not exp or tonumber(exp) * 1000 <= now then return false end
  return same_digest(pass_mac(key, exp), mac)
end

-- Rate limit for failed secret checks: a fixed window per stream and per kind
-- of secret (`counter` is k.fails or k.code_fails). While the window is full
-- every check is refused (even a right one), so guesses cannot go on; the
-- window ends by itself, so nobody is locked out for good. A client with a
-- valid pass (`exempt`) is checked anyway: it proved the secret before, so an
-- outsider's flood never locks out the followers and the leader already in.
local function check_not_limited(counter, cfg, exempt)
  if exempt then return end
  local n = tonumber(redis.call('GET', counter) or '0')
  if n >= cfg.fail_limit then
    local ttl = redis.call('PTTL', counter)
    fail('RATE_LIMITED', 'too many failed attempts; retry in ' .. math.max(1, math.ceil(ttl / 1000)) .. ' s')
  end
end

local function count_failure(counter, cfg)
  local n = redis.call('INCR', counter)
  -- No TTL yet (first failure, or a counter that lost it): start the window.
  if n == 1 or redis.call('PTTL', counter) < 0 then redis.call('EXPIRE', counter, math.max(1, cfg.fail_window)) end
end

local function envelope(kind, epoch, seq, ts, extra)
  return '{"v":1,"t":"' .. kind .. '","epoch":"' .. epoch .. '","seq":' .. seq .. ',"ts":' .. ts .. (extra or '') .. '}'
end

-- Loads a live stream's meta as a table, or nil when absent or past its deadline.
local function load_meta(k, now)
  local raw = redis.call('HGETALL', k.meta)
  if #raw == 0 then return nil end
  local m = {}
  for i = 1, #raw, 2 do m[raw[i]] = raw[i + 1] end
  if tonumber(m.deadline) <= now then return nil, m end
  return m
end

-- Leader-code check (reconnect, stop): rate-limited unless the caller holds a
-- code pass, and a failure counts toward the limit.
local function check_code(k, m, cfg, verifier, pass, now)
  check_not_limited(k.code_fails, cfg, has_pass(pass, m.code_hash, now))
  if not same_digest(hash_secret(m.code_salt, verifier), m.code_hash) then
    count_failure(k.code_fails, cfg)
    fail('BAD_CODE', 'wrong leader code')
  end
end

-- Leader-session check (publish, heartbeat): the current term first (fencing), then
-- the token. A token has 192 random bits, so it needs no rate limit.
local function check_leader(m, term, token)
  if term ~= tonumber(m.term) then fail('LEADER_REPLACED', 'another leader took over this stream') end
  if not same_digest(hash_secret(m.code_salt, token), m.tok_hash) then fail('BAD_CODE', 'wrong leader token') end
end

local function delete_stream(name, k, meta, ts, reason)
  if meta and meta.channel then
    redis.call('PUBLISH', meta.channel, envelope('ended', meta.epoch, meta.seq, ts, ',"reason":"' .. reason .. '"'))
  end
  redis.call('DEL', k.meta, k.state, k.log, k.fails, k.code_fails)
  redis.call('ZREM', INDEX, name)
  redis.call('ZREM', DEADLINES, name)
  release_skeleton(name) -- lua/lib/0_names.lua
end

-- Ends up to cfg.sweep streams whose deadline passed: followers get `ended`.
local function sweep(cfg, now)
  local due = redis.call('ZRANGE', DEADLINES, '-inf', now, 'BYSCORE', 'LIMIT', 0, cfg.sweep)
  for _, name in ipairs(due) do
    local k = keys_for(name)
    local live, stale = load_meta(k, now)
    if not live then delete_stream(name, k, stale, now, 'expired') end
  end
end

-- Moves a stream's idle deadline; keys also get a backstop TTL so memory is
-- freed even if no call ever sweeps them.
local function touch(name, k, cfg, now)
  local deadline = now + cfg.idle_ttl * 1000
  redis.call('HSET', k.meta, 'deadline', deadline)
  redis.call('ZADD', DEADLINES, deadline, name)
  local ttl = cfg.idle_ttl * 1000 + 60000
  redis.call('PEXPIRE', k.meta, ttl)
  redis.call('PEXPIRE', k.state, ttl)
  redis.call('PEXPIRE', k.log, ttl)
end

-- One scalar token outside strings: a literal or a number as RFC 8259 spells it.
local function strict_scalar(tok)
  if tok == 'true' or tok == 'false' or tok == 'null' then return true end
  local int, rest = tok:match('^%-?(%d+)(.*)$')
  if not int or (#int > 1 and int:sub(1, 1) == '0') then return false end
  rest = rest:gsub('^%.%d+', '', 1)
  rest = rest:gsub('^[eE][+-]?%d+', '', 1)
  return rest == ''
end

-- Redis's cjson is lenient: it takes NaN, Infinity, hex and `+1` numbers,
-- leading zeros and raw control characters inside strings. Browsers' JSON.parse
-- refuses all of them, so one such state would make every follower's connect
-- fail. After cjson has checked the structure, this refuses what it let by.
local function strict_json(s)
  if not s:find('[%z\1-\31]') then
    -- Fast path (all that JSON.stringify makes): no control byte anywhere, so no
    -- string can hold a raw tab or newline; drop strings whole (no callback per
    -- string: half the cost on a 200 KB plan) and check the scalars left.
    local bare = s:gsub('\\.', ''):gsub('"[^"]*"', '')
    for tok in bare:gmatch('[^%s{}%[%]:,]+') do
      if not strict_scalar(tok) then return false end
    end
    return true
  end
  -- Bytes that are never valid in JSON text, inside or outside strings.
  if s:find('[%z\1-\8\11\12\14-\31]') then return false end
  local ok = true
  local bare = s:gsub('\\.', ''):gsub('"[^"]*"', function(str)
    if str:find('[\t\n\r]') then ok = false end -- raw tab/newline inside a string
    return '0'
  end)
  if not ok then return false end
  for tok in bare:gmatch('[^%s{}%[%]:,]+') do
    if not strict_scalar(tok) then return false end
  end
  return true
end

-- A state is one JSON object (strict RFC 8259), validated before anything is written.
local function check_state(state, cfg)
  if #state > cfg.max_state then fail('TOO_LARGE', 'state is larger than ' .. cfg.max_state .. ' bytes') end
  if not valid_utf8(state) then fail('INVALID', 'state is not UTF-8') end
  local ok, decoded = pcall(cjson.decode, state)
  if not ok or type(decoded) ~= 'table' or state:sub(1, 1) ~= '{' or not strict_json(state) then
    fail('INVALID', 'state must be a JSON object')
  end
end

local function json_str(s)
  return cjson.encode(s)
end
