// `npm start`'s demo driven by swaks with the command README's "Try it" prints, exactly as
// written there (it verifies the demo's certificate: --tls-verify --tls-ca-path), then the
// spoofed-sender variant README suggests. The helper adds only --timeout and
// --auth-hide-password.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { startDemo } from '../harness/demo'
import { waitForMessage } from '../harness/mail_sink'
import { REPO } from '../harness/paths'
import { replyWith, swaks } from '../harness/swaks'

/** The arguments of the first ```sh block in README.md whose command is swaks. */
export function readmeSwaksArgs(readme: string): string[] {
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const command = block[1]!.replace(/\\\n/g, ' ').trim()
    if (command.startsWith('swaks ')) return command.split(/\s+/).slice(1)
  }
  throw new Error('README.md has no ```sh block with a swaks command')
}

test('the README finds its swaks command (the check can fail)', () => {
  assert.deepEqual(readmeSwaksArgs('```sh\nswaks --server a:1 \\\n  --tls\n```\n'), [
    '--server',
    'a:1',
    '--tls',
  ])
  assert.throws(() => readmeSwaksArgs('```sh\nnpm start\n```\n'), /no ```sh block/)
})

test(
  'npm start, then README\u2019s swaks command: 235 2.7.0, queued, stamped',
  { timeout: 90_000 },
  async (t) => {
    const args = readmeSwaksArgs(readFileSync(path.join(REPO, 'README.md'), 'utf8'))
    assert.ok(args.includes('--tls-verify'), 'README verifies the certificate')
    const demo = await startDemo()
    if (typeof demo === 'string') return t.skip(demo)
    let exitCode: number | null
    try {
      const ok = await swaks(args, { cwd: REPO })
      assert.equal(ok.status, 0, ok.transcript)
      const auth = replyWith(ok, 235)
      assert.equal(auth.enhanced, '2.7.0', ok.transcript)
      assert.ok(auth.tls, 'AUTH over TLS')
      const queued = /Message Queued \(([\w.-]+)\)/.exec(replyWith(ok, 250).text + ok.transcript)
      assert.ok(queued, ok.transcript)
      const msg = await waitForMessage(path.join(REPO, 'mail'), (m) => m.uuid === queued[1])
      assert.deepEqual(msg.headers('X-Authenticated-User'), ['alice@example.com'])
      assert.match(msg.headers('Authentication-Results').join('\n'), /smtp\.auth=alice@example\.com/)

      const spoof = await swaks(
        args.map((a, i) => (args[i - 1] === '--from' ? 'bob@example.com' : a)),
        { cwd: REPO },
      )
      assert.equal(spoof.status, 23, spoof.transcript)
      assert.equal(replyWith(spoof, 553).enhanced, '5.7.1', spoof.transcript)
    } finally {
      exitCode = await demo.stop()
    }
    assert.equal(exitCode, 0, demo.out().slice(-2000))
  },
)
