// nextOnce: next() at most once, and `called` says whether it was (set before next runs).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Next } from 'haraka'
import { endChain, endChainOr, nextOnce } from '../../haraka/next_once'

describe('nextOnce', () => {
  test('passes the first call on, ignores later ones; called is false before and true after', () => {
    const calls: unknown[][] = []
    let calledInside: boolean | undefined
    const once = nextOnce(((...args: unknown[]) => {
      calledInside = once.called
      calls.push(args)
    }) as Next)
    assert.equal(once.called, false)
    once(903, 'first')
    once(902, 'second')
    once()
    assert.deepEqual(calls, [[903, 'first']])
    assert.equal(once.called, true)
    assert.equal(calledInside, true, 'marked called before next runs: a re-entrant call is ignored')
  })

  test('each nextOnce has its own state', () => {
    const a = nextOnce(() => undefined)
    const b = nextOnce(() => undefined)
    a()
    assert.equal(a.called, true)
    assert.equal(b.called, false)
  })

  test('endChain: a rejected chain is logged and answered with the fallback only when not answered yet', async () => {
    const logs: string[] = []
    const calls: unknown[][] = []
    const push = ((...args: unknown[]) => void calls.push(args)) as Next
    const once = nextOnce(push)
    endChain(Promise.reject(new Error('boom')), once, (m) => logs.push(m), 908, 'fallback')
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(calls, [[908, 'fallback']])
    assert.match(logs[0]!, /internal error: Error: boom/)
    const answered = nextOnce(push)
    answered(900)
    endChain(Promise.reject(new Error('late')), answered, (m) => logs.push(m), 908)
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(calls.at(-1), [900])
    assert.equal(logs.length, 2)
  })
  test('endChainOr: the fallback is made only for a broken chain that has not answered', async () => {
    let made = 0
    const fallback = (): [number, string] => (made++, [908, 'fallback'])
    const calls: unknown[][] = []
    const push = ((...args: unknown[]) => void calls.push(args)) as Next
    endChainOr(Promise.resolve('fine'), nextOnce(push), () => undefined, fallback)
    const answered = nextOnce(push)
    answered(900)
    endChainOr(Promise.reject(new Error('late')), answered, () => undefined, fallback)
    await new Promise((r) => setImmediate(r))
    assert.equal(made, 0)
    endChainOr(Promise.reject(new Error('boom')), nextOnce(push), () => undefined, fallback)
    await new Promise((r) => setImmediate(r))
    assert.equal(made, 1)
    assert.deepEqual(calls, [[900], [908, 'fallback']])
  })
})
