--[[
  relay_heartbeat: the leader is still there. Moves the idle deadline and sends
  followers a small `hb` envelope, so they can tell a quiet stream from a dead
  connection.

  KEYS[1]  base key of the stream
  ARGV[1]  name
  ARGV[2]  leader token  32..64 hex
  ARGV[3]  term          integer
  ARGV[4]  epoch         optional, "-" when absent (older clients): the leader's epoch
  ARGV[5]  seq           optional, "-" when absent: the last seq the leader saw acknowledged.
                         With both, a stream behind the leader answers BEHIND (nothing is
                         published: followers never hear a seq the leader is about to heal)

  Returns  JSON {"seq","deadline"}
  Errors   INVALID, TOO_LARGE, NOT_FOUND, LEADER_REPLACED, BAD_CODE, BEHIND (lua/lib/5_secrets.lua)
  Envelope {"v":2,"t":"hb","epoch","seq","ts"}
]]
local function relay_heartbeat(keys, argv)
  local term, seq, epoch
  local cfg, k, m, now = open_stream(argv, 5, keys, 1, 2, function()
    check_hex(argv[2], 'leader token', 32, 64)
    term = check_int(argv[3], 'term')
    epoch = argv[4]
    if epoch ~= '-' then
      check_epoch(epoch)
      if argv[5] ~= '-' then seq = check_int(argv[5], 'seq') end
    end
  end)
  if epoch == '-' then check_leader(m, term, argv[2]) else check_leader(m, term, argv[2], epoch, seq) end
  touch(argv[1], k, cfg, now)
  sweep(cfg, now)
  redis.call('PUBLISH', m.channel, envelope('hb', m.epoch, m.seq, now))
  return '{"seq":' .. m.seq .. ',"deadline":' .. (now + cfg.idle_ttl * 1000) .. '}'
end

-- allow-oom: at Redis maxmemory (noeviction) functions that add data (start, publish) are
-- refused whole (OOM); this one only reads, frees or rewrites fixed-size fields, so
-- followers can still join and leaders still keep or end their streams.
redis.register_function{ function_name = 'relay_heartbeat', callback = relay_heartbeat, flags = { 'allow-oom' } }
