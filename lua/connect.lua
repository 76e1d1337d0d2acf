--[[
  relay_connect: a follower joins (or re-joins after a drop) and gets the
  channel plus what it lacks: nothing, the missing changes from the history,
  or the full current state.

  KEYS[1]  base key of the stream
  ARGV[1]  name
  ARGV[2]  password verifier  64 hex
  ARGV[3]  epoch the follower last saw, or "-" for none
  ARGV[4]  seq the follower last applied (integer, "0" for none)
  ARGV[5]  pass from an earlier connect, or "-" (optional, "-" when absent): exempts
           from the failed-password rate limit (the password is still checked)

  Returns  JSON {"channel","epoch","seq","term","updated","heard","now","pass","mode",...}
           heard: the leader's last word, server ms (start, publish, heartbeat and reconnect
           move the deadline to now + idle_ttl: heard = deadline - idle_ttl, as relay_list);
           now: the server's clock at this reply. A follower that has heard nothing for a
           while compares `now - heard` with its own silence: the leader quiet as long (away),
           or heard since (this follower's channel stalled) (src/core/follower/shell.ts)
           pass: a fresh one, for the next connect
           mode "current": the follower is up to date
           mode "changes": "changes":[envelope,...] for seq > ARGV[4], oldest first
           mode "full":    "changes":[snapshot, envelope,...]: the last whole state and the
                           changes since (without a snapshot yet, from {} at seq 0); for
                           another epoch, a seq newer than the stream's, or one before
                           the snapshot (lua/lib/7_stream.lua catch_up)
  Errors   INVALID, TOO_LARGE, NOT_FOUND, BAD_PASSWORD, RATE_LIMITED
  Writes   only the failed-password counter (rate limit); declared as a write for that reason.
]]
local function relay_connect(keys, argv)
  local epoch, last = argv[3]
  local cfg, k, m, now = open_stream(argv, 5, keys, 1, 1, function()
    check_hex(argv[2], 'password verifier', 64, 64)
    if epoch ~= '-' and not epoch:match('^%d+$') then fail('INVALID', 'epoch must be digits or "-"') end
    last = check_int(argv[4], 'last seq')
    check_pass_arg(argv[5])
  end)
  check_not_limited(k.fails, cfg, has_pass(argv[5], m.pw_hash, now, cfg))
  if not same_digest(hash_secret(m.pw_salt, argv[2]), m.pw_hash) then
    count_failure(k.fails, cfg)
    fail('BAD_PASSWORD', 'wrong password')
  end
  local head = '{"channel":"' .. m.channel .. '","epoch":"' .. m.epoch .. '","seq":' .. m.seq ..
    ',"term":' .. m.term .. ',"updated":' .. m.updated ..
    ',"heard":' .. (tonumber(m.deadline) - cfg.idle_ttl * 1000) .. ',"now":' .. now .. ',"pass":"' .. make_pass(m.pw_hash, now, cfg) .. '"'
  return head .. catch_up(k, m, epoch, last) .. '}'
end

-- allow-oom: at Redis maxmemory (noeviction) functions that add data (start, publish) are
-- refused whole (OOM); this one only reads, frees or rewrites fixed-size fields, so
-- followers can still join and leaders still keep or end their streams.
redis.register_function{ function_name = 'relay_connect', callback = relay_connect, flags = { 'allow-oom' } }
