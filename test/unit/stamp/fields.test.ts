import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { authPassClause, authResultsValue, authservIdOf, isAuthClause } from '../../../lib/mail/auth_results'
import {
  canonicalFieldValue,
  fieldName,
  fieldNameForLog,
  fieldValue,
  headerFieldsOf,
  isMalformedField,
  rawFieldValue,
  unfold,
} from '../../../lib/mail/fields'
import { ourFields, type ForgeryRule } from '../../../lib/stamp/fields'
import { receivedAuthComment } from '../../../lib/stamp/received'

const rule = { identityHeaders: new Set(['x-authenticated-user']), authservId: 'mail.example.com' }
/** The indexes of the fields a client supplied that would impersonate our stamp. */
const forgedFieldIndexes = (fields: string[], r: ForgeryRule) => ourFields(fields, r).map((f) => f.index)

describe('ourFields: the forged copies', () => {
  test('finds the identity header in any case, folded, or with space before the colon', () => {
    const fields = [
      'Subject: hi\n',
      'x-AUTHENTICATED-user: ceo@example.com\n',
      'X-Authenticated-User:\n\tceo@example.com\n',
      'X-Authenticated-User : ceo@example.com\n',
      'X-Authenticated-Username: not-ours\n',
    ]
    assert.deepEqual(forgedFieldIndexes(fields, rule), [1, 2, 3])
  })

  test('removes A-R claiming our authserv-id, keeps other servers\u2019 ones', () => {
    const fields = [
      'Authentication-Results: mail.example.com; auth=pass smtp.auth=ceo\n',
      'Authentication-Results: MAIL.EXAMPLE.COM 1; spf=pass\n',
      'Original-Authentication-Results: mail.example.com; auth=pass\n',
      'Authentication-Results: (comment) mail.example.com; dkim=pass\n',
      'Authentication-Results: mx.other.example; spf=pass\n',
      'Authentication-Results: mail.example.com.evil; auth=pass\n',
    ]
    assert.deepEqual(forgedFieldIndexes(fields, rule), [0, 1, 2, 3])
  })

  test('removes A-R whose id is ours in any RFC 8601/5322 spelling, and A-R that cannot be read (fail closed)', () => {
    const fields = [
      'Authentication-Results : "mail.example.com"; auth=pass smtp.auth=ceo@example.com\n',
      'Original-Authentication-Results: "mail.example.com"; auth=pass smtp.auth=ceo@example.com\n',
      'Authentication-Results : mail.example.com.; auth=pass smtp.auth=ceo@example.com\n',
      'Original-Authentication-Results: ((x)) mail.example.com; auth=pass smtp.auth=ceo@example.com\n',
      'Authentication-Results: (;) mail.example.com; auth=pass smtp.auth=ceo@example.com\n',
      'Authentication-Results: (unclosed mail.example.com; auth=pass\n',
      'Authentication-Results: "mx.other.example"; spf=pass\n',
      'Authentication-Results: (c) mx.other.example.; spf=pass\n',
    ]
    assert.deepEqual(forgedFieldIndexes(fields, rule), [0, 1, 2, 3, 4, 5])
    assert.deepEqual(
      forgedFieldIndexes(fields, { ...rule, authservId: 'MAIL.Example.COM.' }),
      [0, 1, 2, 3, 4, 5],
    )
  })
})

