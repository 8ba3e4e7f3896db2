// Where the repository is, for tests and the harness (compiled to dist/test/harness).
import path from 'node:path'

export const REPO = path.resolve(__dirname, '../../..')
export const FIXTURE_DIR = path.join(REPO, 'test/fixtures')
