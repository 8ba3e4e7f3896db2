// lib/deadline: the one deadline mechanism. settleWithin hands a piece of work's
// outcome to exactly one of value, error and timeout, and what comes later to
// late; withDeadline is the same as a promise.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  DeadlineError,
  hookDeadlineMs,
  settleWithin,
  withDeadline,
  type Settlement,
} from '../../lib/deadline'

/** A promise settled by hand, and a Settlement that writes down what it was handed. */
function fixture() {
  let resolve!: (v: string) => void
  let reject!: (e: unknown) => void
  const work = new Promise<string>((res, rej) => ([resolve, reject] = [res, rej]))
  const seen: string[] = []
  const on: Settlement<string> = {
    value: (v) => void seen.push(`value ${v}`),
    error: (e) => void seen.push(`error ${(e as Error).message}`),
    timeout: () => void seen.push('timeout'),
    late: (s) =>
      void seen.push('value' in s ? `late value ${s.value}` : `late error ${(s.error as Error).message}`),
  }
  return { work, resolve, reject, seen, on }
}

describe('settleWithin', () => {
  test('in time: the value, or the error, and no timeout afterwards', async () => {
    const ok = fixture()
    settleWithin(ok.work, 30, ok.on)
    ok.resolve('v')
    const bad = fixture()
    settleWithin(bad.work, 30, bad.on)
    bad.reject(new Error('boom'))
    await sleep(60)
    assert.deepEqual(ok.seen, ['value v'])
    assert.deepEqual(bad.seen, ['error boom'])
  })

  test('after the deadline: timeout once, and a later value or error only goes to late', async () => {
    const slow = fixture()
    settleWithin(slow.work, 10, slow.on)
    await sleep(30)
    slow.resolve('v')
    const failing = fixture()
    settleWithin(failing.work, 10, failing.on)
    await sleep(30)
    failing.reject(new Error('boom'))
    await sleep(10)
    assert.deepEqual(slow.seen, ['timeout', 'late value v'])
    assert.deepEqual(failing.seen, ['timeout', 'late error boom'])
  })
})

describe('settleWithin when a callback throws (a bug)', () => {
  test('value or timeout throwing goes to error; error or late throwing is dropped, never an unhandled rejection', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (err: unknown) => void unhandled.push(err)
    process.on('unhandledRejection', onUnhandled)
    try {
      const v = fixture()
      settleWithin(v.work, 30, {
        ...v.on,
        value: () => {
          throw new Error('in value')
        },
      })
      v.resolve('x')
      const t = fixture()
      settleWithin(t.work, 5, {
        ...t.on,
        timeout: () => {
          throw new Error('in timeout')
        },
      })
      const e = fixture()
      settleWithin(e.work, 30, {
        ...e.on,
        error: () => {
          throw new Error('in error')
        },
      })
      e.reject(new Error('boom'))
      const l = fixture()
      settleWithin(l.work, 5, {
        ...l.on,
        late: () => {
          throw new Error('in late')
        },
      })
      await sleep(20)
      l.resolve('late')
      await sleep(40)
      assert.deepEqual(v.seen, ['error in value'])
      assert.deepEqual(t.seen, ['error in timeout'])
      assert.deepEqual(e.seen, [])
      assert.deepEqual(l.seen, ['timeout'])
      assert.deepEqual(unhandled, [])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})

describe('withDeadline', () => {
  test('rejects with DeadlineError at the deadline, after onTimeout; a late value goes to late', async () => {
    const f = fixture()
    const late: string[] = []
    let timedOut = false
    const p = withDeadline(f.work, 10, 'no answer within 10 ms', {
      onTimeout: () => (timedOut = true),
      late: (v) => void late.push(v),
    })
    await assert.rejects(p, (err) => err instanceof DeadlineError && err.message === 'no answer within 10 ms')
    assert.equal(timedOut, true)
    f.resolve('v')
    await sleep(5)
    assert.deepEqual(late, ['v'])
  })

  test('in time it is the work itself', async () => {
    assert.equal(await withDeadline(Promise.resolve(7), 50, 'x'), 7)
    await assert.rejects(withDeadline(Promise.reject(new Error('own')), 50, 'x'), /own/)
  })
})

describe('hookDeadlineMs', () => {
  test('auth_timeout, never beyond the plugin timeout less a quarter of it (at most 2 s)', () => {
    assert.equal(hookDeadlineMs(25000, 30), 25000)
    assert.equal(hookDeadlineMs(29000, 30), 28000)
    assert.equal(hookDeadlineMs(25000, 3), 2250)
    assert.equal(hookDeadlineMs(25000, 2), 1500)
    assert.equal(hookDeadlineMs(25000, 0.5), 375)
    assert.equal(hookDeadlineMs(25000, 0), 25000, 'Haraka never times the hook out')
    assert.equal(hookDeadlineMs(25000, undefined), 25000)
  })
})
