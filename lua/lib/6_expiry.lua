--[[
  Expiry: a stream is live until its idle deadline; loading its meta, moving the
  deadline, ending it and sweeping the ones whose deadline passed. Uses 3_keys,
  4_json (envelope) and 0_names (release_skeleton).
]]

-- Loads a live stream's meta as a table, or nil when absent or past its deadline.
local function load_meta(k, now)
  local raw = redis.call('HGETALL', k.meta)
  if #raw == 0 then return nil end
  local m = {}
  for i = 1, #raw, 2 do m[raw[i]] = raw[i + 1] end
  if tonumber(m.deadline) <= now then return nil, m end
  return m
end

-- The origin of a stream: the epoch relay_start gave it. Heals move the epoch and keep
-- the origin (lua/heal.lua); a stream made before heals existed has its epoch as origin.
local function origin_of(meta)
  return meta.origin or meta.epoch
end

-- A stream that ended on purpose (stopped, or expired) leaves a tombstone naming its
-- origin, so its leader, seeing NOT_FOUND, does not take it for writes lost in a
-- failover and heal it back (lua/heal.lua). It outlives the stream's backstop TTL twice.
local function tombstone_ms(cfg)
  return 2 * (cfg.idle_ttl * 1000 + 60000)
end

local function delete_stream(name, k, meta, ts, reason)
  if meta and meta.channel then
    redis.call('PUBLISH', meta.channel, envelope('ended', meta.epoch, meta.seq, ts, ',"reason":"' .. reason .. '"'))
  end
  redis.call('DEL', k.meta, k.snap, k.log, k.fails, k.code_fails)
  if meta and meta.epoch then redis.call('SET', k.ended, origin_of(meta), 'PX', tombstone_ms(config())) end
  redis.call('ZREM', INDEX, name)
  redis.call('ZREM', DEADLINES, name)
  release_skeleton(name) -- lua/lib/0_names.lua
end

-- Room for a new stream `name` (relay_start, and relay_heal re-making a lost one), checked
-- before any write: refused while a look-alike (lua/lib/0_names.lua) is live, or when
-- the relay holds cfg.max_streams live streams (indexed ones whose idle deadline has
-- not passed: expired ones wait for the sweep but hold no room). Then the stream's own
-- expired leftovers (`stale`) and an expired look-alike are ended, as the sweep would.
local function make_room(name, stale, cfg, now)
  local holder = skeleton_holder(name)
  local holder_k, holder_stale
  if holder then
    local holder_live
    holder_k = keys_for(holder)
    holder_live, holder_stale = load_meta(holder_k, now)
    if holder_live then fail('NAME_CONFUSABLE', 'a live stream has a name that looks the same') end
  end
  if cfg.max_streams > 0
    and redis.call('ZCARD', INDEX) - redis.call('ZCOUNT', DEADLINES, '-inf', now) >= cfg.max_streams then
    fail('FULL', 'the relay holds its maximum of ' .. cfg.max_streams .. ' live streams')
  end
  if stale then delete_stream(name, keys_for(name), stale, now, 'expired') end
  if holder then delete_stream(holder, holder_k, holder_stale, now, 'expired') end
end

-- Ends up to cfg.sweep streams whose deadline passed: followers get `ended`. A live
-- one found here has a later deadline in its meta than in the index (publishes renew
-- the index only now and then, see `renew_due`): it gets its real one back, so it
-- never takes the room of streams that did expire.
local function sweep(cfg, now)
  local due = redis.call('ZRANGE', DEADLINES, '-inf', now, 'BYSCORE', 'LIMIT', 0, cfg.sweep)
  for _, name in ipairs(due) do
    local k = keys_for(name)
    local live, stale = load_meta(k, now)
    if live then redis.call('ZADD', DEADLINES, live.deadline, name)
    else delete_stream(name, k, stale, now, 'expired') end
  end
end

local function backstop_ttl(cfg)
  return cfg.idle_ttl * 1000 + 60000
end

-- Moves a stream's idle deadline; keys also get a backstop TTL so memory is
-- freed even if no call ever sweeps them.
-- Meta keeps what the last renewal wrote: `renewed` (when), `indexed` (the deadline in
-- relay:deadline) and `kept` (when the backstop TTLs run out).
local function touch(name, k, cfg, now)
  local deadline = now + cfg.idle_ttl * 1000
  local ttl = backstop_ttl(cfg)
  redis.call('HSET', k.meta, 'deadline', deadline, 'renewed', now, 'indexed', deadline, 'kept', now + ttl)
  redis.call('ZADD', DEADLINES, deadline, name)
  redis.call('PEXPIRE', k.meta, ttl)
  redis.call('PEXPIRE', k.snap, ttl)
  redis.call('PEXPIRE', k.log, ttl)
end

-- A publish moves the deadline in meta every time (in its own HSET) but renews the
-- index entry and the backstop TTLs, and sweeps, only when it must: 5 of a publish's
-- ~13 Redis calls, on the one thread every stream shares. It must when the index would
-- hold a later deadline than meta (idle_ttl was lowered: the sweep would not see the
-- stream end), when the TTLs would not outlast the new deadline by 30 s (idle_ttl was
-- raised), and in any case a quarter of idle_ttl (30 s at most) after the last renewal.
-- Otherwise the index lags meta by less than that, and `sweep` puts a lagging entry right.
local function renew_due(m, cfg, now)
  local deadline = now + cfg.idle_ttl * 1000
  return deadline < tonumber(m.indexed or '0')
    or deadline + 30000 > tonumber(m.kept or '0')
    or now - tonumber(m.renewed or '0') >= math.min(30000, cfg.idle_ttl * 250)
end
