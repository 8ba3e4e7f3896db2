// Header alignment: reading From/Sender the way a mail reader does, and the verdict.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  addressCountProblem,
  addressesToCheck,
  identitySizeProblem,
  judgeAlignment,
  readIdentityHeaders,
  senderFieldIndexes,
} from '../../../lib/authz/headers'

const mine = new Set(['alice@example.com', 'a.liddell@example.com'])
const owns = (a: string) => mine.has(a.toLowerCase())
const verdict = (fields: string[]) => judgeAlignment(readIdentityHeaders(fields), owns)

describe('readIdentityHeaders', () => {
  test('every From address and every copy of the field, any case, obsolete space before the colon, folded', () => {
    const fields = [
      'Subject: hi\n',
      'From: "Alice" <alice@example.com>,\n\tBob <BOB@Example.com>\n',
      'from : x@example.net\n',
      'SENDER: alice@example.com\n',
    ]
    const h = readIdentityHeaders(fields)
    assert.ok(h.ok)
    assert.deepEqual(h.from, ['alice@example.com', 'BOB@example.com', 'x@example.net'])
    assert.deepEqual(h.sender, ['alice@example.com'])
    assert.deepEqual(senderFieldIndexes(fields), [3])
    assert.deepEqual(addressesToCheck(h), ['alice@example.com', 'BOB@example.com', 'x@example.net'])
  })
  test('groups, garbage, empty values, several Sender fields or mailboxes are unparseable', () => {
    for (const fields of [
      ['From: Team: alice@example.com;\n'],
      ['From: <<<\n'],
      ['From:\n'],
      ['Sender: a@example.com, b@example.com\n'],
      ['Sender: alice@example.com\n', 'Sender: alice@example.com\n'],
    ]) {
      const h = readIdentityHeaders(fields)
      assert.equal(h.ok, false, JSON.stringify(fields))
      assert.equal(addressesToCheck(h).length, 0)
    }
  })
})

describe('judgeAlignment', () => {
  test('own From, no Sender: aligned; no From at all: nothing claimed', () => {
    assert.deepEqual(verdict(['From: Alice <alice@example.com>\n']), { ok: true })
    assert.deepEqual(verdict(['Subject: x\n']), { ok: true })
  })
  test("a From address that is not the login's, even among own ones, or behind a display name", () => {
    assert.deepEqual(verdict(['From: bob@example.com\n']), {
      ok: false,
      problem: 'from_not_owned',
      detail: 'From: bob@example.com',
    })
    assert.equal(
      verdict(['From: alice@example.com, bob@example.com\n', 'Sender: alice@example.com\n']).ok,
      false,
    )
    assert.equal(verdict(['From: "alice@example.com" <bob@example.com>\n']).ok, false)
    assert.equal(
      verdict(['From: alice@example.com\n', 'From : bob@example.com\n', 'Sender: alice@example.com\n']).ok,
      false,
    )
    assert.equal(verdict(['From: "bob"@example.com\n']).ok, false)
  })
  test('Sender must be owned; several From addresses need one (RFC 5322 3.6.2)', () => {
    assert.deepEqual(verdict(['From: alice@example.com\n', 'Sender: bob@example.com\n']), {
      ok: false,
      problem: 'sender_not_owned',
      detail: 'Sender: bob@example.com',
    })
    assert.deepEqual(verdict(['From: alice@example.com, a.liddell@example.com\n']), {
      ok: false,
      problem: 'sender_required',
      detail: '2 From addresses and no Sender',
    })
    assert.deepEqual(
      verdict(['From: alice@example.com, a.liddell@example.com\n', 'Sender: alice@example.com\n']),
      { ok: true },
    )
  })
  test('unparseable headers are refused, not skipped', () => {
    const v = verdict(['From: Team: bob@example.com;\n'])
    assert.equal(v.ok, false)
    assert.equal(!v.ok && v.problem, 'unparseable')
  })
})

describe('malformed field names (issue 10 item 1)', () => {
  test('a name that a Java or PHP reader may take for From/Sender (controls it trims, Unicode case folds) is refused, not skipped', () => {
    for (const name of [
      'From\x00',
      'From\x1f',
      '\x01From',
      'From\x0b',
      'Fr\x00om',
      'Sender\x7f',
      '\u017Fender',
      'Re\u017Fent-From',
      'Resent-Sender\x1f',
    ]) {
      const fields = ['From: alice@example.com\n', `${name}: bob@example.com\n`]
      const v = verdict(fields)
      assert.equal(v.ok, false, JSON.stringify(name))
      assert.equal(!v.ok && v.problem, 'malformed_field_name', JSON.stringify(name))
      assert.equal(addressesToCheck(readIdentityHeaders(fields)).length, 0)
    }
  })
  test('any malformed name refuses the message (no list of look-alikes to keep up to date); the detail names it log-safe', () => {
    assert.deepEqual(verdict(['From: alice@example.com\n', 'X-Mailer\x00: x\n']), {
      ok: false,
      problem: 'malformed_field_name',
      detail: 'field name X-Mailer<U+0000>',
    })
    assert.deepEqual(verdict(['From: alice@example.com\n', 'a line without a colon\n']), {
      ok: false,
      problem: 'malformed_field_name',
      detail: 'field name a line without a colon',
    })
    assert.equal(verdict(['From: alice@example.com\n', 'X-Caf\u00e9: x\n']).ok, false)
  })
  test('well-formed names with the obsolete white space before the colon are still read', () => {
    assert.deepEqual(verdict(['From \t: alice@example.com\n', 'X-Odd-!#$%&*+/=?^_`{|}~: x\n']), { ok: true })
    assert.deepEqual(verdict(['From\t: bob@example.com\n']), {
      ok: false,
      problem: 'from_not_owned',
      detail: 'From: bob@example.com',
    })
  })
})

describe('identity field bounds (checked before parsing, and before any lookup)', () => {
  const bounds = { maxBytes: 100, maxAddresses: 3 }
  test('From and Sender fields count together, as received (name and folds included); other fields do not', () => {
    const from = `From: ${'a'.repeat(40)}\r\n <alice@example.com>\n`
    assert.equal(identitySizeProblem([from, 'Subject: '.padEnd(500, 'x') + '\n'], bounds), null)
    const two = identitySizeProblem(
      [from, 'sender : alice@example.com\n', 'FROM: alice@example.com\n'],
      bounds,
    )
    assert.deepEqual(two, {
      problem: 'too_large',
      detail: 'From/Sender fields are 120 bytes (3 field(s)), over the limit of 100',
    })
    // bytes, not UTF-16 units
    assert.equal(identitySizeProblem([`From: ${'é'.repeat(47)}\n`], bounds)?.problem, 'too_large')
    assert.equal(identitySizeProblem([`From: ${'e'.repeat(47)}\n`], bounds), null)
  })
  test('every From and Sender mailbox counts, copies included; an unparseable header is left to the verdict', () => {
    const three = readIdentityHeaders(['From: a@example.com, a@example.com\n', 'Sender: a@example.com\n'])
    assert.equal(addressCountProblem(three, bounds), null)
    const four = readIdentityHeaders([
      'From: a@example.com, a@example.com\n',
      'From: b@example.com\n',
      'Sender: a@example.com\n',
    ])
    assert.deepEqual(addressCountProblem(four, bounds), {
      problem: 'too_many_addresses',
      detail: '4 From/Sender addresses, over the limit of 3',
    })
    assert.equal(addressCountProblem(readIdentityHeaders(['From: <<<\n']), bounds), null)
  })
})
