// The operator's install path, end to end: the packages `npm run pack` makes, installed with npm
// (offline, from the tarball files) into a fresh instance made by Haraka's own `haraka -i`, enabled
// by name in its config/plugins, configured from the example ini files the packages carry, then
// driven by swaks like the other e2e tests: AUTH, relay, a spoofed sender and the stamp.
// The instance holds no copy of, and no link into, this repository.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { generateSelfSigned } from '../../demo/tls'
import { PLUGINS, packAll } from '../../packages/pack'
import { runHaraka, setIniKey, setIniKeyIn, type HarakaInstance } from '../harness/haraka'
import { headerSection, listMessages, waitForMessage } from '../harness/mail_sink'
import { REPO } from '../harness/paths'
import { freePort } from '../harness/ports'
import { startSlapd, type Slapd } from '../harness/slapd'
import { ALICE, DEMO_LDIF } from '../harness/stack'
import { authPlainArgs, replyWith, swaksTo, type SwaksRun } from '../harness/swaks'

const run = promisify(execFile)
const STEP_TIMEOUT_MS = 120_000

// A queue plugin written into the instance's own plugins/ (Haraka's plain-file mode), storing each
// message as <uuid>.eml then <uuid>.json, the layout test/harness/mail_sink reads.
function sinkPlugin(mailDir: string): string {
  return `const fs = require('fs')
const path = require('path')
const dir = ${JSON.stringify(mailDir)}
exports.register = function () {
  this.register_hook('queue', 'store')
  this.register_hook('queue_outbound', 'store')
}
exports.store = function (next, connection) {
  const txn = connection.transaction
  const eml = fs.createWriteStream(path.join(dir, txn.uuid + '.eml'))
  eml.on('finish', () => {
    const env = {
      uuid: txn.uuid,
      mail_from: String(txn.mail_from.address ?? ''),
      rcpt_to: txn.rcpt_to.map((r) => String(r.address)),
      remote_ip: connection.remote.ip,
      auth_user: connection.notes.auth_user || null,
      received_at: new Date().toISOString(),
    }
    fs.writeFileSync(path.join(dir, txn.uuid + '.json'), JSON.stringify(env))
    next(OK)
  })
  txn.message_stream.pipe(eml)
}
`
}

/** Every path under dir whose real path leaves dir (npm's own node_modules/.bin links stay inside). */
function linksOut(dir: string): string[] {
  const root = realpathSync(dir)
  const bad: string[] = []
  for (const rel of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const p = path.join(dir, rel)
    if (!realpathSync(p).startsWith(root + path.sep)) bad.push(rel)
  }
  return bad
}

let work: string
let instanceDir: string
let slapd: Slapd | undefined
let haraka: HarakaInstance | undefined
let installLog = ''

