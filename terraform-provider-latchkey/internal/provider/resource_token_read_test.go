package provider

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"

	"github.com/latchkey/terraform-provider-latchkey/internal/client"
)

// Read drops a token that can no longer authenticate, so that the next apply issues a new one;
// Delete treats a token that is already gone as revoked. (Unit tests with a fake server; the
// acceptance tests do the same against the real one.)

func tokenJSON(state string, active bool) map[string]any {
	return map[string]any{
		"id": "8a0c63c9-6b3c-4a4e-9bb2-4f3a7b6f1d10", "name": "terraform", "description": "", "owner": "",
		"service_account": map[string]any{"id": "0e9d4c64-2bd0-4f7e-8d40-3b0b1a3e0c55", "project": "default", "name": "ci", "email": "ci@default.serviceaccounts.latchkey"},
		"access":          "read-write", "format": "opaque", "audiences": []string{}, "labels": map[string]string{},
		"created_at": "2030-01-01T00:00:00.000Z", "expires_at": "2030-01-31T00:00:00.000Z",
		"state": state, "active": active,
	}
}

func readWithServer(t *testing.T, status int, body any) (tfsdk.State, []string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, "lk_test")
	if err != nil {
		t.Fatal(err)
	}
	s := tokenTestSchema(t)
	r := &tokenResource{data: &providerData{client: c}}
	state := tfsdk.State{Schema: s, Raw: tokenValue(t, s, existingToken(nil))}
	resp := resource.ReadResponse{State: state}
	r.Read(context.Background(), resource.ReadRequest{State: state}, &resp)
	var errs []string
	for _, d := range resp.Diagnostics.Errors() {
		errs = append(errs, d.Detail())
	}
	return resp.State, errs
}

func TestRead_dropsTokensThatNoLongerWork(t *testing.T) {
	for name, c := range map[string]struct {
		status int
		body   any
	}{
		"revoked": {200, tokenJSON("revoked", false)},
		"expired": {200, tokenJSON("expired", false)},
		"missing": {404, map[string]any{"status": 404, "code": "not_found"}},
	} {
		st, errs := readWithServer(t, c.status, c.body)
		if len(errs) != 0 || !st.Raw.IsNull() {
			t.Errorf("%s: expected the token to leave the state, got errors %v, state null %v", name, errs, st.Raw.IsNull())
		}
	}
}

func TestRead_keepsAnActiveTokenAndItsSecret(t *testing.T) {
	st, errs := readWithServer(t, 200, tokenJSON("active", true))
	if len(errs) != 0 || st.Raw.IsNull() {
		t.Fatalf("errors %v, null %v", errs, st.Raw.IsNull())
	}
	var m tokenModel
	st.Get(context.Background(), &m)
	if m.Token.ValueString() != "lk_secret" || !m.Active.ValueBool() || m.TTLSeconds.ValueInt64() != 30*86400 {
		t.Fatalf("unexpected state %+v", m)
	}
}

func TestRead_otherErrorsAreReported(t *testing.T) {
	st, errs := readWithServer(t, 403, map[string]any{"status": 403, "code": "forbidden", "detail": "no"})
	if len(errs) != 1 || st.Raw.IsNull() {
		t.Fatalf("a 403 must be an error and keep the state: errors %v", errs)
	}
}

func TestDelete_ignoresATokenThatIsGone(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodDelete {
			t.Errorf("unexpected %s", r.Method)
		}
		w.WriteHeader(404)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": 404, "code": "not_found"})
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL, "lk_test")
	s := tokenTestSchema(t)
	r := &tokenResource{data: &providerData{client: c}}
	state := tfsdk.State{Schema: s, Raw: tokenValue(t, s, existingToken(nil))}
	resp := resource.DeleteResponse{State: state}
	r.Delete(context.Background(), resource.DeleteRequest{State: state}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatal(resp.Diagnostics)
	}
}
