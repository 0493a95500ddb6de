#!/usr/bin/env bash
# Verify the workflows of this folder in a real n8n against a running agent-service.
#
#   AGENT_SERVICE_URL=http://127.0.0.1:8000 AGENT_API_KEY=$(cat data/api_key) \
#       n8n_workflows/verify.sh [workflow-name ...]
#
# Installs n8n $N8N_VERSION from npm into $N8N_DIR (once; minutes), imports the
# credentials (make_credentials.py) and every workflow into a fresh user folder, runs each
# with `n8n execute` and checks its Result node (verify.py). Exit 0 only when all passed.
# Not part of CI: the install takes minutes. Needs node >= 20, npm, python3.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
N8N_VERSION="${N8N_VERSION:-1.123.81}"
N8N_DIR="${N8N_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vectra-n8n-$N8N_VERSION}"
: "${AGENT_SERVICE_URL:?set AGENT_SERVICE_URL to the running service, e.g. http://127.0.0.1:8000}"
: "${AGENT_API_KEY:?set AGENT_API_KEY to a key of the service}"

N8N="$N8N_DIR/node_modules/.bin/n8n"
if [ ! -x "$N8N" ] || [ "$("$N8N" --version 2>/dev/null)" != "$N8N_VERSION" ]; then
  echo "installing n8n $N8N_VERSION into $N8N_DIR (takes minutes)"
  mkdir -p "$N8N_DIR"
  # xlsx's own CDN tarball is unreachable from many networks: take the registry's 0.18.5;
  # isolated-vm 5.0.4 builds against node 20
  cat > "$N8N_DIR/package.json" <<JSON
{"name": "vectra-n8n", "private": true, "version": "0.0.0",
 "overrides": {"xlsx": "0.18.5", "isolated-vm": "5.0.4"}}
JSON
  (cd "$N8N_DIR" && npm install --no-audit --no-fund --loglevel=error "n8n@$N8N_VERSION" \
     && npm rebuild sqlite3 isolated-vm)
fi

if ! curl -fsS -o /dev/null --max-time 10 "${AGENT_SERVICE_URL%/}/health"; then
  echo "the service does not answer at $AGENT_SERVICE_URL/health" >&2
  exit 1
fi
exec python3 "$HERE/verify.py" --n8n "$N8N" "$@"