describe('field helpers', () => {
  test('fieldName and fieldValue unfold and trim', () => {
    assert.equal(fieldName('X-A : b\n'), 'x-a')
    assert.equal(fieldValue('X-A:\n\tb\n c\n'), 'b c')
    assert.equal(fieldName('no colon here\n'), '')
  })
  test('rawFieldValue is the value as written (folds kept); unfold undoes the folds of any value', () => {
    assert.equal(rawFieldValue('X-A: b;\r\n\tc\n'), ' b;\r\n\tc\n')
    assert.equal(rawFieldValue('no colon here\n'), '')
    assert.equal(unfold(' mail.example.com;\r\n\tauth=pass \n'), 'mail.example.com; auth=pass')
  })
  test('fieldName is the ftext name (%d33-57 / %d59-126), optionally followed by WSP before the colon', () => {
    assert.equal(fieldName('From: a\n'), 'from')
    assert.equal(fieldName('From \t : a\n'), 'from')
    assert.equal(fieldName('X-!#$%&*+/=?^_`{|}~9: a\n'), 'x-!#$%&*+/=?^_`{|}~9')
    for (const f of ['From: a\n', 'X-A : b\n', 'Subject:\n', 'From\t: a\n'])
      assert.equal(isMalformedField(f), false, JSON.stringify(f))
  })
  test('a name with a C0 control anywhere, DEL, white space inside, 8-bit or Unicode letters, or no name is malformed: no name at all', () => {
    const names: string[] = []
    for (let c = 0; c < 0x20; c++) {
      const ch = String.fromCharCode(c)
      if (c !== 0x09) names.push(`From${ch}`, `X-Authenticated-User${ch} `)
      names.push(`${ch}Authentication-Results`, `Fr${ch}om`)
    }
    names.push(
      'From\x7f',
      'Fr om',
      '\u017Fender',
      'X-Authent\u0131cated-User',
      'X-Authent\u0130cated-User',
      'Resent-\u212Aey',
      'From\u00a0',
      '\ufeffFrom',
      '\u00e9',
      '',
    )
    for (const name of names) {
      const field = `${name}: ceo@example.com\n`
      assert.equal(fieldName(field), '', JSON.stringify(field))
      assert.equal(isMalformedField(field), true, JSON.stringify(field))
    }
    assert.equal(isMalformedField('no colon here\n'), true)
    assert.equal(
      isMalformedField('garbage\r\n\tFrom: bob@example.com\n'),
      true,
      'a colon only on a continuation line',
    )
  })
  test('fieldNameForLog shows every character outside printable ASCII as <U+XXXX>, at most 60 characters', () => {
    assert.equal(fieldNameForLog('From\x00: bob@example.com\n'), 'From<U+0000>')
    assert.equal(fieldNameForLog('\x01Authentication-Results: x\n'), '<U+0001>Authentication-Results')
    assert.equal(fieldNameForLog('\u017Fender: x\n'), '<U+017F>ender')
    assert.equal(fieldNameForLog('\u{1F600}\x7f: x\n'), '<U+1F600><U+007F>')
    assert.equal(fieldNameForLog('no colon here\n\tmore\n'), 'no colon here')
    assert.equal(fieldNameForLog(`${'x'.repeat(100)}\x00: y\n`), `${'x'.repeat(60)}...`)
  })
  test('authservIdOf', () => {
    assert.equal(authservIdOf('mail.example.com; auth=pass'), 'mail.example.com')
    assert.equal(authservIdOf(' Mail.Example.com 1 ; x'), 'mail.example.com')
    assert.equal(authservIdOf('mail.example.com'), 'mail.example.com')
  })
  test('authservIdOf reads the id as RFC 8601/5322 do: quoted, trailing dot, nested comments, comments with ; or quoted-pairs', () => {
    assert.equal(authservIdOf('"mail.example.com"; auth=pass'), 'mail.example.com')
    assert.equal(authservIdOf('"MAIL.example.com" 1; auth=pass'), 'mail.example.com')
    assert.equal(authservIdOf('"mail\\.example.com"; auth=pass'), 'mail.example.com')
    assert.equal(authservIdOf('mail.example.com.; auth=pass'), 'mail.example.com')
    assert.equal(authservIdOf('((x)) mail.example.com; auth=pass'), 'mail.example.com')
    assert.equal(authservIdOf('(a (b (c)) d) mail.example.com; auth=pass'), 'mail.example.com')
    assert.equal(authservIdOf('(;) mail.example.com; auth=pass'), 'mail.example.com')
    assert.equal(authservIdOf('(x; y) mail.example.com; auth=pass'), 'mail.example.com')
    assert.equal(authservIdOf('(\\)) mail.example.com; auth=pass'), 'mail.example.com')
    assert.equal(authservIdOf('(\\() mail.example.com; auth=pass'), 'mail.example.com')
    assert.equal(authservIdOf('mail.example.com(c);auth=pass'), 'mail.example.com')
    assert.equal(authservIdOf('mail.example.com (c) 1 (d) ; auth=pass'), 'mail.example.com')
    assert.equal(authservIdOf('mx.other.example; spf=pass'), 'mx.other.example')
    assert.equal(authservIdOf('mail.b\u00fccher.example; spf=pass'), 'mail.xn--bcher-kva.example')
  })
  test('authservIdOf is null for what cannot be read (the caller treats it as ours)', () => {
    for (const value of [
      '',
      '   ',
      '(unclosed mail.example.com; auth=pass',
      '((x) mail.example.com; auth=pass',
      '"mail.example.com; auth=pass',
      '""; auth=pass',
      '(c)',
      'mail.example.com@x; auth=pass',
      'mail.example.com x; auth=pass',
      'mail.example.com 1 2; auth=pass',
      '=?utf-8?q?mail.example.com?=; auth=pass',
      '; auth=pass',
    ]) {
      assert.equal(authservIdOf(value), null, JSON.stringify(value))
    }
  })
  test('authResultsValue quotes what is not a plain token or address', () => {
    assert.equal(authResultsValue('alice@example.com'), 'alice@example.com')
    assert.equal(authResultsValue('bob'), 'bob')
    assert.equal(authResultsValue('o"brien x'), '"o\\"brien x"')
    assert.equal(authResultsValue('a;b'), '"a;b"')
  })
})

describe('malformed names are never classified', () => {
  test('identity, stamp and A-R fields with a control (even one JS trim() removes), DEL or a Unicode case fold in the name are not ours here (lib/stamp/plan removes them as malformed)', () => {
    const fields = [
      'X-Authenticated-User\x1f: ceo@example.com\n',
      'X-Authenticated-User\x0b: ceo@example.com\n',
      '\x0cX-Authenticated-User: ceo@example.com\n',
      '\x01Authentication-Results: mail.example.com; auth=pass (plain) smtp.auth=ceo@example.com\n',
      'Authentication-Results\x7f: mail.example.com; auth=pass smtp.auth=ceo@example.com\n',
      'X-Auth-\u017Ftamp: v=1\n',
    ]
    assert.deepEqual(ourFields(fields, { ...rule, stampHeaders: new Set(['x-auth-stamp']) }), [])
  })
})

