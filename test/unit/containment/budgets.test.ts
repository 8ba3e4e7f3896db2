// Containment's policy with a fake clock over the memory store: each budget
// counted and crossed, the windows sliding, distinct recipients and domains,
// defer versus suspend, and what the operator's release clears.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  acceptedRcpt,
  containLogin,
  gateOps,
  judgeCounts,
  readCounts,
  readGate,
  recipientMember,
  refusedRecipients,
  releaseAllOps,
  type AcceptedRcpt,
} from '../../../lib/containment/budgets'
import {
  BUDGETS,
  CONTAIN_SPEC,
  containConfig,
  containWarnings,
  type Budget,
} from '../../../lib/containment/config'
import { suspensionKey } from '../../../lib/containment/suspension'
import { parseSection } from '../../../lib/config/schema'
import { MemoryStateStore } from '../../../lib/state/memory'

const T0 = 1_800_000_000_000
const MIN = 60_000
const DAY = 24 * 3600 * 1000

function config(main: Record<string, string> = {}) {
  const errors: string[] = []
  const values = parseSection('main', main, CONTAIN_SPEC, errors)
  assert.deepEqual(errors, [])
  return containConfig(values)
}

/** Only one budget on (all others 0), at `limit`. */
function only(budget: Budget, limit: number, more: Record<string, string> = {}) {
  const main: Record<string, string> = { ...more }
  for (const b of BUDGETS) main[`contain_${b}`] = b === budget ? String(limit) : '0'
  return config(main)
}

const external = (n: number, domain = 'remote.example'): AcceptedRcpt => ({
  firstOfMessage: true,
  external: true,
  address: `r${n}@${domain}`,
  domain,
})
const local = (first = true): AcceptedRcpt => ({
  firstOfMessage: first,
  external: false,
  address: 'bob@example.com',
  domain: 'example.com',
})

/** One accepted RCPT through the store, as auth_relay runs it: counts, then the judgement. */
function rcpt(
  store: MemoryStateStore,
  login: string,
  r: AcceptedRcpt,
  cfg: ReturnType<typeof config>,
  now: number,
) {
  const c = acceptedRcpt(login, r, cfg)
  const counts = c.read(store.runNow(c.ops, now))
  const crossing = judgeCounts(login, counts, cfg, now)
  if (crossing) store.runNow(crossing.ops, now)
  return { counts, crossing }
}

describe('defaults', () => {
  test('as documented: hosted providers, defer on every budget', () => {
    const cfg = config()
    assert.equal(cfg.mode, 'enforce')
    assert.deepEqual(Object.fromEntries(cfg.limits), {
      messages_per_minute: 30,
      messages_per_day: 2000,
      recipients_per_day: 10000,
      external_recipients_per_day: 3000,
      external_domains_per_day: 300,
      refused_recipients_per_day: 100,
    })
    assert.equal(cfg.suspendOn.size, 0)
    assert.deepEqual(containWarnings(cfg), [])
  })
  test('contain_suspend_on takes budget names only; off and observe are warned about', () => {
    const errors: string[] = []
    parseSection('main', { contain_suspend_on: 'recipients_per_day,bogus' }, CONTAIN_SPEC, errors)
    assert.match(errors.join(), /contain_suspend_on: "bogus" is not one of messages_per_minute/)
    assert.match(containWarnings(config({ containment: 'off' })).join(), /containment=off/)
    assert.match(
      containWarnings(config({ contain_messages_per_day: '0' })).join(),
      /^contain_messages_per_day=0: that containment budget is off \(messages\)$/,
    )
  })
  test('a login is keyed lower-cased and NFC', () => {
    assert.equal(containLogin(' Alice@Example.COM '), 'alice@example.com')
    assert.equal(containLogin('Jose\u0301'), containLogin('Jos\u00e9'))
  })
})

