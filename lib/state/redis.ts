// The StateStore shared by a cluster: every batch is ONE EVALSHA of one Lua script
// that interprets the operation list, so a batch is atomic on the server and costs
// exactly one round trip (NOSCRIPT, after a Redis restart or SCRIPT FLUSH, costs a
// second: EVAL with the script text, which also caches it again).
//
// Layout in Redis, every key under the store's prefix and every write followed by
// PEXPIRE (nothing outlives its window or TTL, so the keyspace is bounded by the
// traffic of one window):
//   hit/count/seen  a zset, member -> time seen; trimmed to the window and to `cap`
//   add/sum         a hash, bucket number -> count (60 buckets over the window)
//   get/set/incr    a string with a TTL (Redis's clock expires it)
//   index/members   a zset, member -> expiry time
// Windows and listings are scored with the caller's clock (run's `now`), as the
// memory store is: the hosts of a cluster keep their clocks in step (NTP).
//
// Needs only something that sends a command (node-redis's `sendCommand`): no Haraka.
import { createHash } from 'node:crypto'
import { bucketOf, firstLiveBucket, type StateAnswer, type StateOp, type StateStore } from './store'

/** The part of a node-redis client (v4 to v6) the store uses. */
export interface RedisCommander {
  sendCommand(args: string[]): Promise<unknown>
}

export interface RedisStoreOptions {
  /** prepended to every key (default `haraka-ldap:`) */
  prefix?: string
  /** told of every command sent (metrics) */
  onRoundTrip?: () => void
}

// One op per KEYS[i]; ARGV[1] = now, ARGV[2] = a JSON array of the ops' arguments (`o` the op).
// Answers come back as one JSON array: a nil inside a Lua table would cut Redis's reply short.
// A key of another kind than the op expects reads as empty and is replaced on write, as in memory.
export const STATE_SCRIPT = `
local now = tonumber(ARGV[1])
local ops = cjson.decode(ARGV[2])
local out = {}
local function int(x) return string.format('%d', x) end
local function failed(r) return type(r) == 'table' and r.err ~= nil end
-- A read of a key of another kind (WRONGTYPE) reads as empty: nil.
local function read(...)
  local r = redis.pcall(...)
  if failed(r) then return nil end
  return r
end
-- The first write to a key of another kind replaces it, as the memory store does.
local function write(key, ...)
  local r = redis.pcall(...)
  if failed(r) then
    redis.call('DEL', key)
    r = redis.call(...)
  end
  return r
end
for i, a in ipairs(ops) do
  local key = KEYS[i]
  local o = a.o
  local r = cjson.null
  if o == 'hit' then
    write(key, 'ZREMRANGEBYSCORE', key, '-inf', int(a.since))
    redis.call('ZADD', key, int(now), a.m)
    local n = redis.call('ZCARD', key)
    if n > a.cap then
      redis.call('ZREMRANGEBYRANK', key, 0, n - a.cap - 1)
      n = a.cap
    end
    redis.call('PEXPIRE', key, int(a.w))
    r = n
  elseif o == 'count' then
    r = read('ZCOUNT', key, '(' .. int(a.since), '+inf') or 0
  elseif o == 'seen' then
    local at = read('ZSCORE', key, a.m)
    r = 0
    if at and tonumber(at) > a.since then r = 1 end
  elseif o == 'at' then
    local at = read('ZSCORE', key, a.m)
    r = 0
    if at and tonumber(at) > a.since then r = tonumber(at) end
  elseif o == 'add' or o == 'sum' then
    local all = read('HGETALL', key)
    if all == nil and o == 'add' then redis.call('DEL', key) end
    local total = 0
    for j = 1, #(all or {}), 2 do
      if tonumber(all[j]) < a.first then
        if o == 'add' then redis.call('HDEL', key, all[j]) end
      else
        total = total + tonumber(all[j + 1])
      end
    end
    if o == 'add' then
      redis.call('HINCRBYFLOAT', key, int(a.b), a.by)
      redis.call('PEXPIRE', key, int(a.w))
      total = total + a.by
    end
    r = total
  elseif o == 'get' then
    r = read('GET', key) or cjson.null
  elseif o == 'set' then
    redis.call('SET', key, a.v, 'PX', int(a.ttl))
  elseif o == 'incr' then
    -- another kind, or text that is not a number: the counter starts again
    local n = redis.pcall('INCR', key)
    if failed(n) then
      redis.call('SET', key, '1', 'PX', int(a.ttl))
      n = 1
    elseif n == 1 or redis.call('PTTL', key) < 0 then
      redis.call('PEXPIRE', key, int(a.ttl))
    end
    r = n
  elseif o == 'del' then
    redis.call('DEL', key)
  elseif o == 'ttl' then
    r = redis.call('PTTL', key)
    if r == -1 then r = -2 end
  elseif o == 'index' then
    write(key, 'ZREMRANGEBYSCORE', key, '-inf', int(now))
    redis.call('ZADD', key, int(now + a.ttl), a.m)
    if redis.call('PTTL', key) < a.ttl then redis.call('PEXPIRE', key, int(a.ttl)) end
  elseif o == 'unindex' then
    read('ZREM', key, a.m)
  elseif o == 'members' then
    r = read('ZRANGEBYSCORE', key, '(' .. int(now), '+inf') or {}
  elseif o == 'expiries' then
    r = read('ZRANGEBYSCORE', key, '(' .. int(now), '+inf', 'WITHSCORES') or {}
  end
  out[i] = r
end
return cjson.encode(out)
`

