// Command go-oidc-verify verifies a Latchkey JWT the way Kubernetes' kube-apiserver does: with
// github.com/coreos/go-oidc, from the issuer's discovery document and JWKS. It prints one JSON object
// ({"ok":true,"claims":{...}} or {"ok":false,"error":"..."}) and exits 0 either way; exit 2 means
// it was called wrongly.
//
//	go-oidc-verify -issuer http://127.0.0.1:8080 -audience https://api.example.com [-algs ES256,RS256] TOKEN
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

type result struct {
	OK     bool           `json:"ok"`
	Stage  string         `json:"stage,omitempty"`
	Error  string         `json:"error,omitempty"`
	Claims map[string]any `json:"claims,omitempty"`
	// What discovery advertised; with no -algs, go-oidc accepts exactly these.
	DiscoveredAlgs []string `json:"discovered_algs"`
}

func main() {
	issuer := flag.String("issuer", "", "the issuer URL, exactly as in the discovery document")
	audience := flag.String("audience", "", "this service's audience (go-oidc's ClientID)")
	algs := flag.String("algs", "", "comma-separated algorithms to accept; empty: those discovery advertises")
	flag.Parse()
	if *issuer == "" || *audience == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: go-oidc-verify -issuer URL -audience AUD [-algs ES256,EdDSA,RS256] TOKEN")
		os.Exit(2)
	}
	out := verify(*issuer, *audience, *algs, flag.Arg(0))
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

// snippet:start
func verify(issuer, audience, algs, rawToken string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Discovery: GET {issuer}/.well-known/openid-configuration; its "issuer" must equal issuer.
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return result{Stage: "discovery", Error: err.Error()}
	}
	var discovered struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	_ = provider.Claims(&discovered)

	config := &oidc.Config{ClientID: audience} // the token's "aud" must contain it
	if algs != "" {
		config.SupportedSigningAlgs = strings.Split(algs, ",")
	}
	// Keys come from the discovery document's jwks_uri, fetched again when an unknown kid shows up.
	token, err := provider.Verifier(config).Verify(ctx, rawToken)
	if err != nil {
		return result{Stage: "verify", Error: err.Error(), DiscoveredAlgs: discovered.Algs}
	}
	claims := map[string]any{}
	if err := token.Claims(&claims); err != nil {
		return result{Stage: "claims", Error: err.Error(), DiscoveredAlgs: discovered.Algs}
	}
	return result{OK: true, Claims: claims, DiscoveredAlgs: discovered.Algs}
}

// snippet:end