describe('messages_per_minute', () => {
  test('the limit+1-th message crosses; a message counts once (its first recipient); the window slides', () => {
    const cfg = only('messages_per_minute', 3)
    const s = new MemoryStateStore()
    for (let i = 0; i < 3; i++) {
      assert.equal(rcpt(s, 'a', local(true), cfg, T0 + i).crossing, undefined)
      assert.equal(
        rcpt(s, 'a', local(false), cfg, T0 + i).crossing,
        undefined,
        'a second recipient is no message',
      )
    }
    const r = rcpt(s, 'a', local(true), cfg, T0 + 10)
    assert.equal(r.crossing?.budget, 'messages_per_minute')
    assert.equal(r.crossing?.action, 'defer')
    assert.equal(r.crossing?.reason, 'messages_per_minute: 4 messages in 1 min, limit 3')
    // deferred for the window (a minute), then clear again
    assert.equal(readGate('a', s.runNow(gateOps('a'), T0 + 30_000)).kind, 'deferred')
    assert.equal(readGate('a', s.runNow(gateOps('a'), T0 + 10 + MIN)).kind, 'clear')
    // by then the counted messages have slid out of the window
    assert.equal(rcpt(s, 'a', local(true), cfg, T0 + 10 + MIN + 1000).crossing, undefined)
  })
  test('other logins are untouched', () => {
    const cfg = only('messages_per_minute', 1)
    const s = new MemoryStateStore()
    rcpt(s, 'a', local(), cfg, T0)
    assert.ok(rcpt(s, 'a', local(), cfg, T0 + 1).crossing)
    assert.equal(rcpt(s, 'b', local(), cfg, T0 + 2).crossing, undefined)
    assert.equal(readGate('b', s.runNow(gateOps('b'), T0 + 3)).kind, 'clear')
  })
})

describe('the daily budgets', () => {
  test('messages_per_day: a day-long window (sixty buckets of 24 min)', () => {
    const cfg = only('messages_per_day', 2)
    const s = new MemoryStateStore()
    rcpt(s, 'a', local(), cfg, T0)
    rcpt(s, 'a', local(), cfg, T0 + 12 * 3600_000)
    assert.equal(rcpt(s, 'a', local(), cfg, T0 + 23 * 3600_000).crossing?.budget, 'messages_per_day')
    const d = readGate('a', s.runNow(gateOps('a'), T0 + 23 * 3600_000 + 1))
    assert.equal(d.kind, 'deferred')
    if (d.kind === 'deferred') assert.equal(d.deferral.until, T0 + 23 * 3600_000 + DAY)
  })
  test('recipients_per_day counts every recipient, local or not', () => {
    const cfg = only('recipients_per_day', 3)
    const s = new MemoryStateStore()
    rcpt(s, 'a', local(true), cfg, T0)
    rcpt(s, 'a', local(false), cfg, T0)
    rcpt(s, 'a', external(1), cfg, T0)
    assert.equal(rcpt(s, 'a', external(2), cfg, T0).crossing?.budget, 'recipients_per_day')
  })
  test('external_recipients_per_day: distinct addresses outside our domains; local ones and repeats do not count', () => {
    const cfg = only('external_recipients_per_day', 2)
    const s = new MemoryStateStore()
    for (let i = 0; i < 5; i++) rcpt(s, 'a', external(1), cfg, T0 + i)
    for (let i = 0; i < 5; i++) rcpt(s, 'a', local(), cfg, T0 + i)
    assert.equal(rcpt(s, 'a', external(2), cfg, T0 + 10).crossing, undefined)
    const r = rcpt(s, 'a', external(3), cfg, T0 + 11)
    assert.equal(r.crossing?.budget, 'external_recipients_per_day')
    assert.equal(r.counts.get('external_recipients_per_day'), 3)
  })
  test('external_domains_per_day: distinct domains', () => {
    const cfg = only('external_domains_per_day', 2)
    const s = new MemoryStateStore()
    for (let i = 0; i < 10; i++) rcpt(s, 'a', external(i, 'one.example'), cfg, T0)
    rcpt(s, 'a', external(1, 'two.example'), cfg, T0)
    assert.equal(
      rcpt(s, 'a', external(1, 'three.example'), cfg, T0).crossing?.budget,
      'external_domains_per_day',
    )
  })
  test('refused_recipients_per_day: refused at RCPT or bounced (n at once)', () => {
    const cfg = only('refused_recipients_per_day', 3)
    const s = new MemoryStateStore()
    const refused = (n: number, now: number) => {
      const c = refusedRecipients('a', n, cfg)
      return judgeCounts('a', c.read(s.runNow(c.ops, now)), cfg, now)
    }
    assert.equal(refused(1, T0), undefined)
    assert.equal(refused(2, T0 + 1), undefined)
    assert.equal(refused(2, T0 + 2)?.budget, 'refused_recipients_per_day')
    assert.deepEqual(refusedRecipients('a', 0, cfg).ops, [])
  })
  test('a budget set to 0 is not counted at all', () => {
    const cfg = only('messages_per_minute', 5)
    const ops = acceptedRcpt('a', external(1), cfg).ops
    assert.deepEqual(
      ops.map((o) => o.key),
      ['contain:n:messages_per_minute:a'],
    )
  })
})

