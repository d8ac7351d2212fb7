#!/usr/bin/env bash
# Builds (once) the binaries the acceptance tests need, from the Go module proxy, into a cache outside
# the repository. Progress goes to stderr; stdout gets one line, the folder of the Go tools:
#   $CACHE/tofu-1.12.6/tofu                                    OpenTofu (no terraform binary can be had)
#   $CACHE/plugin-mirror/registry.opentofu.org/hashicorp/time/0.14.2/linux_amd64/terraform-provider-time_v0.14.2
#   $CACHE/tofurc                                              a CLI config naming that filesystem mirror
#   $CACHE/go-tools-<hash>/{staticcheck,tfplugindocs}           the linter and the docs generator, at the
#                                                              versions pinned in tools/go.mod
# CACHE defaults to ~/.cache/latchkey (LATCHKEY_TOOL_CACHE overrides). Rebuilds only what is missing.
set -euo pipefail
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false

TOFU_VERSION=1.12.6
# OpenTofu's go.mod replaces hcl with its fork; a module that depends on tofu must repeat that replace.
TOFU_HCL_REPLACE='github.com/opentofu/hcl/v2 v2.20.2-0.20251021132045-587d123c2828'
TIME_VERSION=0.14.2

CACHE=${LATCHKEY_TOOL_CACHE:-$HOME/.cache/latchkey}
TOFU_DIR=$CACHE/tofu-$TOFU_VERSION
GOOS_ARCH=$(go env GOOS)_$(go env GOARCH)
MIRROR=$CACHE/plugin-mirror
TIME_DIR=$MIRROR/registry.opentofu.org/hashicorp/time/$TIME_VERSION/$GOOS_ARCH
HERE=$(cd "$(dirname "$0")/.." && pwd)
GO_TOOLS=$CACHE/go-tools-$(cat "$HERE/tools/go.mod" "$HERE/tools/go.sum" | sha256sum | cut -c1-12)
mkdir -p "$CACHE"

# One builder at a time (2 cores shared): a second caller waits for the first and then reuses its work.
exec 9>"$CACHE/.tools.lock"
flock 9

build_in_throwaway_module() { # $1 = go.mod extra lines, $2 = tool package@version, $3 = package, $4 = output, $5 = ldflags
  local w
  w=$(mktemp -d)
  cat > "$w/go.mod" <<MOD
module local/tool-build

go $(go env GOVERSION | sed 's/^go//')

$1
MOD
  (cd "$w" && go get -tool "$2" && go build -trimpath -ldflags "$5" -o "$4.tmp" "$3")
  mv "$4.tmp" "$4"
  rm -rf "$w"
}

if [ ! -x "$TOFU_DIR/tofu" ]; then
  echo "tools: building OpenTofu $TOFU_VERSION into $TOFU_DIR (several minutes, once)" >&2
  mkdir -p "$TOFU_DIR"
  build_in_throwaway_module "godebug (
	tlsmlkem=0
	winsymlink=0
)

replace github.com/hashicorp/hcl/v2 => $TOFU_HCL_REPLACE" \
    "github.com/opentofu/opentofu/cmd/tofu@v$TOFU_VERSION" github.com/opentofu/opentofu/cmd/tofu \
    "$TOFU_DIR/tofu" "-s -w -X github.com/opentofu/opentofu/version.dev=no"
fi
TF_CLI_CONFIG_FILE= "$TOFU_DIR/tofu" version | sed -n 1p >&2

if [ ! -x "$TIME_DIR/terraform-provider-time_v$TIME_VERSION" ]; then
  echo "tools: building hashicorp/time $TIME_VERSION into the filesystem mirror" >&2
  mkdir -p "$TIME_DIR"
  build_in_throwaway_module "" "github.com/hashicorp/terraform-provider-time@v$TIME_VERSION" \
    github.com/hashicorp/terraform-provider-time "$TIME_DIR/terraform-provider-time_v$TIME_VERSION" "-s -w"
fi

if [ ! -x "$GO_TOOLS/staticcheck" ] || [ ! -x "$GO_TOOLS/tfplugindocs" ]; then
  echo "tools: building staticcheck and tfplugindocs (tools/go.mod) into $GO_TOOLS" >&2
  mkdir -p "$GO_TOOLS.tmp"
  (cd "$HERE/tools" && go build -trimpath -ldflags "-s -w" -o "$GO_TOOLS.tmp/" \
    honnef.co/go/tools/cmd/staticcheck github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs)
  rm -rf "$GO_TOOLS" && mv "$GO_TOOLS.tmp" "$GO_TOOLS"
fi

# Providers other than latchkey come from the mirror only; with no direct {} nothing is downloaded.
cat > "$CACHE/tofurc.tmp" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.opentofu.org/hashicorp/time"]
  }
}
RC
mv "$CACHE/tofurc.tmp" "$CACHE/tofurc"
echo "$GO_TOOLS"
