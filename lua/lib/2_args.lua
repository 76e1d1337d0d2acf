--[[
  Argument checks: arity, stream names, hex, integers. Uses 1_config (fail).
]]

-- Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF). Runs of ASCII are
-- skipped with one pattern search each, so mostly-ASCII JSON costs little.
local function valid_utf8(s)
  local i, n = 1, #s
  while true do
    i = s:find('[\128-\255]', i)
    if not i then return true end
    local c = s:byte(i)
    local len, min
    if c >= 0xC2 and c <= 0xDF then len, min = 2, 0x80
    elseif c >= 0xE0 and c <= 0xEF then len, min = 3, 0x800
    elseif c >= 0xF0 and c <= 0xF4 then len, min = 4, 0x10000
    else return false end
    if i + len - 1 > n then return false end
    local cp = c % (2 ^ (7 - len))
    for j = i + 1, i + len - 1 do
      local b = s:byte(j)
      if b < 0x80 or b > 0xBF then return false end
      cp = cp * 64 + (b - 0x80)
    end
    if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return false end
    i = i + len
  end
end

local function check_arity(argv, n, keys, nkeys)
  if #keys ~= nkeys then fail('INVALID', 'expected ' .. nkeys .. ' key(s)') end
  if #argv ~= n then fail('INVALID', 'expected ' .. n .. ' argument(s)') end
end

-- Characters a name must not hold because names are shown to people: C1
-- controls (U+0080-U+009F), line/paragraph separators (U+2028/9) and the bidi
-- embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) that can
-- make one name look like another in the list. As UTF-8 byte sequences.
local function has_unicode_control(s)
  return s:find('\194[\128-\159]') ~= nil or s:find('\226\128[\168-\174]') ~= nil
    or s:find('\226\129[\166-\169]') ~= nil
end

-- A stream name: 1..max_name bytes of UTF-8 text, no control characters
-- (C0, DEL, C1), no line separators and no bidi controls.
local function check_name(name, cfg)
  if #name == 0 then fail('INVALID', 'name is empty') end
  if #name > cfg.max_name then fail('TOO_LARGE', 'name is longer than ' .. cfg.max_name .. ' bytes') end
  if name:find('[%z\1-\31\127]') then fail('INVALID', 'name contains a control character') end
  if not valid_utf8(name) then fail('INVALID', 'name is not UTF-8') end
  if has_unicode_control(name) then fail('INVALID', 'name contains a control character') end
end

-- Verifiers, tokens and channels are lowercase hex of a fixed length range.
local function check_hex(value, what, min, max)
  if #value < min or #value > max or value:find('[^0-9a-f]') then
    fail('INVALID', what .. ' must be ' .. min .. '-' .. max .. ' lowercase hex digits')
  end
end

local function check_int(value, what, max)
  if not value:match('^%d+$') or #value > 15 then fail('INVALID', what .. ' must be a non-negative integer') end
  local n = tonumber(value)
  if max and n > max then fail('TOO_LARGE', what .. ' is larger than ' .. max) end
  return n
end

-- An epoch: the digits relay_start made (seconds and microseconds, 16 digits) or a heal
-- proposed (lua/heal.lua). At most 16 digits, so tonumber compares them exactly.
local function check_epoch(value, what)
  if #value < 1 or #value > 16 or value:find('[^0-9]') then
    fail('INVALID', (what or 'epoch') .. ' must be 1-16 digits')
  end
  return tonumber(value)
end
