--[[
  What a leader sends (sealed content: checked for form only) and the JSON this
  library builds (envelopes, strings). Uses 1_config (fail); test/lua/lib.test.ts
  loads just these files to test them.
]]

-- Sealed content (a state or a change, AES-GCM in the client: src/core/seal.ts) is
-- opaque here: base64url of iv (12 bytes) + ciphertext + tag (16 bytes). Checked by
-- one pattern match and its length, never walked in a Lua loop (issue 14:
-- strict_json over a 200 KB plain state cost ~45 ms on the thread every stream
-- shares; large plans are also sealed deflated, src/core/content.ts).
local SEALED_MIN = 38 -- ceil((12 + 16) * 4 / 3): an empty plaintext

local function check_sealed(c, cfg, what)
  if #c > cfg.max_state then fail('TOO_LARGE', what .. ' is larger than ' .. cfg.max_state .. ' bytes') end
  -- Anchored: one pass of the matcher over the text (16 ns a byte here), where an
  -- unanchored search for a bad byte restarts the matcher at every byte (3.5x that).
  if #c < SEALED_MIN or not c:find('^[%w_%-]*$') then fail('INVALID', what .. ' must be sealed content (base64url)') end
end

local function json_str(s)
  return cjson.encode(s)
end

local function envelope(kind, epoch, seq, ts, extra)
  return '{"v":2,"t":"' .. kind .. '","epoch":"' .. epoch .. '","seq":' .. seq .. ',"ts":' .. ts .. (extra or '') .. '}'
end
