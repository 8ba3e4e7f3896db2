// POP/IMAP-before-SMTP grant logic: time window, file format and reload, and
// that an unreadable source grants nothing. (Real Redis: test/e2e/pop_before_smtp.test.ts.)
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { checkGrant, GrantFile, grantValid, parseGrantLines, type RedisLike } from '../../../lib/relay/grants'

const NOW = 1_800_000_000_000
const nowS = NOW / 1000
const dir = mkdtempSync(path.join(tmpdir(), 'grants-'))
after(() => rmSync(dir, { recursive: true, force: true }))

describe('grantValid', () => {
  test('within the TTL, a little clock skew, nothing else', () => {
    assert.equal(grantValid(String(nowS - 600), NOW, 600).valid, true)
    assert.equal(grantValid(String(nowS - 601), NOW, 600).valid, false)
    assert.equal(grantValid(String(nowS + 30), NOW, 600).valid, true)
    assert.equal(grantValid(String(nowS + 3600), NOW, 600).valid, false)
  })
  test('not a Unix time: malformed, no grant', () => {
    for (const v of ['', 'yesterday', '1.5', '-5', '9999999999999']) {
      const r = grantValid(v, NOW, 600)
      assert.equal(r.valid, false, v)
      assert.equal(r.malformed, true, v)
    }
  })
})

describe('grant file', () => {
  test('lines are "<ip> <time>"; comments, junk and bad IPs skipped; the last line for an IP wins; IPs normalised', () => {
    const m = parseGrantLines(
      '# written by dovecot\n192.0.2.1 100\n192.0.2.1 200\nnot-an-ip 5\n2001:DB8::0001 300 # note\n\n192.0.2.9\n',
    )
    assert.deepEqual(
      [...m],
      [
        ['192.0.2.1', '200'],
        ['2001:db8::1', '300'],
      ],
    )
  })
  test('re-read when it changes; missing file means no grants', async () => {
    const file = path.join(dir, 'grants')
    const g = new GrantFile(file)
    assert.equal(await g.timeFor('192.0.2.1'), undefined)
    writeFileSync(file, '192.0.2.1 100\n')
    assert.equal(await g.timeFor('192.0.2.1'), '100')
    writeFileSync(file, '192.0.2.1 222\n')
    utimesSync(file, new Date(), new Date(Date.now() + 5000))
    assert.equal(await g.timeFor('192.0.2.1'), '222')
  })
})

describe('checkGrant', () => {
  const fake = (values: Record<string, string>, over: Partial<RedisLike> = {}): RedisLike => ({
    isReady: true,
    get: async (key) => values[key] ?? null,
    ...over,
  })
  const redis = (client: RedisLike | undefined) => ({ client, prefix: 'pbs:', timeoutMs: 200 })

  test('a fresh Redis grant for the (normalised) client IP', async () => {
    const r = await checkGrant(
      '::ffff:192.0.2.1',
      { redis: redis(fake({ 'pbs:192.0.2.1': String(nowS - 10) })), ttlSeconds: 600 },
      NOW,
    )
    assert.deepEqual(r, { granted: true, source: 'redis', ageSeconds: 10 })
  })
  test('stale or missing: no grant, no problem; malformed: a problem', async () => {
    assert.deepEqual(
      await checkGrant(
        '192.0.2.1',
        { redis: redis(fake({ 'pbs:192.0.2.1': String(nowS - 700) })), ttlSeconds: 600 },
        NOW,
      ),
      { granted: false, problems: [] },
    )
    assert.deepEqual(await checkGrant('192.0.2.2', { redis: redis(fake({})), ttlSeconds: 600 }, NOW), {
      granted: false,
      problems: [],
    })
    const bad = await checkGrant(
      '192.0.2.1',
      { redis: redis(fake({ 'pbs:192.0.2.1': 'soon' })), ttlSeconds: 600 },
      NOW,
    )
    assert.equal(bad.granted, false)
    assert.match(!bad.granted ? bad.problems.join() : '', /not a Unix time/)
  })
  test('Redis missing, not ready, failing or hanging: no grant, the reason given, never a throw', async () => {
    const cases: Array<[RedisLike | undefined, RegExp]> = [
      [undefined, /not connected/],
      [fake({}, { isReady: false }), /not connected/],
      [fake({}, { get: async () => Promise.reject(new Error('ECONNREFUSED')) }), /ECONNREFUSED/],
      [fake({}, { get: () => new Promise(() => undefined) }), /no answer within 200 ms/],
    ]
    for (const [client, why] of cases) {
      const r = await checkGrant('192.0.2.1', { redis: redis(client), ttlSeconds: 600 }, NOW)
      assert.equal(r.granted, false)
      assert.match(!r.granted ? r.problems.join() : '', why)
    }
  })
  test('the file grants when Redis does not; an unreadable file is a problem', async () => {
    const file = path.join(dir, 'grants2')
    writeFileSync(file, `192.0.2.7 ${nowS - 5}\n`)
    const r = await checkGrant(
      '192.0.2.7',
      { redis: redis(undefined), file: new GrantFile(file), ttlSeconds: 600 },
      NOW,
    )
    assert.deepEqual(r, { granted: true, source: 'file', ageSeconds: 5 })
    const unreadable = await checkGrant('192.0.2.7', { file: new GrantFile(dir), ttlSeconds: 600 }, NOW)
    assert.equal(unreadable.granted, false)
    assert.match(!unreadable.granted ? unreadable.problems.join() : '', /EISDIR/)
  })
})
