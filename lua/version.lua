--[[
  relay_version: the library's protocol version, for clients and `mission-relay up`.
  KEYS    none
  ARGV    none
  Returns "2" (2: sealed content, snapshot + log); read-only.
]]
redis.register_function{
  function_name = 'relay_version',
  callback = function(keys, argv)
    check_arity(argv, 0, keys, 0)
    return '2'
  end,
  flags = { 'no-writes' },
}
