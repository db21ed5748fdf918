/** The epoch of a deleted room: an append that was under way when it was deleted finds it and is dropped, not republished. */
export const DELETED_EPOCH = 'deleted';

/** Chat ids remembered per room in Redis for de-duplication (as the Journal does in memory). */
export const CHAT_ID_WINDOW = 10_000;

/**
 * Appends one batch of a node's writes to a room's log, giving chat, activity and events their
 * seqs in the same atomic step, so seqs are dense and the same on every node.
 * KEYS: meta, log, chatIds, batches, tasks.
 * ARGV: epoch, node, batch, update ('' for none), entries JSON ('' for none), activity count,
 *       event count, room, then the chat ids in order.
 * Returns {'OK', id}; {'DUP', ''} when this node's batch was appended already (a retry after a
 * lost reply); {'EPOCH', current} when the room's epoch is not the caller's (Redis lost data).
 * Field `s` lists each chat message's seq, negative for one the log already held under that id.
 */
export const APPEND = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch ~= ARGV[1] then return {'EPOCH', epoch or ''} end
local last = tonumber(redis.call('HGET', KEYS[4], ARGV[2]) or '0')
if last >= tonumber(ARGV[3]) then return {'DUP', ''} end
redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
local fields = {'n', ARGV[2], 'b', ARGV[3]}
if ARGV[4] ~= '' then
  fields[#fields + 1] = 'u'
  fields[#fields + 1] = ARGV[4]
end
if ARGV[5] ~= '' then
  local seqs = {}
  for i = 9, #ARGV do
    local known = redis.call('ZSCORE', KEYS[3], ARGV[i])
    if known then
      seqs[#seqs + 1] = '-' .. known
    else
      local seq = redis.call('HINCRBY', KEYS[1], 'chat', 1)
      redis.call('ZADD', KEYS[3], seq, ARGV[i])
      seqs[#seqs + 1] = tostring(seq)
    end
  end
  if #seqs > 0 then
    redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -${CHAT_ID_WINDOW + 1})
    fields[#fields + 1] = 's'
    fields[#fields + 1] = table.concat(seqs, ',')
  end
  local activity = tonumber(ARGV[6])
  if activity > 0 then
    fields[#fields + 1] = 'a'
    fields[#fields + 1] = tostring(redis.call('HINCRBY', KEYS[1], 'activity', activity) - activity + 1)
  end
  local events = tonumber(ARGV[7])
  if events > 0 then
    fields[#fields + 1] = 'e'
    fields[#fields + 1] = tostring(redis.call('HINCRBY', KEYS[1], 'event', events) - events + 1)
  end
  fields[#fields + 1] = 'j'
  fields[#fields + 1] = ARGV[5]
end
local id = redis.call('XADD', KEYS[2], '*', unpack(fields))
if redis.call('HSETNX', KEYS[1], 'queued', '1') == 1 then
  redis.call('XADD', KEYS[5], '*', 'room', ARGV[8])
end
return {'OK', id}
`;

/**
 * Makes sure a room has an epoch, creating one (and the seq counters, from what storage and the
 * caller hold) when Redis has none: a new room, or Redis lost its data. Counters never go back.
 * KEYS: meta. ARGV: new epoch, chat seq, activity seq, event seq. Returns the room's epoch.
 */
export const ENSURE_EPOCH = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch or epoch == '${DELETED_EPOCH}' then
  redis.call('PERSIST', KEYS[1])
  redis.call('HSET', KEYS[1], 'epoch', ARGV[1])
  epoch = ARGV[1]
end
local names = {'chat', 'activity', 'event'}
for i, name in ipairs(names) do
  local current = tonumber(redis.call('HGET', KEYS[1], name) or '0')
  if current < tonumber(ARGV[i + 1]) then redis.call('HSET', KEYS[1], name, ARGV[i + 1]) end
end
return epoch
`;

/**
 * Deletes a room's log and leaves a tombstone epoch for TTL seconds (a room loaded anew replaces
 * it). KEYS: meta, log, chatIds, batches. ARGV: tombstone TTL in seconds.
 */
export const DELETE_ROOM = `
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
redis.call('HSET', KEYS[1], 'epoch', '${DELETED_EPOCH}')
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
`;

/**
 * After a compaction stored the log up to ARGV[1]: closes the room's task (opening a new one if
 * entries came since) and trims the log below ARGV[3], a safety margin under what is stored.
 * KEYS: meta, log, tasks. ARGV: compacted id, room, trim-below id.
 */
export const COMPACTED = `
redis.call('HDEL', KEYS[1], 'queued')
local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #newest > 0 and newest[1][1] ~= ARGV[1] then
  redis.call('HSET', KEYS[1], 'queued', '1')
  redis.call('XADD', KEYS[3], '*', 'room', ARGV[2])
end
return redis.call('XTRIM', KEYS[2], 'MINID', ARGV[3])
`;

/** Redis's clock in ms, so that every node judges ages by the same clock. */
const NOW = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Writes a node's members of a room and the time (Redis's) it did. KEYS: presence.
 * ARGV: node, members JSON, hash TTL in ms (the hash goes once no node refreshes it).
 */
export const PRESENCE = `
${NOW}
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], ARGV[1] .. ':at', now)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return now
`;

/**
 * Removes a dead node's entry if it is still older than ARGV[2]: returns 1 to the one caller that
 * removed it (it records the departures), 0 to everyone else. KEYS: presence. ARGV: node, cutoff.
 */
export const REAP_PRESENCE = `
local at = tonumber(redis.call('HGET', KEYS[1], ARGV[1] .. ':at') or '0')
if at == 0 or at >= tonumber(ARGV[2]) then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1], ARGV[1] .. ':at')
return 1
`;