describe('defer or suspend', () => {
  test('a budget in contain_suspend_on suspends: the suspension record, listed, until released', () => {
    const cfg = only('recipients_per_day', 1, { contain_suspend_on: 'recipients_per_day' })
    const s = new MemoryStateStore()
    rcpt(s, 'a', local(), cfg, T0)
    const r = rcpt(s, 'a', local(false), cfg, T0 + 5)
    assert.equal(r.crossing?.action, 'suspend')
    const g = readGate('a', s.runNow(gateOps('a'), T0 + 10 * DAY))
    assert.equal(g.kind, 'suspended', 'a suspension outlives every window')
    if (g.kind === 'suspended') {
      assert.equal(g.suspension.rule, 'recipients_per_day')
      assert.equal(g.suspension.since, T0 + 5)
      assert.equal(g.suspension.reason, 'recipients_per_day: 2 recipients in 24 h, limit 1')
    }
  })
  test('several crossed: one that suspends wins, else the first in order', () => {
    const counts = new Map<Budget, number>([
      ['messages_per_minute', 9],
      ['recipients_per_day', 9],
    ])
    const both = config({ contain_messages_per_minute: '1', contain_recipients_per_day: '1' })
    assert.equal(judgeCounts('a', counts, both, T0)?.budget, 'messages_per_minute')
    const susp = config({
      contain_messages_per_minute: '1',
      contain_recipients_per_day: '1',
      contain_suspend_on: 'recipients_per_day',
    })
    assert.equal(judgeCounts('a', counts, susp, T0)?.budget, 'recipients_per_day')
  })
  test('at the limit is within it; one over crosses', () => {
    const cfg = only('recipients_per_day', 5)
    assert.equal(judgeCounts('a', new Map([['recipients_per_day', 5]]), cfg, T0), undefined)
    assert.ok(judgeCounts('a', new Map([['recipients_per_day', 6]]), cfg, T0))
  })
})

describe('the records', () => {
  test('a damaged deferral or suspension record still holds the login', () => {
    const s = new MemoryStateStore()
    s.runNow([{ op: 'set', key: 'contain:defer:a', value: '{', ttlMs: 1000 }], T0)
    assert.equal(readGate('a', s.runNow(gateOps('a'), T0)).kind, 'deferred')
    s.runNow([{ op: 'set', key: suspensionKey('a'), value: 'x', ttlMs: 1000 }], T0)
    assert.equal(readGate('a', s.runNow(gateOps('a'), T0)).kind, 'suspended')
  })
  test('release clears the deferral and every count', () => {
    const cfg = config({ contain_messages_per_minute: '1' })
    const s = new MemoryStateStore()
    rcpt(s, 'a', external(1), cfg, T0)
    assert.ok(rcpt(s, 'a', external(2), cfg, T0).crossing)
    s.runNow(releaseAllOps('a'), T0 + 1)
    assert.equal(readGate('a', s.runNow(gateOps('a'), T0 + 2)).kind, 'clear')
    const counts = readCounts('a', cfg)
    assert.ok([...counts.read(s.runNow(counts.ops, T0 + 2)).values()].every((n) => n === 0))
    assert.equal(rcpt(s, 'a', external(3), cfg, T0 + 3).crossing, undefined)
  })
  test('recipients are stored hashed, never as written', () => {
    const ops = acceptedRcpt('a', external(1), config()).ops
    const text = JSON.stringify(ops)
    assert.ok(!text.includes('r1@remote.example'), text)
    assert.ok(text.includes(recipientMember('r1@remote.example')))
    assert.equal(recipientMember('x@y').length, 16)
  })
})
