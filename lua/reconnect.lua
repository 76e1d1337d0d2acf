--[[
  relay_reconnect: the leader comes back (new tab, restarted CLI) and takes over.
  The term goes up by one and the new token replaces the old one, so an older
  leader's publishes fail with LEADER_REPLACED (fencing).

  KEYS[1]  base key of the stream
  ARGV[1]  name
  ARGV[2]  code verifier  64 hex
  ARGV[3]  leader token   32..64 hex, new, random
  ARGV[4]  code pass from start or an earlier reconnect, or "-": exempts from the
           leader-code rate limit (the code is still checked)
  ARGV[5]  password verifier  64 hex: the leader seals with a key from the password, so
           a leader with the right code and a wrong password would publish changes no
           follower can open; refused here (BAD_PASSWORD, counted with the wrong codes)

  Returns  JSON {"channel","epoch","origin","seq","term","updated","pass","snapshot","mode":"full",
           "changes":[...]}: the stream as connect gives it to a new follower, so the
           leader can open its state; snapshot: send a whole state next (as publish says);
           origin: the epoch relay_start gave the stream (a heal needs it, lua/heal.lua)
  Errors   INVALID, TOO_LARGE, NOT_FOUND, BAD_CODE, BAD_PASSWORD, RATE_LIMITED
  Writes   term, token hash, deadline; a failed code check counts toward the
           leader-code rate limit (apart from the password one, see connect).
]]
local function relay_reconnect(keys, argv)
  local cfg, k, m, now = open_stream(argv, 5, keys, 1, 0, function()
    check_hex(argv[2], 'code verifier', 64, 64)
    check_hex(argv[3], 'leader token', 32, 64)
    check_pass_arg(argv[4])
    check_hex(argv[5], 'password verifier', 64, 64)
  end)
  check_code(k, m, cfg, argv[2], argv[4], now)
  -- Only a code holder gets here; its wrong passwords count in the leader-code window,
  -- so they never lock followers out (and a right code with a pass is not slowed).
  if not same_digest(hash_secret(m.pw_salt, argv[5]), m.pw_hash) then
    count_failure(k.code_fails, cfg)
    fail('BAD_PASSWORD', 'wrong password')
  end
  local term = tonumber(m.term) + 1
  redis.call('HSET', k.meta, 'term', term, 'tok_hash', hash_secret(m.code_salt, argv[3]))
  touch(argv[1], k, cfg, now)
  sweep(cfg, now)
  local snapshot = wants_snapshot(cfg, tonumber(m.snap_b or '0'), tonumber(m.chain_b or '0'), tonumber(m.chain_n or '0'))
  return '{"channel":"' .. m.channel .. '","epoch":"' .. m.epoch .. '","origin":"' .. origin_of(m) ..
    '","seq":' .. m.seq ..
    ',"term":' .. term .. ',"updated":' .. m.updated .. ',"pass":"' .. make_pass(m.code_hash, now, cfg) ..
    '","snapshot":' .. tostring(snapshot) .. catch_up(k, m, '-', 0) .. '}'
end

-- allow-oom: at Redis maxmemory (noeviction) functions that add data (start, publish) are
-- refused whole (OOM); this one only reads, frees or rewrites fixed-size fields, so
-- followers can still join and leaders still keep or end their streams.
redis.register_function{ function_name = 'relay_reconnect', callback = relay_reconnect, flags = { 'allow-oom' } }