export const STATE_SCRIPT_SHA = createHash('sha1').update(STATE_SCRIPT).digest('hex')

/** A TTL or window Redis accepts: a whole number of milliseconds, at least 1. */
function ms(n: number): number {
  return Math.max(1, Math.ceil(n))
}

/** The op as the script reads it: times worked out here, once, with the same arithmetic as memory. */
function encode(op: StateOp, now: number): Record<string, unknown> {
  switch (op.op) {
    case 'hit':
      return {
        o: 'hit',
        m: op.member,
        since: now - op.windowMs,
        w: ms(op.windowMs),
        cap: Math.max(1, op.cap),
      }
    case 'count':
      return { o: 'count', since: now - op.windowMs }
    case 'seen':
      return { o: 'seen', m: op.member, since: now - op.windowMs }
    case 'at':
      return { o: 'at', m: op.member, since: now - op.windowMs }
    case 'add':
      return {
        o: 'add',
        by: op.by,
        b: bucketOf(now, op.windowMs),
        first: firstLiveBucket(now, op.windowMs),
        w: ms(op.windowMs),
      }
    case 'sum':
      return { o: 'sum', first: firstLiveBucket(now, op.windowMs) }
    case 'get':
      return { o: 'get' }
    case 'set':
      return { o: 'set', v: op.value, ttl: ms(op.ttlMs) }
    case 'incr':
      return { o: 'incr', ttl: ms(op.ttlMs) }
    case 'del':
      return { o: 'del' }
    case 'ttl':
      return { o: 'ttl' }
    case 'index':
      return { o: 'index', m: op.member, ttl: ms(op.ttlMs) }
    case 'unindex':
      return { o: 'unindex', m: op.member }
    case 'members':
      return { o: 'members' }
    case 'expiries':
      return { o: 'expiries' }
  }
}

/** The script's answer for one op, in the type the interface promises (cjson writes [] as {}). */
function decode(op: StateOp, answer: unknown): StateAnswer {
  switch (op.op) {
    case 'members':
    case 'expiries':
      return Array.isArray(answer) ? answer.map(String) : []
    case 'get':
      return typeof answer === 'string' ? answer : null
    case 'set':
    case 'del':
    case 'index':
    case 'unindex':
      return null
    default:
      return Number(answer)
  }
}

function isNoScript(err: unknown): boolean {
  return /NOSCRIPT/i.test(String((err as Error)?.message ?? err))
}

export class RedisStateStore implements StateStore {
  readonly kind = 'redis' as const
  readonly prefix: string
  /** commands sent to Redis: one per run(), two when the script had to be loaded again */
  roundTrips = 0

  private readonly onRoundTrip: () => void

  constructor(
    private readonly client: RedisCommander,
    opts: RedisStoreOptions = {},
  ) {
    this.prefix = opts.prefix ?? 'haraka-ldap:'
    this.onRoundTrip = opts.onRoundTrip ?? (() => {})
  }

  async run(ops: readonly StateOp[], now: number): Promise<StateAnswer[]> {
    if (ops.length === 0) return []
    const keys = ops.map((op) => this.prefix + op.key)
    const args = [
      String(keys.length),
      ...keys,
      String(Math.floor(now)),
      JSON.stringify(ops.map((op) => encode(op, now))),
    ]
    let reply: unknown
    try {
      this.roundTrips++
      this.onRoundTrip()
      reply = await this.client.sendCommand(['EVALSHA', STATE_SCRIPT_SHA, ...args])
    } catch (err) {
      if (!isNoScript(err)) throw err
      this.roundTrips++
      this.onRoundTrip()
      reply = await this.client.sendCommand(['EVAL', STATE_SCRIPT, ...args])
    }
    const answers = JSON.parse(String(reply)) as unknown
    const list = Array.isArray(answers) ? answers : []
    return ops.map((op, i) => decode(op, list[i]))
  }

  /** The client is not the store's: whoever made it closes it. */
  async close(): Promise<void> {}
}
