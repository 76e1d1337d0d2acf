/**
 * The relay's Redis functions as the client calls them: name, key count and
 * argument count (name included). test/lua/headers.test.ts checks this table
 * against the header and the arity check of every lua/<op>.lua.
 */
export const OPS = {
  relay_start: { keys: 1, args: 5, readOnly: false },
  relay_reconnect: { keys: 1, args: 5, readOnly: false },
  relay_stop: { keys: 1, args: 3, readOnly: false },
  relay_connect: { keys: 1, args: 5, readOnly: false },
  relay_publish: { keys: 1, args: 8, readOnly: false },
  relay_heartbeat: { keys: 1, args: 5, readOnly: false },
  relay_heal: { keys: 1, args: 12, readOnly: false },
  relay_list: { keys: 0, args: 2, readOnly: true },
  relay_version: { keys: 0, args: 0, readOnly: true },
} as const;

export type OpName = keyof typeof OPS;
