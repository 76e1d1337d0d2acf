--[[
  relay_publish: the leader publishes its new state. If it differs from the
  stored one: seq + 1, store it, append the envelope to the history and PUBLISH
  it on the channel. An unchanged state publishes nothing. A retry with the same
  op id returns the first result and changes nothing (exactly once). The last
  RECENT_OPS op ids are remembered (meta field `ops`), not only the last one: a
  late copy of a timed-out publish that arrives after a newer publish is still
  recognised instead of putting the older state back.

  KEYS[1]  base key of the stream
  ARGV[1]  name
  ARGV[2]  leader token  32..64 hex (from start/reconnect)
  ARGV[3]  term          integer (from start/reconnect)
  ARGV[4]  op id         16..64 hex, unique per publish
  ARGV[5]  state         one JSON object, <= max_state bytes
  ARGV[6]  patch         optional; "-" or a JSON Patch (array of add/remove/replace ops,
                         else INVALID) from the previous state to this one; when given
                         and smaller than the state, followers get the patch and the
                         SHA-1 of the full state instead of the state itself
  ARGV[7]  base seq      optional; "-" or the seq of the last state the leader saw
                         acknowledged (the one this state builds on). Any other seq is
                         STALE and changes nothing: a late or replayed copy of an older
                         publish can never put an older state back, however many newer
                         publishes came since (the op-id window covers only the last 16).
                         A retry of an op id already applied still answers duplicate.

  Returns  JSON {"seq","changed":bool,"duplicate":bool}; for a duplicate, seq is
           the seq right after the first attempt
  Errors   INVALID, TOO_LARGE, NOT_FOUND, LEADER_REPLACED (term is not current), BAD_CODE (token),
           STALE (base seq is not the stream's seq; the message ends with that seq),
           QUOTA (this stream's publish budget, publish_bytes per publish_window seconds, is
           spent; the message ends with "retry in N s")
  Budget   every accepted publish (changed or not: each one costs Redis the same
           validation) is charged the bytes of its state and patch; a duplicate retry is
           answered before the charge and costs nothing. The window is fixed and kept in
           meta (pb_start ms, pb_used bytes). The first publish of a window always fits,
           so a budget below max_state can slow a stream but never silence it.
  Envelope {"v":1,"t":"state","epoch","seq","ts","state":<state>}, or with a patch
           {"v":1,"t":"state","epoch","seq","ts","h":<sha1 of the state>,"patch":[...]}
           (the patch applies to the state of seq - 1; a follower that cannot apply it
           or whose result does not hash to h asks for the full state); an envelope
           over max_push bytes is published as {"v":1,"t":"state","epoch","seq","ts","fetch":true}
           and the follower reads the change from the history with relay_connect
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

-- Each patch op as followers read it (stateEnvelope in src/core/wire.ts): an object with
-- op add/remove/replace, a JSON Pointer path, and a value for add/replace. Anything else
-- would be stored and published anyway, and followers would refuse it, on the channel and
-- in every catch-up reply that holds it: they would retry that catch-up forever.
local PATCH_OPS = { add = true, remove = true, replace = true }

local function readable_patch(ops)
  for _, o in ipairs(ops) do
    if type(o) ~= 'table' or not PATCH_OPS[o.op] or type(o.path) ~= 'string' then return false end
    if o.path ~= '' and o.path:sub(1, 1) ~= '/' then return false end
    if o.op ~= 'remove' and o.value == nil then return false end
  end
  return true
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
  -- ARGV[6] and ARGV[7] are optional: callers from before delta updates send 5
  -- arguments, callers from before the base seq 6.
  local op, state = argv[4], argv[5]
  local term, base
  local cfg, k, m, now = open_stream(argv, 7, keys, 1, 2, function(cfg)
    check_hex(argv[2], 'leader token', 32, 64)
    term = check_int(argv[3], 'term')
    check_hex(op, 'op id', 16, 64)
    base = argv[7]
    if base ~= '-' then base = check_int(base, 'base seq') end
    if #state > cfg.max_state then fail('TOO_LARGE', 'state is larger than ' .. cfg.max_state .. ' bytes') end
  end)
  check_leader(m, term, argv[2])
  local seen = recent_op_seq(m, op)
  if seen then
    return '{"seq":' .. seen .. ',"changed":false,"duplicate":true}'
  end
  if base ~= '-' and base ~= tonumber(m.seq) then
    fail('STALE', 'the state builds on seq ' .. base .. ' but the stream is at seq ' .. m.seq)
  end
  -- Before the costly JSON checks: a refused flood must stay cheap for Redis.
  local patch = argv[6]
  local cost = #state + (patch ~= '-' and #patch or 0)
  local used, pb_start, pb_end = budget_used(m, cfg, now)
  if cfg.publish_bytes > 0 and used > 0 and used + cost > cfg.publish_bytes then
    fail('QUOTA', 'this stream published ' .. used .. ' of ' .. cfg.publish_bytes .. ' bytes allowed per '
      .. math.max(1, cfg.publish_window) .. ' s; retry in ' .. math.max(1, math.ceil((pb_end - now) / 1000)) .. ' s')
  end
  check_state(state, cfg)
  if patch ~= '-' then
    if #patch > cfg.max_state then fail('TOO_LARGE', 'patch is larger than ' .. cfg.max_state .. ' bytes') end
    local ok, decoded = pcall(cjson.decode, patch)
    if not ok or type(decoded) ~= 'table' or patch:sub(1, 1) ~= '[' or not valid_utf8(patch) or not strict_json(patch)
      or not readable_patch(decoded) then
      fail('INVALID', 'patch must be a JSON array of add/remove/replace ops')
    end
  end

  local seq = tonumber(m.seq)
  local changed = state ~= redis.call('GET', k.state)
  if changed then
    seq = seq + 1
    local env
    if patch ~= '-' and #patch < #state then
      env = envelope('state', m.epoch, seq, now, ',"h":"' .. redis.sha1hex(state) .. '","patch":' .. patch)
    else
      env = envelope('state', m.epoch, seq, now, ',"state":' .. state)
    end
    redis.call('SET', k.state, state)
    if cfg.history > 0 then
      redis.call('RPUSH', k.log, env)
      redis.call('LTRIM', k.log, -cfg.history, -1)
    end
    redis.call('HSET', k.meta, 'seq', seq, 'updated', now, 'op', op, 'op_seq', seq, 'ops', remember_op(m, op, seq),
      'pb_start', pb_start, 'pb_used', used + cost)
    -- Webdis 0.1.9 breaks WebSocket frames over 65,535 bytes: a large envelope goes
    -- out as a small notice, and followers take the change from the history.
    if #env > cfg.max_push then
      redis.call('PUBLISH', m.channel, envelope('state', m.epoch, seq, now, ',"fetch":true'))
    else
      redis.call('PUBLISH', m.channel, env)
    end
  else
    redis.call('HSET', k.meta, 'op', op, 'op_seq', seq, 'ops', remember_op(m, op, seq),
      'pb_start', pb_start, 'pb_used', used + cost)
  end
  touch(argv[1], k, cfg, now)
  sweep(cfg, now)
  return '{"seq":' .. seq .. ',"changed":' .. tostring(changed) .. ',"duplicate":false}'
end

redis.register_function{ function_name = 'relay_publish', callback = relay_publish }
