import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { canonicalDomain } from '../../../lib/mail/address'
import { classifyRcpt, judgeRcpt, relayRule, type RcptInput } from '../../../lib/relay/policy'
import { REPLIES } from '../../../lib/replies'

const local = {
  domains: new Set(['example.com']),
  ips: new Set(['127.0.0.5', '2001:db8::25']),
  listening: '',
}
const rcpt = (path: string, user: string, domain: string): RcptInput => ({ path, user, domain })

describe('classifyRcpt', () => {
  test('local domain: ours, case-insensitively', () => {
    assert.deepEqual(classifyRcpt(rcpt('<alice@Example.COM>', 'alice', 'Example.COM'), local), {
      kind: 'local',
      rule: 'local_domain',
    })
  })
  test('remote domain, trailing dot and subdomain are not ours', () => {
    assert.deepEqual(classifyRcpt(rcpt('<x@remote.example>', 'x', 'remote.example'), local), {
      kind: 'remote',
      addressLiteral: false,
    })
    assert.equal(classifyRcpt(rcpt('<x@example.com>', 'x', 'example.com.'), local).kind, 'remote')
    assert.equal(classifyRcpt(rcpt('<x@evil.example.com>', 'x', 'evil.example.com'), local).kind, 'remote')
  })
  test('internationalised domains: host_list entries and recipient hosts compare as A-labels', () => {
    // Haraka hands plugins the A-label (<u@b\u00fccher.example> has host xn--bcher-kva.example); host_list may hold either form.
    const idn = {
      domains: new Set(['B\u00fccher.Example', 'xn--caf-dma.example'].map(canonicalDomain)),
      ips: new Set<string>(),
      listening: '',
    }
    const ours = { kind: 'local', rule: 'local_domain' }
    assert.deepEqual(classifyRcpt(rcpt('<u@b\u00fccher.example>', 'u', 'xn--bcher-kva.example'), idn), ours)
    assert.deepEqual(classifyRcpt(rcpt('<u@B\u00dcCHER.example>', 'u', 'B\u00dcCHER.example'), idn), ours)
    assert.deepEqual(classifyRcpt(rcpt('<u@caf\u00e9.example>', 'u', 'xn--caf-dma.example'), idn), ours)
    assert.equal(
      classifyRcpt(rcpt('<u@xn--bcher-kva.example>', 'u', 'xn--bcher-kva.example.'), idn).kind,
      'remote',
    )
    assert.equal(canonicalDomain('B\u00fccher.example.'), 'xn--bcher-kva.example.')
    assert.equal(canonicalDomain('Example.COM'), 'example.com')
  })
  test('the bare <postmaster> is ours (RFC 5321 4.5.1); another bare local part is not', () => {
    assert.deepEqual(classifyRcpt(rcpt('<Postmaster>', 'Postmaster', ''), local), {
      kind: 'local',
      rule: 'postmaster',
    })
    assert.deepEqual(classifyRcpt(rcpt('<alice>', 'alice', ''), local), {
      kind: 'remote',
      addressLiteral: false,
    })
  })
  test('an address literal is ours only when it is one of our IPs', () => {
    assert.deepEqual(classifyRcpt(rcpt('<a@[127.0.0.5]>', 'a', '[127.0.0.5]'), local), {
      kind: 'local',
      rule: 'local_address_literal',
    })
    assert.deepEqual(classifyRcpt(rcpt('<a@[IPv6:2001:db8:0::25]>', 'a', '[ipv6:2001:db8:0::25]'), local), {
      kind: 'local',
      rule: 'local_address_literal',
    })
    assert.deepEqual(classifyRcpt(rcpt('<a@[192.0.2.1]>', 'a', '[192.0.2.1]'), local), {
      kind: 'remote',
      addressLiteral: true,
    })
    assert.deepEqual(classifyRcpt(rcpt('<a@[tag:127.0.0.5]>', 'a', '[tag:127.0.0.5]'), local), {
      kind: 'remote',
      addressLiteral: true,
    })
  })
  test('tricks win over a local domain', () => {
    assert.deepEqual(
      classifyRcpt(rcpt('<u%remote.example@example.com>', 'u%remote.example', 'example.com'), local),
      { kind: 'trick', trick: 'percent_hack' },
    )
    // Haraka drops the route from user/domain; the raw path still shows it.
    assert.deepEqual(classifyRcpt(rcpt('<@example.com:u@remote.example>', 'u', 'remote.example'), local), {
      kind: 'trick',
      trick: 'source_route',
    })
  })
})

