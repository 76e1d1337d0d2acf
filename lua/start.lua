--[[
  relay_start: create a stream; the caller becomes its leader (term 1).

  KEYS[1]  base key of the stream: relay:{<escaped name>}
  ARGV[1]  name              UTF-8, 1..max_name bytes, no control characters
  ARGV[2]  password verifier 64 hex (PBKDF2-SHA-256 of the password, made by the client)
  ARGV[3]  code verifier     64 hex (PBKDF2-SHA-256 of the leader code)
  ARGV[4]  channel seed      32..64 hex, random, made by the client; the channel is
                             sha1hex of it with the name and epoch, so no caller can
                             pick another stream's channel and publish into it
  ARGV[5]  leader token      32..64 hex, random, made by the client (proves leadership to publish)

  Returns  JSON {"channel","epoch","seq":0,"term":1,"pass"}  (channel: 40 hex; pass: a
           code pass for reconnect and stop, see connect). The state is {} at seq 0: no
           snapshot yet (the leader's first change seals against this epoch)
  Errors   INVALID (also: invisible characters, whitespace at an end, not NFC), TOO_LARGE, NAME_TAKEN,
           NAME_CONFUSABLE (a live stream's name looks the same: lua/lib/0_names.lua), FULL (max_streams live streams already)
  Writes   meta, index and skeleton entries; the stored secrets are salted SHA-1 of the verifiers.
           meta `origin` is this epoch: heals move the epoch and keep it (lua/heal.lua).
]]
local function relay_start(keys, argv)
  check_arity(argv, 5, keys, 1)
  local cfg = config()
  local name = argv[1]
  check_name(name, cfg)
  local problem = new_name_problem(name)
  if problem then fail('INVALID', problem) end
  local k = check_key(keys, name)
  check_hex(argv[2], 'password verifier', 64, 64)
  check_hex(argv[3], 'code verifier', 64, 64)
  check_hex(argv[4], 'channel seed', 32, 64)
  check_hex(argv[5], 'leader token', 32, 64)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local live, stale = load_meta(k, now)
  if live then fail('NAME_TAKEN', 'a stream with this name is live') end
  make_room(name, stale, cfg, now) -- look-alikes, the cap, expired leftovers (lua/lib/6_expiry.lua)

  local epoch = t[1] .. string.format('%06d', tonumber(t[2]))
  local pw_salt = redis.sha1hex('pw\0' .. name .. '\0' .. epoch)
  local code_salt = redis.sha1hex('code\0' .. name .. '\0' .. epoch)
  -- Derived, never taken as sent: the name is unique among live streams, so
  -- two streams never share a channel.
  local channel = redis.sha1hex('channel\0' .. argv[4] .. '\0' .. name .. '\0' .. epoch)
  local code_hash = hash_secret(code_salt, argv[3])
  -- A snapshot or log may outlive an earlier instance's meta by a little (they get their
  -- TTL when written, meta when renewed): never inherit them.
  redis.call('DEL', k.snap, k.log)
  redis.call('HSET', k.meta,
    'name', name, 'channel', channel, 'epoch', epoch, 'origin', epoch, 'seq', 0, 'term', 1,
    'pw_salt', pw_salt, 'pw_hash', hash_secret(pw_salt, argv[2]),
    'code_salt', code_salt, 'code_hash', code_hash,
    'tok_hash', hash_secret(code_salt, argv[5]),
    'created', now, 'updated', now, 'deadline', now, 'op', '', 'op_seq', 0,
    'snap_seq', 0, 'snap_b', 0, 'chain_b', 0, 'chain_n', 0)
  redis.call('ZADD', INDEX, 0, name)
  claim_skeleton(name)
  touch(name, k, cfg, now)
  sweep(cfg, now)
  return '{"channel":"' .. channel .. '","epoch":"' .. epoch .. '","seq":0,"term":1,"pass":"' ..
    make_pass(code_hash, now, cfg) .. '"}'
end

redis.register_function{ function_name = 'relay_start', callback = relay_start }
