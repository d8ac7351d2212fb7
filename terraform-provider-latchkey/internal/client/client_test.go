package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeServer answers a few routes the way Latchkey does, and records what it was sent.
func fakeServer(t *testing.T, routes map[string]http.HandlerFunc) (*Client, *[]*http.Request) {
	t.Helper()
	var seen []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r)
		key := r.Method + " " + r.URL.Path
		if h, ok := routes[key]; ok {
			h(w, r)
			return
		}
		problem(w, http.StatusNotFound, "route_not_found", "no "+key)
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL+"/", "lk_test", WithUserAgent("test-agent"))
	if err != nil {
		t.Fatal(err)
	}
	return c, &seen
}

func problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "urn:latchkey:problem:" + code, "title": code, "status": status, "code": code, "detail": detail, "request_id": "req-1"})
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func TestNewRefusesBadConfiguration(t *testing.T) {
	for _, addr := range []string{"", "127.0.0.1:8080", "ftp://host", "http://"} {
		if _, err := New(addr, "lk_x"); err == nil {
			t.Errorf("New(%q) accepted a bad address", addr)
		}
	}
	if _, err := New("http://127.0.0.1:8080", ""); err == nil {
		t.Error("New accepted an empty token")
	}
}

func TestProblemsBecomeTypedErrors(t *testing.T) {
	c, _ := fakeServer(t, nil)
	_, err := c.GetToken(context.Background(), "8a0c63c9-6b3c-4a4e-9bb2-4f3a7b6f1d10")
	if !IsNotFound(err) || IsConflict(err) {
		t.Fatalf("expected a 404, got %v", err)
	}
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Code != "route_not_found" || apiErr.RequestID != "req-1" {
		t.Fatalf("unexpected error %#v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "GET /v1/tokens/8a0c63c9") || !strings.Contains(msg, "(request req-1)") {
		t.Fatalf("error message %q should name the request and its id", msg)
	}
}

func TestNonProblemErrorsStillHaveACode(t *testing.T) {
	c, _ := fakeServer(t, map[string]http.HandlerFunc{
		"GET /v1/projects/p": func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "bad gateway", http.StatusBadGateway) },
	})
	_, err := c.GetProject(context.Background(), "p")
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != 502 || apiErr.Code != "bad_gateway" {
		t.Fatalf("unexpected error %#v", err)
	}
}

func TestRequestsCarryCredentialsAndJSON(t *testing.T) {
	c, seen := fakeServer(t, map[string]http.HandlerFunc{
		"POST /v1/projects/default/service-accounts/ci/tokens": func(w http.ResponseWriter, r *http.Request) {
			var body map[string]any
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				t.Error(err)
			}
			if _, sent := body["description"]; sent {
				t.Error("an unset description must not be sent")
			}
			if body["ttl_seconds"] != float64(600) || body["name"] != "ci" {
				t.Errorf("unexpected body %v", body)
			}
			reply(w, http.StatusCreated, map[string]any{"id": "t1", "token": "lk_secret", "created_at": "2030-01-01T00:00:00.000Z", "expires_at": "2030-01-01T00:10:00.000Z"})
		},
	})
	ttl := int64(600)
	tok, err := c.CreateToken(context.Background(), "default", "ci", CreateTokenRequest{Name: "ci", TTLSeconds: &ttl})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Secret != "lk_secret" || tok.ID != "t1" {
		t.Fatalf("unexpected token %+v", tok)
	}
	if d, err := tok.TTL(); err != nil || d != 10*time.Minute {
		t.Fatalf("TTL() = %v, %v", d, err)
	}
	r := (*seen)[0]
	if r.Header.Get("Authorization") != "Bearer lk_test" || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("User-Agent") != "test-agent" {
		t.Fatalf("unexpected headers %v", r.Header)
	}
}

func TestUpdateSendsOnlyWhatChanged(t *testing.T) {
	c, _ := fakeServer(t, map[string]http.HandlerFunc{
		"PATCH /v1/tokens/t1": func(w http.ResponseWriter, r *http.Request) {
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			if len(body) != 1 {
				t.Errorf("expected only labels, got %v", body)
			}
			if labels, ok := body["labels"].(map[string]any); !ok || len(labels) != 0 {
				t.Errorf("clearing labels must send {}, got %v", body["labels"])
			}
			reply(w, http.StatusOK, map[string]any{"id": "t1"})
		},
	})
	empty := map[string]string{}
	if _, err := c.UpdateToken(context.Background(), "t1", UpdateTokenRequest{Labels: &empty}); err != nil {
		t.Fatal(err)
	}
}

func TestResolveServiceAccountByEmailAndByID(t *testing.T) {
	const id = "0e9d4c64-2bd0-4f7e-8d40-3b0b1a3e0c55"
	c, seen := fakeServer(t, map[string]http.HandlerFunc{
		"GET /v1/projects": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("cursor") == "" {
				next := "page2"
				reply(w, 200, map[string]any{"items": []Project{{Name: "default"}}, "next_cursor": next})
				return
			}
			reply(w, 200, map[string]any{"items": []Project{{Name: "gone"}, {Name: "prod"}}, "next_cursor": nil})
		},
		"GET /v1/projects/default/service-accounts": func(w http.ResponseWriter, _ *http.Request) {
			reply(w, 200, map[string]any{"items": []ServiceAccount{{ID: "11111111-2222-3333-4444-555555555555", Project: "default", Name: "other"}}, "next_cursor": nil})
		},
		"GET /v1/projects/prod/service-accounts": func(w http.ResponseWriter, _ *http.Request) {
			reply(w, 200, map[string]any{"items": []ServiceAccount{{ID: id, Project: "prod", Name: "ci"}}, "next_cursor": nil})
		},
		"GET /v1/projects/prod/service-accounts/ci": func(w http.ResponseWriter, _ *http.Request) {
			reply(w, 200, ServiceAccount{ID: id, Project: "prod", Name: "ci"})
		},
	})
	ctx := context.Background()
	sa, err := c.ResolveServiceAccount(ctx, "ci@prod.serviceaccounts.latchkey")
	if err != nil || sa.ID != id || len(*seen) != 1 {
		t.Fatalf("by email: %+v %v after %d requests", sa, err, len(*seen))
	}
	sa, err = c.ResolveServiceAccount(ctx, strings.ToUpper(id))
	if err != nil || sa.Name != "ci" || sa.Project != "prod" {
		t.Fatalf("by id: %+v %v", sa, err)
	}
	if _, err := c.ResolveServiceAccount(ctx, "99999999-2222-3333-4444-555555555555"); !IsNotFound(err) {
		t.Fatalf("an unknown id should be not found, got %v", err)
	}
	if _, err := c.ResolveServiceAccount(ctx, "ci@prod"); err == nil || IsNotFound(err) {
		t.Fatalf("a malformed reference should be refused before any request, got %v", err)
	}
}

func TestParseEmail(t *testing.T) {
	if p, n, ok := ParseEmail("deploy-bot@payments.serviceaccounts.latchkey"); !ok || p != "payments" || n != "deploy-bot" {
		t.Fatalf("got %q %q %v", p, n, ok)
	}
	for _, bad := range []string{"Deploy@p.serviceaccounts.latchkey", "a@b.serviceaccounts.latchkey.evil", "a@b", "-a@b.serviceaccounts.latchkey"} {
		if _, _, ok := ParseEmail(bad); ok {
			t.Errorf("ParseEmail(%q) accepted it", bad)
		}
	}
	if Email("payments", "deploy-bot") != "deploy-bot@payments.serviceaccounts.latchkey" {
		t.Fatal("Email does not round-trip")
	}
}
