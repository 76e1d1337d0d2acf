--[[
  Key names: the global index keys and every key of one stream, all built from
  the name here. Uses 1_config (fail).
]]

local INDEX = 'relay:index'       -- zset, score 0, member = stream name (list order)
local DEADLINES = 'relay:deadline' -- zset, score = deadline ms, member = stream name

-- The one hash tag of a stream: `{` + name with `%`, `{` and `}` percent-escaped + `}`,
-- so a name can never end or open the tag early. Every key of a stream is built here.
local function base_key(name)
  return 'relay:{' .. name:gsub('[%%{}]', function(c) return string.format('%%%02X', c:byte()) end) .. '}'
end

local function keys_for(name)
  local b = base_key(name)
  -- snap: the envelope of the last full state (sealed), log: the sealed changes
  -- since it (lua/publish.lua). fails: failed password checks (connect);
  -- code_fails: failed leader-code checks (reconnect, stop). Apart, so guessing
  -- passwords never locks the leader out. ended: the tombstone of a stream that was
  -- stopped or expired (its origin), so a leader never heals it back (lua/heal.lua).
  return {
    meta = b .. ':meta', snap = b .. ':snap', log = b .. ':log',
    fails = b .. ':fails', code_fails = b .. ':code_fails', ended = b .. ':ended',
  }
end

-- The caller's KEYS[1] must be exactly the base key rebuilt from the name: foreign
-- keys are refused, so FCALL cannot be aimed at anything but this stream.
local function check_key(keys, name)
  if keys[1] ~= base_key(name) then fail('INVALID', 'key does not match the stream name') end
  return keys_for(name)
end
