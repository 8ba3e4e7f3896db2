// lib/ldap/errors: which LDAP failures are answers about the request and which
// are the server's or the transport's, and the error an operation ends with.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  BusyError,
  InsufficientAccessError,
  InvalidCredentialsError,
  NoSuchObjectError,
  SizeLimitExceededError,
  UnavailableError,
  UnknownStatusCodeError,
  UnwillingToPerformError,
} from 'ldapts'
import {
  describeLdapError,
  DirectoryBusyError,
  DirectoryUnavailableError,
  failureKind,
  isAnswer,
  isHidden,
  isNoSuchObject,
  isServerFailure,
  isTimeout,
  isTooManyMatches,
  isWrongPassword,
  unavailable,
} from '../../../lib/ldap/errors'
import { PoolTimeoutError } from '../../../lib/ldap/pool'

const refusals = [
  new BusyError(),
  new UnavailableError(),
  new UnwillingToPerformError(),
  new UnknownStatusCodeError(80),
]
const answers = [
  new NoSuchObjectError(),
  new InsufficientAccessError(),
  new InvalidCredentialsError(),
  new SizeLimitExceededError(),
]
const dropped = new Error('Connection closed')
const timedOut = new Error('Timeout: search request timed out')

describe('result-code classification', () => {
  test('busy, unavailable, unwillingToPerform and other (51, 52, 53, 80) are the server refusing to serve', () => {
    for (const err of refusals) {
      assert.equal(isServerFailure(err), true, err.message)
      assert.equal(isAnswer(err), false, err.message)
      assert.equal(failureKind(err), 'refused to serve')
    }
  })
  test('any other result code is an answer about the request; a transport failure is neither', () => {
    for (const err of answers) {
      assert.equal(isAnswer(err), true, err.constructor.name)
      assert.equal(isServerFailure(err), false, err.constructor.name)
    }
    for (const err of [dropped, timedOut, 'not an error']) {
      assert.equal(isAnswer(err), false)
      assert.equal(isServerFailure(err), false)
    }
  })
  test('the answers callers turn into a result: no such entry, hidden from the user, wrong password, too many matches', () => {
    assert.equal(isNoSuchObject(new NoSuchObjectError()), true)
    assert.equal(isNoSuchObject(new InsufficientAccessError()), false)
    assert.equal(isHidden(new NoSuchObjectError()), true)
    assert.equal(isHidden(new InsufficientAccessError()), true)
    assert.equal(isHidden(new BusyError()), false)
    assert.equal(isWrongPassword(new InvalidCredentialsError()), true)
    assert.equal(isWrongPassword(new InsufficientAccessError()), false)
    assert.equal(isTooManyMatches(new SizeLimitExceededError()), true)
    assert.equal(isTooManyMatches(new NoSuchObjectError()), false)
  })
  test('why a server is marked down: refused to serve, timeout, or connection failed', () => {
    assert.equal(isTimeout(timedOut), true)
    assert.equal(isTimeout(new Error('connect timeout after 3000 ms')), true)
    assert.equal(isTimeout(dropped), false)
    assert.equal(failureKind(timedOut), 'timeout')
    assert.equal(failureKind(dropped), 'connection failed')
  })
  test('a log line names the LDAP result code, else the message', () => {
    assert.match(describeLdapError(new BusyError('try later')), /^LDAP result 51: try later\b/)
    assert.equal(describeLdapError(dropped), 'Connection closed')
  })
})

describe('unavailable: the error an operation fails with', () => {
  test('a full pool while a server is up is busy (load); while all are down it is the outage', () => {
    const full = new PoolTimeoutError('no free connection within 5000 ms')
    const busy = unavailable('search', full, true)
    assert.ok(busy instanceof DirectoryBusyError)
    assert.ok(busy instanceof DirectoryUnavailableError, 'busy is still a temporary failure')
    assert.equal(busy.message, 'search failed: connection pool busy: no free connection within 5000 ms')
    assert.equal(busy.cause, full)
    const down = unavailable('search', full, false)
    assert.ok(!(down instanceof DirectoryBusyError))
    assert.equal(down.message, 'search failed: no free connection within 5000 ms')
  })
  test('anything else is unavailable with the operation and the LDAP detail; a directory error keeps its class', () => {
    const e = unavailable('bind', new UnavailableError('shutting down'), true)
    assert.equal(e.name, 'DirectoryUnavailableError')
    assert.match(e.message, /^bind failed: LDAP result 52: shutting down\b/)
    const own = new DirectoryBusyError('read failed: connection pool busy')
    assert.equal(unavailable('read', own, false), own)
  })
})