describe('stamp headers and Haraka\u2019s own pending A-R', () => {
  const full = { ...rule, stampHeaders: new Set(['x-auth-stamp']) }

  test('stamp headers are ours too, in any spelling', () => {
    const fields = ['X-Auth-Stamp: v=1\n', 'x-auth-stamp : v=1\n', 'X-Auth-Stamped: no\n']
    assert.deepEqual(
      ourFields(fields, full).map((f) => [f.index, f.kind]),
      [
        [0, 'stamp'],
        [1, 'stamp'],
      ],
    )
  })

  test('the A-R field Haraka appended at end of DATA is left alone, a client copy of it is not', () => {
    const pending = 'mail.example.com;\r\n\tauth=pass (plain) smtp.auth=alice@example.com'
    const fields = [
      'Authentication-Results: mail.example.com; auth=pass (plain) smtp.auth=alice@example.com\n',
      'Subject: x\n',
      `Authentication-Results: ${pending}\n`,
    ]
    assert.deepEqual(forgedFieldIndexes(fields, { ...full, pendingAuthResults: pending }), [0])
    assert.deepEqual(forgedFieldIndexes(fields, full), [0, 2])
  })
})

describe('parsing a saved message', () => {
  test('headerFieldsOf keeps folds inside their field and stops at the blank line', () => {
    const eml = 'A: 1\r\nB: 2\r\n\tmore\r\n  and more\r\nC : 3\r\n\r\nBody: not a header\r\n'
    assert.deepEqual(headerFieldsOf(eml), ['A: 1\n', 'B: 2\r\n\tmore\r\n  and more\n', 'C : 3\n'])
    assert.equal(canonicalFieldValue(headerFieldsOf(eml)[1]!), '2 more and more')
  })
})

describe('Authentication-Results resinfo', () => {
  test('authResultsValue writes a pvalue: token, local-part@domain, or quoted-string', () => {
    assert.equal(authResultsValue('john doe@example.com'), '"john doe"@example.com')
    assert.equal(authResultsValue('a/b'), '"a/b"')
    assert.equal(authResultsValue('x=y@example.com'), 'x=y@example.com')
    assert.equal(authResultsValue('a@b@example.com'), '"a@b"@example.com')
    assert.equal(authResultsValue('bad@dom ain'), '"bad@dom ain"')
    assert.equal(authResultsValue('a\r\nb'), '"ab"')
    assert.equal(authResultsValue('"x\\"y"@example.com'), '"x\\"y"@example.com')
    assert.equal(authResultsValue('"unterminated@example.com'), '"\\"unterminated"@example.com')
  })

  test('authPassClause: one resinfo with smtp.auth and smtp.mailfrom', () => {
    assert.equal(
      authPassClause({ login: 'alice', mechanism: 'PLAIN', mailFrom: 'alice@example.com' }),
      'auth=pass (plain) smtp.auth=alice smtp.mailfrom=alice@example.com',
    )
    assert.equal(
      authPassClause({ login: 'alice@example.com', mechanism: 'LOGIN', mailFrom: '' }),
      'auth=pass (login) smtp.auth=alice@example.com',
    )
    assert.equal(
      authPassClause({ login: 'o"brien', mechanism: 'x(y)' }),
      'auth=pass (xy) smtp.auth="o\\"brien"',
    )
    assert.equal(authPassClause({ login: 'a' }), 'auth=pass smtp.auth=a')
    assert.equal(
      authPassClause({ login: 'bob', mechanism: 'plain', mailFrom: '"odd one"@example.com' }),
      'auth=pass (plain) smtp.auth=bob smtp.mailfrom="odd one"@example.com',
    )
  })

  test('isAuthClause finds auth= results only', () => {
    assert.ok(isAuthClause('auth=pass (plain) smtp.auth=x'))
    assert.ok(isAuthClause(' AUTH = fail'))
    assert.ok(!isAuthClause('spf=pass smtp.mailfrom=x'))
    assert.ok(!isAuthClause('iprev=pass policy.authenticated=x'))
  })
})

describe('Received comment', () => {
  test('without a login (privacy) and with one', () => {
    assert.equal(receivedAuthComment(), '(authenticated bits=0)')
    assert.equal(receivedAuthComment('alice@example.com'), '(authenticated user=alice@example.com bits=0)')
  })
  test('a login can neither close the comment nor break the line', () => {
    assert.equal(receivedAuthComment('a)b(c\\d'), '(authenticated user=a\\)b\\(c\\\\d bits=0)')
    assert.equal(receivedAuthComment('x\r\n\tBcc: y'), '(authenticated user=x???Bcc: y bits=0)')
    assert.equal(receivedAuthComment('jörg😀'), '(authenticated user=j?rg? bits=0)')
  })
})
