// Haraka loads this folder as a package-mode plugin. The hooks are TypeScript
// (hooks.ts), compiled by `npm run build` to dist/; this line points there and
// resolves through symlinks, which a package.json "main" of ../../dist would not.
module.exports = require('../../dist/plugins/auth_metrics/hooks.js')
