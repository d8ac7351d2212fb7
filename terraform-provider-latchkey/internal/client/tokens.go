package client

import (
	"context"
	"net/http"
	"time"
)

// TokenServiceAccount is the account a token belongs to.
type TokenServiceAccount struct {
	ID      string `json:"id"`
	Project string `json:"project"`
	Name    string `json:"name"`
	Email   string `json:"email"`
}

// Token is a token's public shape: everything but the secret.
type Token struct {
	ID             string              `json:"id"`
	Name           string              `json:"name"`
	Description    string              `json:"description"`
	Owner          string              `json:"owner"`
	ServiceAccount TokenServiceAccount `json:"service_account"`
	Access         string              `json:"access"`
	Format         string              `json:"format"`
	Audiences      []string            `json:"audiences"`
	Labels         map[string]string   `json:"labels"`
	CreatedAt      string              `json:"created_at"`
	ExpiresAt      string              `json:"expires_at"`
	LastUsedAt     *string             `json:"last_used_at"`
	RevokedAt      *string             `json:"revoked_at"`
	State          string              `json:"state"`
	Active         bool                `json:"active"`
	RotatedFrom    *string             `json:"rotated_from"`
	RotatedTo      *string             `json:"rotated_to"`
	CreatedBy      string              `json:"created_by"`
}

// IssuedToken is a token with its secret: only the create and rotate responses carry one.
type IssuedToken struct {
	Token
	Secret string `json:"token"`
}

// TTL is the lifetime the token was issued with, to the second.
func (t *Token) TTL() (time.Duration, error) {
	created, err := time.Parse(time.RFC3339Nano, t.CreatedAt)
	if err != nil {
		return 0, err
	}
	expires, err := time.Parse(time.RFC3339Nano, t.ExpiresAt)
	if err != nil {
		return 0, err
	}
	return expires.Sub(created).Round(time.Second), nil
}

// CreateTokenRequest is the body of POST .../service-accounts/{name}/tokens.
type CreateTokenRequest struct {
	Name        string            `json:"name"`
	Description *string           `json:"description,omitempty"`
	Owner       *string           `json:"owner,omitempty"`
	Access      *string           `json:"access,omitempty"`
	Format      *string           `json:"format,omitempty"`
	Audiences   []string          `json:"audiences,omitempty"`
	TTLSeconds  *int64            `json:"ttl_seconds,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// UpdateTokenRequest is the body of PATCH /v1/tokens/{id}; nil fields stay as they are.
type UpdateTokenRequest struct {
	Name        *string            `json:"name,omitempty"`
	Description *string            `json:"description,omitempty"`
	Owner       *string            `json:"owner,omitempty"`
	Labels      *map[string]string `json:"labels,omitempty"`
}

// CreateToken issues a token for the account project/name; the secret is in this response only.
func (c *Client) CreateToken(ctx context.Context, project, name string, in CreateTokenRequest) (*IssuedToken, error) {
	var t IssuedToken
	if err := c.do(ctx, http.MethodPost, saPath(project, name)+"/tokens", nil, in, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// GetToken returns a token by id, never its secret.
func (c *Client) GetToken(ctx context.Context, id string) (*Token, error) {
	var t Token
	if err := c.do(ctx, http.MethodGet, "/v1/tokens/"+seg(id), nil, nil, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// UpdateToken edits a token's name, description, owner and labels.
func (c *Client) UpdateToken(ctx context.Context, id string, in UpdateTokenRequest) (*Token, error) {
	var t Token
	if err := c.do(ctx, http.MethodPatch, "/v1/tokens/"+seg(id), nil, in, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// RevokeToken revokes a token; revoking a revoked token succeeds.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/tokens/"+seg(id), nil, nil, nil)
}

// BoundObjectRef names an object a requested token dies with.
type BoundObjectRef struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	UID  string `json:"uid,omitempty"`
}

// TokenRequest is the body of POST .../service-accounts/{name}/token-requests.
type TokenRequest struct {
	Audiences         []string        `json:"audiences,omitempty"`
	ExpirationSeconds *int64          `json:"expiration_seconds,omitempty"`
	BoundObjectRef    *BoundObjectRef `json:"bound_object_ref,omitempty"`
}

// RequestedToken is a short-lived JWT and the truth about its expiry and audiences.
type RequestedToken struct {
	Token               string          `json:"token"`
	ExpirationTimestamp string          `json:"expiration_timestamp"`
	Audiences           []string        `json:"audiences"`
	BoundObjectRef      *BoundObjectRef `json:"bound_object_ref,omitempty"`
}

// RequestToken asks for a short-lived JWT for the account project/name (Kubernetes TokenRequest).
func (c *Client) RequestToken(ctx context.Context, project, name string, in TokenRequest) (*RequestedToken, error) {
	var t RequestedToken
	if err := c.do(ctx, http.MethodPost, saPath(project, name)+"/token-requests", nil, in, &t); err != nil {
		return nil, err
	}
	return &t, nil
}
