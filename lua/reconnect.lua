--[[
  relay_reconnect: the leader comes back (new tab, restarted CLI) and takes over.
  The term goes up by one and the new token replaces the old one, so an older
  leader's publishes fail with LEADER_REPLACED (fencing).

  KEYS[1]  base key of the stream
  ARGV[1]  name
  ARGV[2]  code verifier  64 hex
  ARGV[3]  leader token   32..64 hex, new, random
  ARGV[4]  code pass from start or an earlier reconnect, or "-" (optional): exempts
           from the leader-code rate limit (the code is still checked)

  Returns  JSON {"channel","epoch","seq","term","updated","pass","state":<state>}
  Errors   INVALID, TOO_LARGE, NOT_FOUND, BAD_CODE, RATE_LIMITED
  Writes   term, token hash, deadline; a failed code check counts toward the
           leader-code rate limit (apart from the password one, see connect).
]]
local function relay_reconnect(keys, argv)
  local cfg, k, m, now = open_stream(argv, 4, keys, 1, 1, function()
    check_hex(argv[2], 'code verifier', 64, 64)
    check_hex(argv[3], 'leader token', 32, 64)
    check_pass_arg(argv[4])
  end)
  check_code(k, m, cfg, argv[2], argv[4], now)
  local term = tonumber(m.term) + 1
  redis.call('HSET', k.meta, 'term', term, 'tok_hash', hash_secret(m.code_salt, argv[3]))
  touch(argv[1], k, cfg, now)
  sweep(cfg, now)
  local state = redis.call('GET', k.state) or '{}'
  return '{"channel":"' .. m.channel .. '","epoch":"' .. m.epoch .. '","seq":' .. m.seq ..
    ',"term":' .. term .. ',"updated":' .. m.updated .. ',"pass":"' .. make_pass(m.code_hash, now, cfg) ..
    '","state":' .. state .. '}'
end

-- allow-oom: at Redis maxmemory (noeviction) functions that add data (start, publish) are
-- refused whole (OOM); this one only reads, frees or rewrites fixed-size fields, so
-- followers can still join and leaders still keep or end their streams.
redis.register_function{ function_name = 'relay_reconnect', callback = relay_reconnect, flags = { 'allow-oom' } }
