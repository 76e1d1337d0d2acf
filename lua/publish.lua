--[[
  relay_publish: the leader publishes a change: its whole new state, or a patch
  from the state it builds on. Both are sealed in the client (AES-GCM under a key
  derived from the password, name, epoch and seq bound in: src/core/seal.ts), so
  this function never sees a plan: it checks the content's form, the leader, the
  op id and the seq it builds on, then seq + 1, keeps it and PUBLISHes it. A retry
  with the same op id returns the first result and changes nothing (exactly once).
  The last RECENT_OPS op ids are remembered (meta field `ops`), not only the last one.

  KEYS[1]  base key of the stream
  ARGV[1]  name
  ARGV[2]  leader token  32..64 hex (from start/reconnect)
  ARGV[3]  term          integer (from start/reconnect)
  ARGV[4]  op id         16..64 hex, unique per publish
  ARGV[5]  base seq      the seq this change builds on; it must be the stream's seq, else
                         STALE and nothing changes: a late or replayed copy of an older
                         publish can never put an older state back, however many newer
                         publishes came since (the op-id window covers only the last 16).
                         A retry of an op id already applied still answers duplicate.
  ARGV[6]  kind          "s": a whole state (it becomes the snapshot and the log is
                         emptied) or "p": a change to the state of the base seq (appended
                         to the log)
  ARGV[7]  content       sealed, base64url, <= max_state bytes (lua/lib/4_json.lua)
  ARGV[8]  epoch         optional, "-" when absent (older clients): the leader's epoch. Given,
                         a stream behind the leader (an older term or epoch, or a seq below
                         the base seq: a failover lost acknowledged writes) answers BEHIND
                         instead of LEADER_REPLACED or STALE, and the leader heals it
                         (lua/heal.lua)

  Returns  JSON {"seq","changed":true,"duplicate":bool,"snapshot":bool}; for a duplicate,
           seq is the seq right after the first attempt. snapshot: send a whole state
           next (the log outweighs the snapshot, or holds `history` changes)
  Errors   INVALID, TOO_LARGE, NOT_FOUND, LEADER_REPLACED (term is not current), BAD_CODE (token),
           BEHIND (ARGV[8] given: the stream is behind the leader, lua/lib/5_secrets.lua),
           STALE (base seq is not the stream's seq; the message ends with that seq),
           NEED_STATE (a change "p" while the log is full: twice the snapshot's bytes, or
           `history` changes; send a whole state), QUOTA (this stream's publish budget,
           publish_bytes per publish_window seconds, is spent; the message ends with
           "retry in N s")
  Budget   every accepted publish is charged the bytes of its content; a duplicate retry
           is answered before the charge and costs nothing. The window is fixed and kept
           in meta (pb_start ms, pb_used bytes). The first publish of a window always fits,
           so a budget below max_state can slow a stream but never silence it.
  Envelope {"v":2,"t":"state","epoch","seq","ts","k":"s"|"p","c":<content>}; one over
           max_push bytes is published as {"v":2,"t":"state","epoch","seq","ts","fetch":true}
           and followers read it with relay_connect (Webdis 0.1.9 breaks WebSocket frames
           over 65,535 bytes)
  Keeps    snap (the last "s" envelope), log (the "p" envelopes since, one per seq), and in
           meta snap_seq, snap_b and chain_b (content bytes), chain_n
]]
local RECENT_OPS = 16

-- The seq recorded for `op` among the recent ones ("op:seq op:seq ..."), or nil.
-- Op ids are checked hex, so they are safe inside the pattern.
local function recent_op_seq(m, op)
  if op == m.op then return m.op_seq end
  return (' ' .. (m.ops or '')):match(' ' .. op .. ':(%d+)')
end

local function remember_op(m, op, seq)
  local list = {}
  for entry in (m.ops or ''):gmatch('%S+') do list[#list + 1] = entry end
  list[#list + 1] = op .. ':' .. seq
  local from = math.max(1, #list - RECENT_OPS + 1)
  return table.concat(list, ' ', from, #list)
end

-- The bytes this stream already published in the current window, and when it ends.
-- One budget per stream: a flood on one stream cannot spend another's.
local function budget_used(m, cfg, now)
  local window = math.max(1, cfg.publish_window) * 1000
  local start = tonumber(m.pb_start or '0')
  if now >= start + window then return 0, now, now + window end
  return tonumber(m.pb_used or '0'), start, start + window
end

local function relay_publish(keys, argv)
  local op, kind, content = argv[4], argv[6], argv[7]
  local term, base, epoch
  local cfg, k, m, now = open_stream(argv, 8, keys, 1, 1, function(cfg)
    check_hex(argv[2], 'leader token', 32, 64)
    term = check_int(argv[3], 'term')
    check_hex(op, 'op id', 16, 64)
    base = check_int(argv[5], 'base seq')
    if kind ~= 's' and kind ~= 'p' then fail('INVALID', 'kind must be "s" (a whole state) or "p" (a change)') end
    check_sealed(content, cfg, kind == 's' and 'state' or 'change')
    epoch = argv[8]
    if epoch ~= '-' then check_epoch(epoch) end
  end)
  if epoch == '-' then check_leader(m, term, argv[2]) else check_leader(m, term, argv[2], epoch, base) end
  local seen = recent_op_seq(m, op)
  if seen then
    return '{"seq":' .. seen .. ',"changed":false,"duplicate":true,"snapshot":false}'
  end
  if base ~= tonumber(m.seq) then
    fail('STALE', 'the change builds on seq ' .. base .. ' but the stream is at seq ' .. m.seq)
  end
  local snap_b, chain_b, chain_n = tonumber(m.snap_b or '0'), tonumber(m.chain_b or '0'), tonumber(m.chain_n or '0')
  if kind == 'p' and (chain_n >= cfg.history or chain_b + #content > 2 * log_room(snap_b)) then
    fail('NEED_STATE', 'the log since the last whole state is full; send a whole state')
  end
  local used, pb_start, pb_end = budget_used(m, cfg, now)
  if cfg.publish_bytes > 0 and used > 0 and used + #content > cfg.publish_bytes then
    fail('QUOTA', 'this stream published ' .. used .. ' of ' .. cfg.publish_bytes .. ' bytes allowed per '
      .. math.max(1, cfg.publish_window) .. ' s; retry in ' .. math.max(1, math.ceil((pb_end - now) / 1000)) .. ' s')
  end

  local seq = tonumber(m.seq) + 1
  local env = envelope('state', m.epoch, seq, now, ',"k":"' .. kind .. '","c":"' .. content .. '"')
  local snap_seq = m.snap_seq or 0
  local ttl = backstop_ttl(cfg)
  if kind == 's' then
    redis.call('SET', k.snap, env, 'PX', ttl)
    redis.call('DEL', k.log)
    snap_seq, snap_b, chain_b, chain_n = seq, #content, 0, 0
  else
    redis.call('RPUSH', k.log, env)
    -- A new list has no TTL yet; later ones keep the one `touch` renews.
    if chain_n == 0 then redis.call('PEXPIRE', k.log, ttl) end
    chain_b, chain_n = chain_b + #content, chain_n + 1
  end
  redis.call('HSET', k.meta, 'seq', seq, 'updated', now, 'deadline', now + cfg.idle_ttl * 1000,
    'op', op, 'op_seq', seq, 'ops', remember_op(m, op, seq), 'pb_start', pb_start, 'pb_used', used + #content,
    'snap_seq', snap_seq, 'snap_b', snap_b, 'chain_b', chain_b, 'chain_n', chain_n)
  if #env > cfg.max_push then
    redis.call('PUBLISH', m.channel, envelope('state', m.epoch, seq, now, ',"fetch":true'))
  else
    redis.call('PUBLISH', m.channel, env)
  end
  if renew_due(m, cfg, now) then
    touch(argv[1], k, cfg, now)
    sweep(cfg, now)
  end
  return '{"seq":' .. seq .. ',"changed":true,"duplicate":false,"snapshot":' ..
    tostring(wants_snapshot(cfg, snap_b, chain_b, chain_n)) .. '}'
end

redis.register_function{ function_name = 'relay_publish', callback = relay_publish }
