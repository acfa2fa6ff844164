#include "cluster/broker_script.h"

namespace chatd {
namespace {

// Operations (ARGV[1]) and their arguments:
//   pub  room epoch kind node token key nick body retain
//        kind j|l|m. Numbers the event, appends it, publishes it; a join
//        claims the nick and adds the member, a leave removes it. Errors:
//        RESYNC (the room's epoch is not `epoch`), NICKTAKEN, NOTMEMBER,
//        REAPED (this node was declared dead). Returns {id, epoch}.
//   sync room fresh after max members discard [page]
//        The room's state: {epoch, seq, oldest, first, n, member x n,
//        entry...}, at most `max` entries from id `first` on: after+1, or
//        the newest when after is 0 or older than the log; with `page`,
//        after+1 or the oldest kept. A room without an epoch, or whose epoch
//        is `discard`, starts again under `fresh`.
//   beat node ttl first retain
//        Heartbeat (the node's score in chatd:nodes is Redis' time), then
//        reaps every node silent for ttl ms. `first` reaps this node's own
//        earlier life (a restart with the same id). Returns {"ok", nodes,
//        reaped}, or "reaped" when another node reaped this one (a node
//        missing without that mark is re-registered: Redis lost its data).
//   bye  node retain       This node leaves the cluster: reaps itself.
//   rooms                  {room, users, last_id, ...}: the 100 busiest.
//   release node token key Frees a nick if this holder still has it.
//   forget node room       Takes the room out of the node's rooms (those the
//                          reaper walks) if none of its members is in it.
//                          Returns 1 if it did.
constexpr std::string_view kScript = R"lua(
local op = ARGV[1]
local function K(room, what) return 'chatd:{' .. room .. '}:' .. what end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function emit(room, epoch, body, retain)
  local id = redis.call('INCR', K(room, 'seq'))
  local payload = epoch .. ' ' .. id .. ' ' .. body
  redis.call('RPUSH', K(room, 'log'), payload)
  if retain > 0 then redis.call('LTRIM', K(room, 'log'), -retain, -1) end
  redis.call('PUBLISH', 'chatd:{' .. room .. '}', payload)
  return id
end
local function drop_member(room, key)
  redis.call('HDEL', K(room, 'members'), key)
  local n = tonumber(redis.call('ZINCRBY', 'chatd:rooms', -1, room))
  if n <= 0 then redis.call('ZREM', 'chatd:rooms', room) end
end
local function reap(node, retain)
  local n = 0
  for _, room in ipairs(redis.call('SMEMBERS', 'chatd:node:' .. node .. ':rooms')) do
    local epoch = redis.call('GET', K(room, 'epoch'))
    local all = redis.call('HGETALL', K(room, 'members'))
    for i = 1, #all, 2 do
      local _, _, _, vnode, _, nick = string.find(all[i + 1], '^(%d+) (%S+) (%d+) (.*)$')
      if vnode == node then
        drop_member(room, all[i])
        if epoch then
          emit(room, epoch, 'l ' .. now_ms() .. ' ' .. node .. ' 0 ' .. #nick .. ' ' .. nick, retain)
        end
        n = n + 1
      end
    end
  end
  for _, key in ipairs(redis.call('SMEMBERS', 'chatd:node:' .. node .. ':nicks')) do
    local owner = redis.call('GET', 'chatd:nick:' .. key)
    if owner and string.sub(owner, 1, #node + 1) == node .. ' ' then
      redis.call('DEL', 'chatd:nick:' .. key)
    end
  end
  redis.call('DEL', 'chatd:node:' .. node .. ':rooms', 'chatd:node:' .. node .. ':nicks')
  redis.call('ZREM', 'chatd:nodes', node)
  -- Tells the node, should it come back, that it was let go (and not that
  -- Redis lost everything).
  redis.call('SET', 'chatd:reaped:' .. node, '1', 'PX', 86400000)
  return n
end

if op == 'pub' then
  local room, epoch, kind, node, tok, key, nick = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
  local retain = tonumber(ARGV[10])
  if redis.call('GET', K(room, 'epoch')) ~= epoch then
    return redis.error_reply('RESYNC the room started again')
  end
  local holder = node .. ' ' .. tok
  local mine = redis.call('HGET', K(room, 'members'), key)
  if kind == 'j' then
    if not redis.call('ZSCORE', 'chatd:nodes', node) then
      return redis.error_reply('REAPED this node was declared dead')
    end
    if mine then return redis.error_reply('NICKTAKEN in the room') end
    local nk = 'chatd:nick:' .. key
    local owner = redis.call('GET', nk)
    if owner and owner ~= holder then return redis.error_reply('NICKTAKEN by another connection') end
    if not owner then
      redis.call('SET', nk, holder)
      redis.call('SADD', 'chatd:node:' .. node .. ':nicks', key)
    end
  else
    local _, _, _, vnode, vtok = string.find(mine or '', '^(%d+) (%S+) (%d+) ')
    if vnode ~= node or vtok ~= tok then return redis.error_reply('NOTMEMBER of the room') end
  end
  local id = emit(room, epoch, ARGV[9], retain)
  if kind == 'j' then
    redis.call('HSET', K(room, 'members'), key, id .. ' ' .. holder .. ' ' .. nick)
    redis.call('ZINCRBY', 'chatd:rooms', 1, room)
    redis.call('SADD', 'chatd:node:' .. node .. ':rooms', room)
  elseif kind == 'l' then
    drop_member(room, key)
  end
  return {id, epoch}
end

if op == 'sync' then
  local room = ARGV[2]
  local epoch = redis.call('GET', K(room, 'epoch'))
  if not epoch or epoch == ARGV[7] then
    epoch = ARGV[3]
    redis.call('SET', K(room, 'epoch'), epoch)
    redis.call('SET', K(room, 'seq'), 0)
    redis.call('DEL', K(room, 'log'), K(room, 'members'))
    redis.call('ZREM', 'chatd:rooms', room)
  end
  local seq = tonumber(redis.call('GET', K(room, 'seq')) or '0')
  local oldest = seq - redis.call('LLEN', K(room, 'log')) + 1
  local after, max = tonumber(ARGV[4]), tonumber(ARGV[5])
  local first = after + 1
  if ARGV[8] == 'page' then
    first = math.max(first, oldest)
  elseif after == 0 or first < oldest then
    first = math.max(oldest, seq - max + 1)
  end
  local last = math.min(seq, first + max - 1)
  if ARGV[8] == 'page' then last = math.min(last, after + max) end  -- never past `before`
  local out = {epoch, seq, oldest, first}
  local members = {}
  if ARGV[6] == '1' then members = redis.call('HVALS', K(room, 'members')) end
  out[5] = #members
  for _, m in ipairs(members) do out[#out + 1] = m end
  if last >= first then
    for _, e in ipairs(redis.call('LRANGE', K(room, 'log'), first - oldest, last - oldest)) do
      out[#out + 1] = e
    end
  end
  return out
end

if op == 'beat' then
  local node, ttl, retain = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[5])
  local now = now_ms()
  if ARGV[4] == '1' then
    reap(node, retain)
  elseif not redis.call('ZSCORE', 'chatd:nodes', node) and
         redis.call('EXISTS', 'chatd:reaped:' .. node) == 1 then
    return 'reaped'
  end
  redis.call('DEL', 'chatd:reaped:' .. node)
  local last = tonumber(redis.call('GET', 'chatd:clock') or '0')
  redis.call('SET', 'chatd:clock', now)
  redis.call('ZADD', 'chatd:nodes', now, node)
  local reaped = 0
  if now - last > ttl / 2 then
    -- Nobody beat for a while: Redis itself was paused or cut off from
    -- every node. Each node gets a whole ttl to beat again.
    for _, other in ipairs(redis.call('ZRANGE', 'chatd:nodes', 0, -1)) do
      redis.call('ZADD', 'chatd:nodes', now, other)
    end
  else
    for _, other in ipairs(redis.call('ZRANGEBYSCORE', 'chatd:nodes', '-inf', now - ttl)) do
      if other ~= node then
        reap(other, retain)
        reaped = reaped + 1
      end
    end
  end
  return {'ok', redis.call('ZCARD', 'chatd:nodes'), reaped}
end

if op == 'bye' then
  return reap(ARGV[2], tonumber(ARGV[3]))
end

if op == 'rooms' then
  local top = redis.call('ZREVRANGE', 'chatd:rooms', 0, 99, 'WITHSCORES')
  local out = {}
  for i = 1, #top, 2 do
    out[#out + 1] = top[i]
    out[#out + 1] = tonumber(top[i + 1])
    out[#out + 1] = tonumber(redis.call('GET', K(top[i], 'seq')) or '0')
  end
  return out
end

if op == 'release' then
  local nk = 'chatd:nick:' .. ARGV[4]
  if redis.call('GET', nk) == ARGV[2] .. ' ' .. ARGV[3] then
    redis.call('DEL', nk)
    redis.call('SREM', 'chatd:node:' .. ARGV[2] .. ':nicks', ARGV[4])
  end
  return 1
end

if op == 'forget' then
  local node, room = ARGV[2], ARGV[3]
  for _, v in ipairs(redis.call('HVALS', K(room, 'members'))) do
    local _, _, _, vnode = string.find(v, '^(%d+) (%S+) ')
    if vnode == node then return 0 end
  end
  return redis.call('SREM', 'chatd:node:' .. node .. ':rooms', room)
end

return redis.error_reply('ERR unknown chatd operation')
)lua";

}  // namespace

std::string_view broker_script() {
  return kScript;
}

}  // namespace chatd
