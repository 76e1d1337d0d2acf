--[[
  relay_heartbeat: the leader is still there. Moves the idle deadline and sends
  followers a small `hb` envelope, so they can tell a quiet stream from a dead
  connection.

  KEYS[1]  base key of the stream
  ARGV[1]  name
  ARGV[2]  leader token  32..64 hex
  ARGV[3]  term          integer

  Returns  JSON {"seq","deadline"}
  Errors   INVALID, TOO_LARGE, NOT_FOUND, LEADER_REPLACED, BAD_CODE
  Envelope {"v":2,"t":"hb","epoch","seq","ts"}
]]
local function relay_heartbeat(keys, argv)
  local term
  local cfg, k, m, now = open_stream(argv, 3, keys, 1, 0, function()
    check_hex(argv[2], 'leader token', 32, 64)
    term = check_int(argv[3], 'term')
  end)
  check_leader(m, term, argv[2])
  touch(argv[1], k, cfg, now)
  sweep(cfg, now)
  redis.call('PUBLISH', m.channel, envelope('hb', m.epoch, m.seq, now))
  return '{"seq":' .. m.seq .. ',"deadline":' .. (now + cfg.idle_ttl * 1000) .. '}'
end

-- allow-oom: at Redis maxmemory (noeviction) functions that add data (start, publish) are
-- refused whole (OOM); this one only reads, frees or rewrites fixed-size fields, so
-- followers can still join and leaders still keep or end their streams.
redis.register_function{ function_name = 'relay_heartbeat', callback = relay_heartbeat, flags = { 'allow-oom' } }
