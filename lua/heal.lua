--[[
  relay_heal: the leader puts its stream back after a failover lost writes it had
  acknowledged. Redis replicates asynchronously, so a promoted replica may hold the
  stream at an older seq, epoch or term (publish and heartbeat answer BEHIND), or not at
  all (NOT_FOUND: its relay_start never replicated). The leader is the source of truth
  for its own state: it sends it whole, sealed for a new epoch and a seq past both
  its own and the stream's, and the stream is re-made from it. A new epoch, never a
  continuation: a follower that saw seq N of the old epoch (from the lost primary) must
  not take another state at seq N as the next one; with a new epoch it fetches the
  stream whole (a reset) and seq still goes up.

  KEYS[1]  base key of the stream
  ARGV[1]  name
  ARGV[2]  password verifier  64 hex (checked when the stream is there, stored when not)
  ARGV[3]  code verifier      64 hex (the same)
  ARGV[4]  channel seed       32..64 hex: when the stream is re-made, its channel is
                              sha1hex of it with the name and the origin (what relay_start
                              made with the seed and its epoch: the same channel for the
                              leader that started it; a leader that took over never had the
                              seed and sends a new one, so followers move with their next sync)
  ARGV[5]  leader token       32..64 hex: this leader's (kept)
  ARGV[6]  term               this leader's term; a stream at a later term answers LEADER_REPLACED
  ARGV[7]  origin             the epoch relay_start gave the stream (meta origin)
  ARGV[8]  epoch              the new epoch, 1..16 digits, after the origin and after the
                              stream's epoch (the leader proposes it: it seals for it)
  ARGV[9]  seq                the new seq, after the stream's
  ARGV[10] op id              16..64 hex: a retry with it gets the first answer
  ARGV[11] content            the leader's state whole, sealed for (name, epoch, seq, "s")
  ARGV[12] code pass, or "-": exempts from the leader-code rate limit (the code is checked)

  Returns  JSON {"channel","epoch","seq","term","pass","duplicate"}: where the stream is now
           (for a duplicate, where the first attempt put it)
  Errors   INVALID, TOO_LARGE, BAD_CODE, BAD_PASSWORD, RATE_LIMITED (the stream is there);
           NOT_FOUND (the stream ended on purpose: stopped or expired, its tombstone
           `relay:{<t>}:ended` names this origin; or another stream holds the name now);
           LEADER_REPLACED (a later term); STALE (the stream is already at this epoch or
           later, or at this seq or later; the message ends with "epoch <e> seq <n>)": propose
           past it); NAME_CONFUSABLE, FULL (re-making a stream obeys relay_start's rules)
  Writes   meta (new epoch, salts and hashes, seq, term, the op), the snapshot (the state),
           an empty log, index, deadline and skeleton entries; PUBLISHes the state.
]]

local function heal_reply(m, seq, epoch, term, pass, duplicate)
  return '{"channel":"' .. m.channel .. '","epoch":"' .. epoch .. '","seq":' .. seq .. ',"term":' .. term ..
    ',"pass":"' .. pass .. '","duplicate":' .. tostring(duplicate) .. '}'
end

local function relay_heal(keys, argv)
  check_arity(argv, 12, keys, 1)
  local cfg = config()
  local name = argv[1]
  check_name(name, cfg)
  local k = check_key(keys, name)
  check_hex(argv[2], 'password verifier', 64, 64)
  check_hex(argv[3], 'code verifier', 64, 64)
  check_hex(argv[4], 'channel seed', 32, 64)
  check_hex(argv[5], 'leader token', 32, 64)
  local term = check_int(argv[6], 'term')
  local origin, epoch = argv[7], argv[8]
  local origin_n, epoch_n = check_epoch(origin, 'origin'), check_epoch(epoch)
  local seq = check_int(argv[9], 'seq')
  local op, content = argv[10], argv[11]
  check_hex(op, 'op id', 16, 64)
  check_sealed(content, cfg, 'state')
  check_pass_arg(argv[12])
  if term < 1 or seq < 1 then fail('INVALID', 'term and seq must be at least 1') end
  if epoch_n <= origin_n then fail('INVALID', 'the epoch must come after the origin') end
  local now = now_ms()
  local m, stale = load_meta(k, now)
  if m and origin_of(m) ~= origin then fail('NOT_FOUND', 'another stream holds this name now') end
  -- Ours expired (its idle deadline passed, not swept yet): it ended; the sweep says so.
  if stale and origin_of(stale) == origin then fail('NOT_FOUND', 'the stream expired') end

  local channel, created
  if m then
    -- The stream is there, behind: only its leader may re-make it (code and password,
    -- as relay_reconnect checks them), and a retry of this heal gets its first answer.
    check_code(k, m, cfg, argv[3], argv[12], now)
    if not same_digest(hash_secret(m.pw_salt, argv[2]), m.pw_hash) then
      count_failure(k.code_fails, cfg)
      fail('BAD_PASSWORD', 'wrong password')
    end
    if m.op == op or (' ' .. (m.ops or '') .. ' '):find(' ' .. op .. ':', 1, true) then
      return heal_reply(m, m.op_seq, m.epoch, m.term, make_pass(m.code_hash, now, cfg), true)
    end
    if term < tonumber(m.term) then fail('LEADER_REPLACED', 'another leader took over this stream') end
    -- Past the stream, never onto it: a late copy of an earlier heal (its op id forgotten)
    -- can never put an older state back.
    if epoch_n <= tonumber(m.epoch) or seq <= tonumber(m.seq) then
      fail('STALE', 'the heal must go past the stream (at epoch ' .. m.epoch .. ' seq ' .. m.seq .. ')')
    end
    channel, created = m.channel, m.created
  else
    -- Gone. Stopped or expired on purpose: its tombstone says so, and it stays ended.
    if redis.call('GET', k.ended) == origin then
      fail('NOT_FOUND', 'the stream was stopped or expired; it is not re-made')
    end
    -- Lost: re-made under relay_start's rules (names, look-alikes, the cap).
    local problem = new_name_problem(name)
    if problem then fail('INVALID', problem) end
    make_room(name, stale, cfg, now) -- look-alikes, the cap, expired leftovers (lua/lib/6_expiry.lua)
    channel = redis.sha1hex('channel\0' .. argv[4] .. '\0' .. name .. '\0' .. origin)
    created = now
  end

  local pw_salt = redis.sha1hex('pw\0' .. name .. '\0' .. epoch)
  local code_salt = redis.sha1hex('code\0' .. name .. '\0' .. epoch)
  local code_hash = hash_secret(code_salt, argv[3])
  local env = envelope('state', epoch, seq, now, ',"k":"s","c":"' .. content .. '"')
  local ttl = backstop_ttl(cfg)
  redis.call('SET', k.snap, env, 'PX', ttl)
  redis.call('DEL', k.log)
  redis.call('HSET', k.meta,
    'name', name, 'channel', channel, 'epoch', epoch, 'origin', origin, 'seq', seq, 'term', term,
    'pw_salt', pw_salt, 'pw_hash', hash_secret(pw_salt, argv[2]),
    'code_salt', code_salt, 'code_hash', code_hash, 'tok_hash', hash_secret(code_salt, argv[5]),
    'created', created, 'updated', now, 'deadline', now, 'op', op, 'op_seq', seq, 'ops', op .. ':' .. seq,
    'snap_seq', seq, 'snap_b', #content, 'chain_b', 0, 'chain_n', 0)
  redis.call('ZADD', INDEX, 0, name)
  claim_skeleton(name)
  touch(name, k, cfg, now)
  sweep(cfg, now)
  if #env > cfg.max_push then
    redis.call('PUBLISH', channel, envelope('state', epoch, seq, now, ',"fetch":true'))
  else
    redis.call('PUBLISH', channel, env)
  end
  return heal_reply({ channel = channel }, seq, epoch, term, make_pass(code_hash, now, cfg), false)
end

redis.register_function{ function_name = 'relay_heal', callback = relay_heal }
