--[[
  relay_list: one page of live streams, in name order, from the index
  (never KEYS or SCAN). Read-only: call with FCALL_RO.

  KEYS     none
  ARGV[1]  cursor  "-" for the first page, else the last name of the previous page
  ARGV[2]  count   1..max_page

  Returns  JSON {"streams":[{"name","seq","created","updated","heard"}],"cursor":<name>|null}
           `updated`: the last change; `heard`: the leader's last word (start, publish, heartbeat,
           reconnect all move the deadline to now + idle_ttl, so heard = deadline - idle_ttl; off
           by the difference for a stream last heard before an operator changed idle_ttl)
  Errors   INVALID, TOO_LARGE
]]
local function relay_list(keys, argv)
  check_arity(argv, 2, keys, 0)
  local cfg = config()
  local cursor = argv[1]
  if cursor ~= '-' then check_name(cursor, cfg) end
  local count = check_int(argv[2], 'count', cfg.max_page)
  if count < 1 then fail('INVALID', 'count must be at least 1') end
  local now = now_ms()
  local from = cursor == '-' and '-' or ('(' .. cursor)
  local names = redis.call('ZRANGE', INDEX, from, '+', 'BYLEX', 'LIMIT', 0, count)
  local out = {}
  for _, name in ipairs(names) do
    local f = redis.call('HMGET', keys_for(name).meta, 'seq', 'created', 'updated', 'deadline')
    if f[1] and tonumber(f[4]) > now then
      out[#out + 1] = '{"name":' .. json_str(name) .. ',"seq":' .. f[1] .. ',"created":' .. f[2] ..
        ',"updated":' .. f[3] .. ',"heard":' .. (tonumber(f[4]) - cfg.idle_ttl * 1000) .. '}'
    end
  end
  local next_cursor = 'null'
  if #names == count then next_cursor = json_str(names[#names]) end
  return '{"streams":[' .. table.concat(out, ',') .. '],"cursor":' .. next_cursor .. '}'
end

redis.register_function{ function_name = 'relay_list', callback = relay_list, flags = { 'no-writes' } }
