--[[
  JSON: the strict checks on what a leader sends (states and patches), and the
  JSON this library builds (envelopes, strings). Uses 1_config (fail) and
  2_args (valid_utf8); test/lua/lib.test.ts loads just these files to test them.
]]

-- One scalar token outside strings: a literal or a number as RFC 8259 spells it.
local function strict_scalar(tok)
  if tok == 'true' or tok == 'false' or tok == 'null' then return true end
  local int, rest = tok:match('^%-?(%d+)(.*)$')
  if not int or (#int > 1 and int:sub(1, 1) == '0') then return false end
  rest = rest:gsub('^%.%d+', '', 1)
  rest = rest:gsub('^[eE][+-]?%d+', '', 1)
  return rest == ''
end

-- Redis's cjson is lenient: it takes NaN, Infinity, hex and `+1` numbers,
-- leading zeros and raw control characters inside strings. Browsers' JSON.parse
-- refuses all of them, so one such state would make every follower's connect
-- fail. After cjson has checked the structure, this refuses what it let by.
local function strict_json(s)
  if not s:find('[%z\1-\31]') then
    -- Fast path (all that JSON.stringify makes): no control byte anywhere, so no
    -- string can hold a raw tab or newline; drop strings whole (no callback per
    -- string: half the cost on a 200 KB plan) and check the scalars left.
    local bare = s:gsub('\\.', ''):gsub('"[^"]*"', '')
    for tok in bare:gmatch('[^%s{}%[%]:,]+') do
      if not strict_scalar(tok) then return false end
    end
    return true
  end
  -- Bytes that are never valid in JSON text, inside or outside strings.
  if s:find('[%z\1-\8\11\12\14-\31]') then return false end
  local ok = true
  local bare = s:gsub('\\.', ''):gsub('"[^"]*"', function(str)
    if str:find('[\t\n\r]') then ok = false end -- raw tab/newline inside a string
    return '0'
  end)
  if not ok then return false end
  for tok in bare:gmatch('[^%s{}%[%]:,]+') do
    if not strict_scalar(tok) then return false end
  end
  return true
end

-- A state is one JSON object (strict RFC 8259), validated before anything is written.
local function check_state(state, cfg)
  if #state > cfg.max_state then fail('TOO_LARGE', 'state is larger than ' .. cfg.max_state .. ' bytes') end
  if not valid_utf8(state) then fail('INVALID', 'state is not UTF-8') end
  local ok, decoded = pcall(cjson.decode, state)
  if not ok or type(decoded) ~= 'table' or state:sub(1, 1) ~= '{' or not strict_json(state) then
    fail('INVALID', 'state must be a JSON object')
  end
end

local function json_str(s)
  return cjson.encode(s)
end

local function envelope(kind, epoch, seq, ts, extra)
  return '{"v":1,"t":"' .. kind .. '","epoch":"' .. epoch .. '","seq":' .. seq .. ',"ts":' .. ts .. (extra or '') .. '}'
end
