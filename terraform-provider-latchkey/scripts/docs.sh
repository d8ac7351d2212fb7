#!/usr/bin/env bash
# Generates docs/ from the provider's schema, examples/ and templates/ with tfplugindocs, offline:
# the schema comes from `tofu providers schema -json` against a local build (dev_overrides), so
# tfplugindocs neither builds the provider nor downloads Terraform. Then Prettier formats the
# result as it formats every other Markdown file in the repository.
#   scripts/docs.sh          writes docs/
#   scripts/docs.sh --check  generates into a temporary folder and fails if docs/ differs
set -euo pipefail
cd "$(dirname "$0")/.."
here=$PWD
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CHECKPOINT_DISABLE=1
CACHE=${LATCHKEY_TOOL_CACHE:-$HOME/.cache/latchkey}
GO_TOOLS=$(bash scripts/tools.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/bin/" .
mkdir -p "$work/schema"
cat > "$work/dev.tfrc" <<RC
provider_installation {
  dev_overrides {
    "registry.opentofu.org/latchkey/latchkey" = "$work/bin"
  }
  filesystem_mirror {
    path = "$work/no-mirror"
  }
}
RC
cat > "$work/schema/main.tf" <<'TF'
terraform {
  required_providers {
    latchkey = { source = "latchkey/latchkey" }
  }
}
TF
(cd "$work/schema" && TF_CLI_CONFIG_FILE="$work/dev.tfrc" "$CACHE/tofu-1.12.6/tofu" providers schema -json) > "$work/schema.raw.json"
# tfplugindocs looks the provider up by its short name.
python3 - "$work/schema.raw.json" "$work/schema.json" <<'PY'
import json, sys
raw = json.load(open(sys.argv[1]))
raw["provider_schemas"] = {"latchkey": raw["provider_schemas"]["registry.opentofu.org/latchkey/latchkey"]}
json.dump(raw, open(sys.argv[2], "w"))
PY

target=$here
if [ "${1:-}" = "--check" ]; then
  target=$work/src
  mkdir -p "$target"
  cp -r examples templates "$target/"
fi
"$GO_TOOLS/tfplugindocs" generate --provider-dir "$target" --provider-name latchkey \
  --rendered-provider-name Latchkey --providers-schema "$work/schema.json" > "$work/tfplugindocs.log" 2>&1 ||
  { cat "$work/tfplugindocs.log"; exit 1; }
prettier=$here/../node_modules/.bin/prettier
if [ -x "$prettier" ]; then
  (cd "$here/.." && "$prettier" --config .prettierrc.json --log-level warn --write "$target/docs")
else
  echo "docs: Prettier is not installed (run npm ci at the repository root); docs/ left as generated" >&2
fi

if [ "${1:-}" = "--check" ]; then
  if ! diff -ru docs "$target/docs"; then
    echo "docs/ is out of date: run terraform-provider-latchkey/scripts/docs.sh" >&2
    exit 1
  fi
  echo "docs/ is up to date"
fi
