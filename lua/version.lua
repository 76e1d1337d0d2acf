--[[
  relay_version: the library's protocol version, for clients and `mission-relay up`.
  KEYS    none
  ARGV    none
  Returns "1"; read-only.
]]
redis.register_function{
  function_name = 'relay_version',
  callback = function(keys, argv)
    check_arity(argv, 0, keys, 0)
    return '1'
  end,
  flags = { 'no-writes' },
}
