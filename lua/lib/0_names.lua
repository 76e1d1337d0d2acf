--[[
  Names as people read them (issue 12, attack 10): `Victim`, `victim `,
  `vіctim` (Cyrillic і), `victim<U+200B>` and `café` in NFC and NFD all looked
  like one stream in the list. Three rules, applied by relay_start only (the
  other functions keep the plain check_name, so a stream that existed before
  these rules can still be joined, stopped and paged past in the list):

  1. No invisible characters: format characters (soft hyphen, zero-width
     space/joiners, LRM/RLM, word joiner, invisible operators, BOM, variation
     selectors, tags, ...) and Hangul fillers are refused anywhere in a name,
     and whitespace (ASCII space, NBSP, U+1680, U+2000-U+200A, U+202F,
     U+205F, U+3000) is refused at either end.
  2. NFC only: Lua has no Unicode normalizer, so the client sends names in NFC
     (src/core/relay.ts) and Lua refuses any combining mark of U+0300-U+036F,
     which is what NFD makes of an accented Latin, Greek or Cyrillic letter.
     This also refuses the rare names whose mark has no precomposed form (x̄).
     Marks of other blocks (U+1AB0.., U+1DC0.., U+20D0..) are not checked.
  3. One live stream per skeleton: the skeleton is the name ASCII-lowercased,
     with full-width forms (U+FF01-U+FF5E) mapped to ASCII, the Cyrillic and
     Greek look-alikes of Latin letters in LOOKALIKE mapped to them, 0 -> o,
     1 -> l, and every run of Unicode spaces made one space. relay_start
     refuses NAME_CONFUSABLE while another live stream holds the skeleton.
     Not covered (documented in SECURITY.md): accents (café vs cafe), `rn` vs
     `m`, `I` vs `l`, other scripts' look-alikes; a list of all of Unicode's
     confusables (UTS #39) would be the full answer.

  relay:skeleton (hash, skeleton -> name) is a hint kept in step with the
  streams: set by relay_start, removed by delete_stream (stop, sweep, start over
  an expired stream). An entry whose stream is not live never blocks anyone:
  relay_start checks the holder and ends it as expired.

  This file joins the library before the other lib files (files are taken in
  name order, hence `0_`): 6_expiry's delete_stream calls release_skeleton,
  and nothing here uses the others.
]]

local SKELETONS = 'relay:skeleton' -- hash: skeleton -> name of the live stream that holds it

-- Invisible characters, as UTF-8 byte patterns.
local INVISIBLE = {
  '\194\173',                   -- U+00AD soft hyphen
  '\205\143',                   -- U+034F combining grapheme joiner
  '\216\156',                   -- U+061C Arabic letter mark
  '\225\133[\159\160]',         -- U+115F, U+1160 Hangul choseong/jungseong fillers
  '\225\160[\139-\143]',        -- U+180B-U+180F Mongolian variation selectors, vowel separator
  '\226\128[\139-\143]',        -- U+200B-U+200F zero-width space/non-joiner/joiner, LRM, RLM
  '\226\129[\160-\175]',        -- U+2060-U+206F word joiner, invisible operators, deprecated format
  '\227\133\164',               -- U+3164 Hangul filler
  '\239\184[\128-\143]',        -- U+FE00-U+FE0F variation selectors
  '\239\187\191',               -- U+FEFF zero-width no-break space (BOM)
  '\239\190\160',               -- U+FFA0 half-width Hangul filler
  '\239\191[\185-\187]',        -- U+FFF9-U+FFFB interlinear annotation
  '\240\157\133[\179-\186]',    -- U+1D173-U+1D17A musical symbol format
  '\243\160[\128\129]',         -- U+E0000-U+E007F tags
  '\243\160[\132-\135]',        -- U+E0100-U+E01EF variation selectors supplement
}

-- Unicode whitespace (C0/C1 controls are refused by check_name already).
local SPACES = {
  ' ', '\194\160', '\225\154\128', '\226\128[\128-\138]', '\226\128\175', '\226\129\159', '\227\128\128',
}

-- U+0300-U+036F combining diacritical marks.
local COMBINING = { '\204[\128-\191]', '\205[\128-\175]' }

-- Cyrillic and Greek letters that look like Latin ones, by code point.
local LOOKALIKE = {
  -- Cyrillic lower case: а е о р с у х і ј ѕ ԁ ӏ һ ԛ ԝ
  [0x0430] = 'a', [0x0435] = 'e', [0x043E] = 'o', [0x0440] = 'p', [0x0441] = 'c', [0x0443] = 'y',
  [0x0445] = 'x', [0x0456] = 'i', [0x0458] = 'j', [0x0455] = 's', [0x0501] = 'd', [0x04CF] = 'l',
  [0x04BB] = 'h', [0x051B] = 'q', [0x051D] = 'w',
  -- Cyrillic upper case: А В Е К М Н О Р С Т У Х І Ј Ѕ Ԁ Ӏ Һ Ԛ Ԝ
  [0x0410] = 'a', [0x0412] = 'b', [0x0415] = 'e', [0x041A] = 'k', [0x041C] = 'm', [0x041D] = 'h',
  [0x041E] = 'o', [0x0420] = 'p', [0x0421] = 'c', [0x0422] = 't', [0x0423] = 'y', [0x0425] = 'x',
  [0x0406] = 'i', [0x0408] = 'j', [0x0405] = 's', [0x0500] = 'd', [0x04C0] = 'l', [0x04BA] = 'h',
  [0x051A] = 'q', [0x051C] = 'w',
  -- Greek upper case: Α Β Ε Ζ Η Ι Κ Μ Ν Ο Ρ Τ Υ Χ
  [0x0391] = 'a', [0x0392] = 'b', [0x0395] = 'e', [0x0396] = 'z', [0x0397] = 'h', [0x0399] = 'i',
  [0x039A] = 'k', [0x039C] = 'm', [0x039D] = 'n', [0x039F] = 'o', [0x03A1] = 'p', [0x03A4] = 't',
  [0x03A5] = 'y', [0x03A7] = 'x',
  -- Greek lower case: α ι κ ν ο ρ υ
  [0x03B1] = 'a', [0x03B9] = 'i', [0x03BA] = 'k', [0x03BD] = 'v', [0x03BF] = 'o', [0x03C1] = 'p',
  [0x03C5] = 'u',
}

local ASCII_LOOKALIKE = { ['0'] = 'o', ['1'] = 'l' }

local function any_of(s, patterns, prefix, suffix)
  for _, p in ipairs(patterns) do
    if s:find((prefix or '') .. p .. (suffix or '')) then return true end
  end
  return false
end

-- Why a new stream may not have this name (nil when it may). Runs after
-- check_name, so `name` is valid UTF-8 without controls.
local function new_name_problem(name)
  if any_of(name, INVISIBLE) then return 'name contains an invisible (format) character' end
  if any_of(name, SPACES, '^') or any_of(name, SPACES, '', '$') then
    return 'name starts or ends with whitespace'
  end
  if any_of(name, COMBINING) then
    return 'name is not in NFC: it holds a combining mark (U+0300-U+036F); send the composed form'
  end
  return nil
end

local function fold_ascii(c)
  return ASCII_LOOKALIKE[c] or c:lower()
end

-- One character (UTF-8) of the skeleton.
local function fold_char(c)
  if #c == 1 then return fold_ascii(c) end
  local b1, b2, b3 = c:byte(1, 3)
  local cp
  if #c == 2 then cp = (b1 - 0xC0) * 64 + (b2 - 0x80)
  elseif #c == 3 then cp = ((b1 - 0xE0) * 64 + (b2 - 0x80)) * 64 + (b3 - 0x80)
  else return c end
  if cp >= 0xFF01 and cp <= 0xFF5E then return fold_ascii(string.char(cp - 0xFEE0)) end
  if any_of(c, SPACES, '^', '$') then return ' ' end
  return LOOKALIKE[cp] or c
end

-- The name as the eye sees it: two live streams never share one.
local function skeleton(name)
  local s = name:gsub('[%z\1-\127\194-\244][\128-\191]*', fold_char)
  return (s:gsub('  +', ' '))
end

-- The name of another stream that holds this name's skeleton, or nil.
local function skeleton_holder(name)
  local holder = redis.call('HGET', SKELETONS, skeleton(name))
  if holder and holder ~= name then return holder end
  return nil
end

local function claim_skeleton(name)
  redis.call('HSET', SKELETONS, skeleton(name), name)
end

-- Frees the skeleton if this stream holds it (a stream started before these
-- rules may share one with the holder).
local function release_skeleton(name)
  local skel = skeleton(name)
  if redis.call('HGET', SKELETONS, skel) == name then redis.call('HDEL', SKELETONS, skel) end
end
