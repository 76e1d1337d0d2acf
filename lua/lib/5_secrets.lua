--[[
  Secrets: hashing and comparing verifiers, passes, the failed-check rate limit,
  and the leader-code and leader-session checks. Uses 1_config (fail).
]]

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
-- Nested (HMAC-like): sha1(key .. sha1(key .. msg)), so the mac of one
-- message never extends to the mac of a longer one.
local function pass_mac(key, exp)
  return redis.sha1hex(key .. redis.sha1hex(key .. '\0pass\0' .. exp))
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

-- Valid: made for this key, not expired, and not expiring later than one made
-- now would (an operator who lowers pass_ttl shortens every pass out there).
local function has_pass(pass, key, now, cfg)
  local exp, mac = pass:match('^(%d+)%.(%x+)$')
  if not exp then return false end
  local e = tonumber(exp)
  if e * 1000 <= now or e > math.floor(now / 1000) + cfg.pass_ttl then return false end
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

-- Leader-code check (reconnect, stop): rate-limited unless the caller holds a
-- code pass, and a failure counts toward the limit.
local function check_code(k, m, cfg, verifier, pass, now)
  check_not_limited(k.code_fails, cfg, has_pass(pass, m.code_hash, now, cfg))
  if not same_digest(hash_secret(m.code_salt, verifier), m.code_hash) then
    count_failure(k.code_fails, cfg)
    fail('BAD_CODE', 'wrong leader code')
  end
end

-- Leader-session check (publish, heartbeat): the current term first (fencing), then
-- the token. A token has 192 random bits, so it needs no rate limit.
-- A leader that says where it stands (`epoch` and `seq`: what the server acknowledged it
-- last; nil from an older client) hears BEHIND when the stream is behind that: a failover
-- promoted a replica that lacks its last writes (an older term, epoch or seq). It heals
-- the stream (lua/heal.lua). The message ends with "epoch <e> seq <n>": where it is.
local function check_leader(m, term, token, epoch, seq)
  local at = ' (the stream is at epoch ' .. m.epoch .. ' seq ' .. m.seq .. ')'
  if term < tonumber(m.term) or (term ~= tonumber(m.term) and not epoch) then
    fail('LEADER_REPLACED', 'another leader took over this stream')
  end
  -- Before the token check (the stream holds an older leader's token), so without
  -- `at`: a caller without the token learns nothing of where the stream stands. The
  -- leader's heal proposes past its own epoch and seq; a heal's STALE (after the
  -- code check) says where the stream is if that is not far enough.
  if term > tonumber(m.term) then fail('BEHIND', 'the stream lost this leader\'s term') end
  if not same_digest(hash_secret(m.code_salt, token), m.tok_hash) then fail('BAD_CODE', 'wrong leader token') end
  if epoch and epoch ~= m.epoch then fail('BEHIND', 'the stream is not at this leader\'s epoch' .. at) end
  if seq and seq > tonumber(m.seq) then fail('BEHIND', 'the stream lost writes this leader had acknowledged' .. at) end
end