before(
  async () => {
    work = mkdtempSync(path.join(tmpdir(), 'haraka-install-'))
    instanceDir = path.join(work, 'haraka')
    const tarballs = packAll(path.join(work, 'packs'))

    // Haraka's own instance generator, as an operator runs it.
    await run(process.execPath, [path.join(REPO, 'node_modules/Haraka/bin/haraka'), '-i', instanceDir], {
      timeout: STEP_TIMEOUT_MS,
    })
    // npm on the runtime the tests run on; --offline: every dependency from the npm cache.
    const env = {
      ...process.env,
      PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}`,
    }
    const npm = await run('npm', ['install', '--offline', '--no-audit', '--no-fund', ...tarballs], {
      cwd: instanceDir,
      env,
      timeout: STEP_TIMEOUT_MS,
    })
    installLog = npm.stdout + npm.stderr

    const config = path.join(instanceDir, 'config')
    // The example ini files, copied from the installed packages as README tells the operator.
    for (const p of PLUGINS) {
      for (const ini of p.ini) {
        const target = path.join(config, ini)
        if (!existsSync(target))
          cpSync(path.join(instanceDir, 'node_modules', `haraka-plugin-${p.plugin}`, 'config', ini), target)
      }
    }
    writeFileSync(
      path.join(config, 'plugins'),
      ['tls', ...PLUGINS.map((p) => p.plugin), 'install_sink', ''].join('\n'),
    )

    slapd = await startSlapd({ ldif: [DEMO_LDIF] })
    const host = '127.0.0.1'
    const ports = { inbound: await freePort(), submission: await freePort(), smtps: await freePort() }
    const edit = (name: string, f: (text: string) => string) =>
      writeFileSync(path.join(config, name), f(readFileSync(path.join(config, name), 'utf8')))
    edit('smtp.ini', (t) =>
      [
        [
          'listen',
          Object.values(ports)
            .map((p) => `${host}:${p}`)
            .join(','),
        ],
        ['smtps_port', String(ports.smtps)],
        ['nodes', '0'],
      ].reduce((text, [k, v]) => setIniKey(text, k ?? '', v ?? ''), t),
    )
    // The packaged examples set nothing: the directory and its service account are the operator's
    // (here the demo directory's, as the repository's own config/ names them).
    const demo = readFileSync(path.join(REPO, 'config/ldap_directory.ini'), 'utf8')
    const demoValue = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(demo)?.[1] ?? ''
    edit('ldap_directory.ini', (t) =>
      ['bind_dn', 'bind_password', 'base_dn'].reduce(
        (text, key) => setIniKeyIn(text, 'main', key, demoValue(key)),
        setIniKeyIn(t, 'main', 'servers', slapd?.url ?? ''),
      ),
    )
    edit('auth_relay.ini', (t) =>
      setIniKeyIn(t, 'main', 'submission_ports', `${ports.submission},${ports.smtps}`),
    )
    writeFileSync(path.join(config, 'me'), 'mail.example.com\n')
    writeFileSync(path.join(config, 'host_list'), 'example.com\n')
    const pair = await generateSelfSigned('mail.example.com')
    writeFileSync(path.join(config, 'tls_key.pem'), pair.key, { mode: 0o600 })
    writeFileSync(path.join(config, 'tls_cert.pem'), pair.cert)
    writeFileSync(path.join(config, 'tls.ini'), 'key=tls_key.pem\ncert=tls_cert.pem\n')

    const mailDir = path.join(work, 'mail')
    mkdirSync(mailDir)
    writeFileSync(path.join(instanceDir, 'plugins', 'install_sink.js'), sinkPlugin(mailDir))

    haraka = await runHaraka({ dir: instanceDir, host, ports, mailDir, caCert: pair.cert })
  },
  { timeout: 4 * STEP_TIMEOUT_MS },
)

after(async () => {
  await haraka?.stop()
  await slapd?.dispose()
  if (work) rmSync(work, { recursive: true, force: true })
})

function submit(args: string[], port: 'submission' | 'inbound' = 'submission'): Promise<SwaksRun> {
  const h = haraka as HarakaInstance
  const caFile = path.join(instanceDir, 'config/tls_cert.pem')
  const tls = port === 'inbound' ? 'none' : 'starttls'
  return swaksTo({ host: h.host, port: h.ports[port], tls, caFile }, args)
}

const alicePlain = authPlainArgs(ALICE.login, ALICE.password)

describe('installed with npm into a fresh `haraka -i` instance', () => {
  test('the instance holds only what npm installed: no link into, or copy of, this repository', () => {
    assert.deepEqual(linksOut(instanceDir), [])
    assert.ok(!existsSync(path.join(instanceDir, 'dist')))
    const installed = readdirSync(path.join(instanceDir, 'node_modules'))
    for (const p of PLUGINS) assert.ok(installed.includes(`haraka-plugin-${p.plugin}`), installed.join(' '))
    for (const repoOnly of ['Haraka', 'typescript', 'ldapjs', 'haraka-test-fixtures'])
      assert.ok(!installed.includes(repoOnly), `${repoOnly} in the instance's node_modules`)
    assert.doesNotMatch(installLog, /EBADENGINE/)
  })

  test('the haraka-ldap CLI runs from the instance: lint reads its config/', async () => {
    const cli = path.join(instanceDir, 'node_modules/.bin/haraka-ldap')
    await run(process.execPath, [cli, '--help'], { cwd: instanceDir, timeout: STEP_TIMEOUT_MS })
    const lint = await run(
      process.execPath,
      [cli, 'lint', '--json', '--config', path.join(instanceDir, 'config')],
      {
        cwd: instanceDir,
        timeout: STEP_TIMEOUT_MS,
      },
    ).catch((err: { stdout?: string; code?: number }) => err)
    assert.ok(
      lint.stdout?.trimStart().startsWith('{') || lint.stdout?.trimStart().startsWith('['),
      String(lint.stdout),
    )
  })

  test('AUTH PLAIN over STARTTLS: 235 2.7.0, relay accepted, the message stamped', async () => {
    const subject = `install-stamp-${Date.now()}`
    const r = await submit([
      ...alicePlain,
      '--from',
      ALICE.login,
      '--to',
      'friend@remote.example',
      '--header',
      `Subject: ${subject}`,
      '--add-header',
      'X-Authenticated-User: ceo@example.com',
    ])
    assert.equal(r.status, 0, `${r.transcript}\n${(haraka as HarakaInstance).logs().slice(-4000)}`)
    assert.equal(replyWith(r, 235).enhanced, '2.7.0', r.transcript)
    const msg = await waitForMessage((haraka as HarakaInstance).mailDir, (m) => m.eml.includes(subject))
    const head = headerSection(msg.eml)
    assert.deepEqual(msg.headers('X-Authenticated-User'), [ALICE.login], head)
    assert.ok(!head.includes('ceo@example.com'), head)
    assert.equal(msg.envelope.auth_user, ALICE.login)
  })

  test('a spoofed MAIL FROM after AUTH: 553 5.7.1, nothing stored', async () => {
    const h = haraka as HarakaInstance
    const before = listMessages(h.mailDir).length
    const r = await submit([...alicePlain, '--from', 'bob@example.com', '--to', 'friend@remote.example'])
    assert.equal(r.status, 23, r.transcript)
    assert.equal(replyWith(r, 553).enhanced, '5.7.1', r.transcript)
    assert.equal(listMessages(h.mailDir).length, before)
  })

  test('relay without AUTH on the inbound port: 550 5.7.1, nothing stored', async () => {
    const h = haraka as HarakaInstance
    const before = listMessages(h.mailDir).length
    const r = await submit(
      ['--from', 'someone@remote.example', '--to', 'victim@elsewhere.example'],
      'inbound',
    )
    assert.equal(r.status, 24, r.transcript)
    assert.equal(replyWith(r, 550).enhanced, '5.7.1', r.transcript)
    assert.equal(listMessages(h.mailDir).length, before)
  })
})