describe('relayRule', () => {
  const nobody = { authenticated: false, trustedNetwork: false, popBeforeSmtp: false }
  test('denied unless authenticated, trusted or granted, in that order', () => {
    assert.equal(relayRule(nobody), null)
    assert.equal(relayRule({ ...nobody, authenticated: true, trustedNetwork: true }), 'authenticated')
    assert.equal(relayRule({ ...nobody, trustedNetwork: true, popBeforeSmtp: true }), 'trusted_network')
    assert.equal(relayRule({ ...nobody, popBeforeSmtp: true }), 'pop_before_smtp')
  })
})

describe('judgeRcpt', () => {
  const asked: string[] = []
  const ctx = (
    over: { verify?: boolean; exists?: boolean; auth?: boolean; trusted?: boolean; grant?: boolean } = {},
  ) => ({
    local,
    verifyRecipients: over.verify ?? false,
    recipientExists: async () => (asked.push('recipient'), over.exists ?? true),
    client: {
      ip: '192.0.2.9',
      authenticated: over.auth ?? false,
      trustedNetwork: over.trusted ?? false,
      popGrant: async () => (asked.push('grant'), over.grant ?? false),
    },
  })
  test('a trick: fail rcpt(<trick>), its 550 5.7.1, even for an authenticated session', async () => {
    const d = await judgeRcpt(
      rcpt('<u%remote.example@example.com>', 'u%remote.example', 'example.com'),
      ctx({ auth: true }),
    )
    assert.equal(d.verdict, 'fail')
    assert.equal(d.reason, 'percent_hack')
    assert.deepEqual(d.reply, { code: 550, enh: '5.7.1', text: 'Relaying denied: percent hack' })
    assert.equal(d.detail, 'relaying denied: percent hack')
  })
  test('ours: accepted by the rule that made it ours; verified when asked, postmaster never', async () => {
    asked.length = 0
    assert.equal((await judgeRcpt(rcpt('<a@example.com>', 'a', 'example.com'), ctx())).reason, 'local_domain')
    assert.equal(
      (await judgeRcpt(rcpt('<a@example.com>', 'a', 'example.com'), ctx({ verify: true }))).reason,
      'local_user',
    )
    const unknown = await judgeRcpt(
      rcpt('<a@example.com>', 'a', 'example.com'),
      ctx({ verify: true, exists: false }),
    )
    assert.equal(unknown.reason, 'unknown_user')
    assert.equal(unknown.reply, REPLIES.RCPT_UNKNOWN_USER)
    assert.deepEqual(asked, ['recipient', 'recipient'])
    const pm = await judgeRcpt(
      rcpt('<PostMaster@example.com>', 'PostMaster', 'example.com'),
      ctx({ verify: true }),
    )
    assert.equal(pm.reason, 'local_domain')
    assert.equal(
      (await judgeRcpt(rcpt('<postmaster>', 'postmaster', ''), ctx({ verify: true }))).reason,
      'postmaster',
    )
    assert.deepEqual(asked, ['recipient', 'recipient'])
  })
  test('elsewhere: authenticated, trusted network (relaying), a grant (relaying), else denied', async () => {
    asked.length = 0
    const remote = rcpt('<x@remote.example>', 'x', 'remote.example')
    assert.deepEqual(await judgeRcpt(remote, ctx({ auth: true })), {
      plugin: 'auth_relay',
      rule: 'rcpt',
      verdict: 'pass',
      reason: 'authenticated',
    })
    const trusted = await judgeRcpt(remote, ctx({ trusted: true }))
    assert.equal(trusted.reason, 'trusted_network')
    assert.equal(trusted.relaying, true)
    assert.deepEqual(asked, [], 'no grant is looked up for AUTH or a trusted network')
    const granted = await judgeRcpt(remote, ctx({ grant: true }))
    assert.equal(granted.reason, 'pop_before_smtp')
    assert.equal(granted.relaying, true)
    const denied = await judgeRcpt(remote, ctx())
    assert.equal(denied.reason, 'relay_denied')
    assert.equal(denied.reply, REPLIES.RELAY_DENIED)
    assert.equal(denied.detail, 'relaying denied for unauthenticated 192.0.2.9')
    const literal = await judgeRcpt(rcpt('<a@[192.0.2.1]>', 'a', '[192.0.2.1]'), ctx())
    assert.equal(literal.reply, REPLIES.RELAY_DENIED_IP_LITERAL)
    assert.equal(
      literal.detail,
      'relaying denied: address literal is not ours, for unauthenticated 192.0.2.9',
    )
  })
  test('a directory that cannot tell rejects: the hook answers 451', async () => {
    const down = { ...ctx({ verify: true }), recipientExists: () => Promise.reject(new Error('down')) }
    await assert.rejects(judgeRcpt(rcpt('<a@example.com>', 'a', 'example.com'), down), /down/)
  })
})
