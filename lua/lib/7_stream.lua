--[[
  The preamble of every function on one existing stream (connect, heartbeat,
  publish, reconnect, stop), in the order that decides which error a bad call
  gets: arity, name, key, the op's own arguments, then the stream itself
  (NOT_FOUND). Nothing is read from the stream before every argument passed.
  Uses 1_config, 2_args, 3_keys and 6_expiry. Also the catch-up every reader gets.
]]

-- argv, n, keys, nkeys: as check_arity (the op's contract, also read by
-- test/lua/headers.test.ts). optional: how many trailing ARGV a caller from an
-- older client may leave out; they read as '-' (none). check_args(cfg) checks
-- the op's own arguments and keeps what it parsed in the op's locals.
-- Returns the config, the stream's keys, its meta (live) and now (ms).
local function open_stream(argv, n, keys, nkeys, optional, check_args)
  if #argv < n and #argv >= n - optional then
    for i = #argv + 1, n do argv[i] = '-' end
  end
  check_arity(argv, n, keys, nkeys)
  local cfg = config()
  check_name(argv[1], cfg)
  local k = check_key(keys, argv[1])
  check_args(cfg)
  local now = now_ms()
  local m = load_meta(k, now)
  if not m then fail('NOT_FOUND', 'no such stream') end
  return cfg, k, m, now
end

-- What a reader at (epoch, last) lacks, as the tail of a connect or reconnect reply.
-- The stream is its snapshot (the envelope of the last full state, at snap_seq; none
-- yet means the empty state {} at seq 0) plus the log, the changes since, one per seq
-- from snap_seq + 1 to seq (lua/publish.lua keeps it so).
--   ,"mode":"current"                          nothing new
--   ,"mode":"changes","changes":[env,...]      the changes after `last`, oldest first
--   ,"mode":"full","changes":[snap,env,...]    everything: the snapshot (when there is
--                                              one) and the changes since it; "changes"
--                                              when the reader is right before the
--                                              snapshot (fetching a large one): it is
--                                              the next change, not a reset
local function catch_up(k, m, epoch, last)
  local seq, snap_seq = tonumber(m.seq), tonumber(m.snap_seq or '0')
  if epoch == m.epoch and last == seq then return ',"mode":"current"' end
  if epoch == m.epoch and last >= snap_seq and last < seq then
    local changes = redis.call('LRANGE', k.log, last - snap_seq, -1)
    return ',"mode":"changes","changes":[' .. table.concat(changes, ',') .. ']'
  end
  local all = redis.call('LRANGE', k.log, 0, -1)
  local snap = redis.call('GET', k.snap)
  if snap then table.insert(all, 1, snap) end
  local mode = (snap and epoch == m.epoch and last == snap_seq - 1) and 'changes' or 'full'
  return ',"mode":"' .. mode .. '","changes":[' .. table.concat(all, ',') .. ']'
end

-- The log's bounds (lua/publish.lua): it may outweigh the snapshot once (then the
-- leader is asked for a whole state) and twice at most (then a change is refused).
-- The floor keeps a stream whose snapshot is tiny, or absent ({} at seq 0), from
-- being asked for a whole state at every edit. Bytes are sealed content bytes.
local CHAIN_FLOOR = 4096

local function log_room(snap_b)
  return math.max(snap_b, CHAIN_FLOOR)
end

-- The leader should send a whole state next.
local function wants_snapshot(cfg, snap_b, chain_b, chain_n)
  return chain_n >= cfg.history or chain_b >= log_room(snap_b)
end
