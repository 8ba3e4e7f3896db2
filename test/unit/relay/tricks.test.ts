// The relay-trick classifier on raw paths, as a client could write them.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { findTrick } from '../../../lib/relay/tricks'

describe('findTrick', () => {
  const cases: Array<[string, ReturnType<typeof findTrick>]> = [
    ['<user@example.com>', null],
    ['user@example.com', null],
    ['<postmaster>', null],
    ['<"quoted name"@example.com>', null],
    ['<user%remote.example@example.com>', 'percent_hack'],
    ['<user%remote.example%other@example.com>', 'percent_hack'],
    ['<remote.example!user@example.com>', 'bang_path'],
    ['<"user@remote.example"@example.com>', 'quoted_at'],
    ['<"user\\@remote.example"@example.com>', 'quoted_at'],
    ['<"user%remote.example"@example.com>', 'percent_hack'],
    ['<"a!b"@example.com>', 'bang_path'],
    ['<@example.com:user@remote.example>', 'source_route'],
    ['<@a.example,@b.example:user@remote.example>', 'source_route'],
    [' < @example.com:user@remote.example > ', 'source_route'],
    ['<user@remote.example@example.com>', 'double_at'],
    ['<user@@example.com>', 'double_at'],
    ['<"a@b"@remote@example.com>', 'double_at'],
    ['<user@example.com.>', 'trailing_dot'],
    ['<user@[192.0.2.1]>', null],
  ]
  for (const [path, expected] of cases) {
    test(`${path} -> ${expected ?? 'plain'}`, () => assert.equal(findTrick(path), expected))
  }
})
