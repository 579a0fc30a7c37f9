#!/bin/sh
# Builds the extension's .vsix (editors/vscode/trig-VERSION.vsix) with @vscode/vsce, pinned in
# package-lock.json. Installs the locked dependencies first (npm ci), from the cache when it
# can; never edits the lock file.
#
#   editors/vscode/package.sh            # -> editors/vscode/trig-0.1.0.vsix
#   code --install-extension editors/vscode/trig-0.1.0.vsix
set -eu
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1; then
  echo "package.sh: npm is needed (Node 20 or later)" >&2
  exit 2
fi
if [ ! -x node_modules/.bin/vsce ]; then
  npm ci --prefer-offline --no-audit --no-fund
fi
node_modules/.bin/vsce package --no-git-tag-version --allow-missing-repository "$@"
