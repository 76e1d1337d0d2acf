--[[
  The preamble of every function on one existing stream (connect, heartbeat,
  publish, reconnect, stop), in the order that decides which error a bad call
  gets: arity, name, key, the op's own arguments, then the stream itself
  (NOT_FOUND). Nothing is read from the stream before every argument passed.
  Uses 1_config, 2_args, 3_keys and 6_expiry.
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
