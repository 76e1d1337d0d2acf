--[[
  relay_stop: end a stream. Followers get an `ended` envelope; every key of the
  stream and its index entries are deleted, so the name is free again.

  KEYS[1]  base key of the stream
  ARGV[1]  name
  ARGV[2]  code verifier  64 hex
  ARGV[3]  code pass, or "-" (optional): exempts from the leader-code rate limit

  Returns  JSON {"seq"}
  Errors   INVALID, TOO_LARGE, NOT_FOUND, BAD_CODE, RATE_LIMITED
  Writes   deletes the stream; a failed code check counts toward the leader-code rate limit.
]]
local function relay_stop(keys, argv)
  local cfg, k, m, now = open_stream(argv, 3, keys, 1, 1, function()
    check_hex(argv[2], 'code verifier', 64, 64)
    check_pass_arg(argv[3])
  end)
  check_code(k, m, cfg, argv[2], argv[3], now)
  delete_stream(argv[1], k, m, now, 'stopped')
  sweep(cfg, now)
  return '{"seq":' .. m.seq .. '}'
end

-- allow-oom: at Redis maxmemory (noeviction) functions that add data (start, publish) are
-- refused whole (OOM); this one only reads, frees or rewrites fixed-size fields, so
-- followers can still join and leaders still keep or end their streams.
redis.register_function{ function_name = 'relay_stop', callback = relay_stop, flags = { 'allow-oom' } }
