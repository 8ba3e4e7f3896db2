// POP/IMAP-before-SMTP on real Haraka with haraka-plugin-redis and a real
// redis-server, plus the grant file: a fresh grant opens relaying for that IP
// only, a stale one does not, and a Redis outage grants nothing and breaks nothing.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { waitForMessage } from '../harness/mail_sink'
import { startRedis, type RedisServer } from '../harness/redis'
import { message, startStack, waitForLog, type Stack } from '../harness/stack'

const KEY = 'pop-before-smtp:127.0.0.1'
const now = () => Math.floor(Date.now() / 1000)

let redis: RedisServer
let stack: Stack
const dir = mkdtempSync(path.join(tmpdir(), 'pbs-'))
const grantFile = path.join(dir, 'grants')

before(async () => {
  redis = await startRedis()
  stack = await startStack({
    files: {
      plugins: 'tls\nredis\nldap_auth\nauth_relay\nauth_stamp\neml_sink\n',
      // disableOfflineQueue: while Redis is down, commands fail at once instead of waiting
      // (Haraka's own tls plugin asks Redis at every EHLO); see README, pop_before_smtp_redis.
      'redis.ini': `[server]\nhost=127.0.0.1\nport=${redis.port}\ndisableOfflineQueue=true\n`,
    },
    ini: {
      'auth_relay.ini': {
        main: { pop_before_smtp_redis: 'true', pop_before_smtp_file: grantFile, pop_before_smtp_ttl: '600' },
      },
    },
  })
})
after(async () => {
  await stack?.stop()
  await redis?.dispose()
  rmSync(dir, { recursive: true, force: true })
})

async function relayCode(): Promise<number> {
  const c = await stack.inbound()
  await c.mailFrom('someone@remote.example')
  const code = (await c.rcptTo('friend@remote.example')).code
  c.close()
  return code
}

describe('POP/IMAP-before-SMTP', () => {
  test('the weaker trust is announced at load', async () => {
    await waitForLog(
      stack.haraka,
      /auth_relay\.ini: POP\/IMAP-before-SMTP is on: an IP that logged in to POP\/IMAP in the last 600 s may relay/,
    )
  })

  test('no grant: relaying refused as usual', async () => {
    assert.equal(await relayCode(), 550)
  })

  test('a fresh Redis grant for the client IP opens relaying, logged as such; the mail is not attributed to anyone', async () => {
    assert.equal(await redis.command('SET', KEY, String(now() - 30)), '+OK\r\n')
    const c = await stack.inbound()
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    assert.equal((await c.rcptTo('friend@remote.example')).code, 250)
    await waitForLog(
      stack.haraka,
      /relay granted by pop-before-smtp for 127\.0\.0\.1 \(redis, login 3\d s ago\)/,
    )
    const subject = `pbs-${Date.now()}`
    assert.equal(
      (await c.data(message({ from: 'someone@remote.example', to: 'friend@remote.example', subject }))).code,
      250,
    )
    const m = await waitForMessage(stack.haraka.mailDir, (msg) => msg.eml.includes(subject))
    assert.equal(m.envelope.auth_user, null)
    assert.deepEqual(m.headers('x-authenticated-user'), [])
  })

  test('a stale grant (older than the TTL) or garbage does not', async () => {
    await redis.command('SET', KEY, String(now() - 700))
    assert.equal(await relayCode(), 550)
    await redis.command('SET', KEY, 'not-a-time')
    assert.equal(await relayCode(), 550)
    await waitForLog(
      stack.haraka,
      /pop-before-smtp: no grant for 127\.0\.0\.1: redis: login time for 127\.0\.0\.1 is not a Unix time/,
    )
    await redis.command('DEL', KEY)
  })

  test('the grant file works too, and is re-read when it changes', async () => {
    writeFileSync(grantFile, `# ip time\n127.0.0.1 ${now() - 5}\n`)
    assert.equal(await relayCode(), 250)
    await waitForLog(
      stack.haraka,
      /relay granted by pop-before-smtp for 127\.0\.0\.1 \(file, login \d s ago\)/,
    )
    writeFileSync(grantFile, `127.0.0.1 ${now() - 3600}\n# older now\n`)
    assert.equal(await relayCode(), 550)
  })

  test('Redis down: no grant, a warning, no crash; grants work again once Redis is back', async () => {
    await redis.stop()
    try {
      assert.equal(await relayCode(), 550)
      await waitForLog(stack.haraka, /pop-before-smtp: no grant for 127\.0\.0\.1: redis: /)
      const c = await stack.inbound()
      assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
      assert.equal((await c.rcptTo('alice@example.com')).code, 250)
    } finally {
      await redis.start()
    }
    await redis.command('SET', KEY, String(now()))
    let code = 0
    for (let i = 0; i < 50 && code !== 250; i++) {
      code = await relayCode()
      if (code !== 250) await sleep(200)
    }
    assert.equal(code, 250, 'relaying granted again after Redis came back')
  })

  test('Redis hanging (SIGSTOP): the lookup times out, no grant, the session goes on', async () => {
    await redis.command('SET', KEY, String(now()))
    // EHLO and MAIL first: Haraka's tls plugin would itself wait for a hung Redis at EHLO.
    const c = await stack.inbound()
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    redis.signal('SIGSTOP')
    try {
      const started = Date.now()
      assert.equal((await c.rcptTo('friend@remote.example')).code, 550)
      assert.ok(Date.now() - started < 8000)
      assert.equal((await c.rcptTo('alice@example.com')).code, 250)
      await waitForLog(stack.haraka, /redis: no answer within 1000 ms/)
    } finally {
      redis.signal('SIGCONT')
    }
  })

  test('a grant is checked again in every transaction of a session: removed or expired, the next RSET/MAIL no longer relays', async () => {
    // Last in this file: it reloads auth_relay.ini with the shortest TTL.
    const ini = path.join(stack.haraka.dir, 'config', 'auth_relay.ini')
    const text = readFileSync(ini, 'utf8')
    assert.match(text, /^pop_before_smtp_ttl=600$/m)
    writeFileSync(ini, text.replace(/^pop_before_smtp_ttl=600$/m, 'pop_before_smtp_ttl=10'))
    await waitForLog(
      stack.haraka,
      /POP\/IMAP-before-SMTP is on: an IP that logged in to POP\/IMAP in the last 10 s may relay/,
      10_000,
    )

    // removed: the grant is deleted between two transactions of one session
    await redis.command('SET', KEY, String(now()))
    const c = await stack.inbound()
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    assert.equal((await c.rcptTo('friend@remote.example')).code, 250)
    await redis.command('DEL', KEY)
    assert.equal((await c.send('RSET')).code, 250)
    assert.equal((await c.mailFrom('someone@remote.example')).code, 250)
    assert.equal((await c.rcptTo('friend@remote.example')).code, 550)

    // expired: a grant older than the TTL by the time of the next transaction
    const loginAt = now() - 3
    await redis.command('SET', KEY, String(loginAt))
    const e = await stack.inbound()
    assert.equal((await e.mailFrom('someone@remote.example')).code, 250)
    assert.equal((await e.rcptTo('friend@remote.example')).code, 250)
    while (now() <= loginAt + 11) await sleep(250)
    assert.equal((await e.send('RSET')).code, 250)
    assert.equal((await e.mailFrom('someone@remote.example')).code, 250)
    assert.equal((await e.rcptTo('friend@remote.example')).code, 550)
    await redis.command('DEL', KEY)
  })
})
