package client

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
)

// ServiceAccount is a non-interactive principal in one project.
type ServiceAccount struct {
	ID          string            `json:"id"`
	Project     string            `json:"project"`
	Name        string            `json:"name"`
	Email       string            `json:"email"`
	Description string            `json:"description"`
	Owner       string            `json:"owner"`
	Role        string            `json:"role"`
	Scope       string            `json:"scope"`
	Disabled    bool              `json:"disabled"`
	Labels      map[string]string `json:"labels"`
	CreatedAt   string            `json:"created_at"`
	UpdatedAt   string            `json:"updated_at"`
	CreatedBy   string            `json:"created_by"`
}

// CreateServiceAccountRequest is the body of POST /v1/projects/{project}/service-accounts.
type CreateServiceAccountRequest struct {
	Name        string            `json:"name"`
	Description *string           `json:"description,omitempty"`
	Owner       *string           `json:"owner,omitempty"`
	Role        *string           `json:"role,omitempty"`
	Scope       *string           `json:"scope,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// UpdateServiceAccountRequest is the body of PATCH on one service account; nil fields stay.
type UpdateServiceAccountRequest struct {
	Description *string            `json:"description,omitempty"`
	Owner       *string            `json:"owner,omitempty"`
	Role        *string            `json:"role,omitempty"`
	Scope       *string            `json:"scope,omitempty"`
	Disabled    *bool              `json:"disabled,omitempty"`
	Labels      *map[string]string `json:"labels,omitempty"`
}

func saPath(project, name string) string {
	return "/v1/projects/" + seg(project) + "/service-accounts/" + seg(name)
}

// CreateServiceAccount creates a service account in project.
func (c *Client) CreateServiceAccount(ctx context.Context, project string, in CreateServiceAccountRequest) (*ServiceAccount, error) {
	var sa ServiceAccount
	if err := c.do(ctx, http.MethodPost, "/v1/projects/"+seg(project)+"/service-accounts", nil, in, &sa); err != nil {
		return nil, err
	}
	return &sa, nil
}

// GetServiceAccount returns one service account by project and name.
func (c *Client) GetServiceAccount(ctx context.Context, project, name string) (*ServiceAccount, error) {
	var sa ServiceAccount
	if err := c.do(ctx, http.MethodGet, saPath(project, name), nil, nil, &sa); err != nil {
		return nil, err
	}
	return &sa, nil
}

// UpdateServiceAccount edits a service account.
func (c *Client) UpdateServiceAccount(ctx context.Context, project, name string, in UpdateServiceAccountRequest) (*ServiceAccount, error) {
	var sa ServiceAccount
	if err := c.do(ctx, http.MethodPatch, saPath(project, name), nil, in, &sa); err != nil {
		return nil, err
	}
	return &sa, nil
}

// DeleteServiceAccount deletes a service account and revokes all its tokens.
func (c *Client) DeleteServiceAccount(ctx context.Context, project, name string) error {
	return c.do(ctx, http.MethodDelete, saPath(project, name), nil, nil, nil)
}

// ListServiceAccounts returns every service account of project.
func (c *Client) ListServiceAccounts(ctx context.Context, project string) ([]ServiceAccount, error) {
	return listAll[ServiceAccount](ctx, c, "/v1/projects/"+seg(project)+"/service-accounts", nil)
}

const dnsLabel = `[a-z0-9](?:[-a-z0-9]*[a-z0-9])?`

var (
	emailPattern = regexp.MustCompile(`^(` + dnsLabel + `)@(` + dnsLabel + `)\.serviceaccounts\.latchkey$`)
	uuidPattern  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// Email is a service account's read-only address.
func Email(project, name string) string { return name + "@" + project + ".serviceaccounts.latchkey" }

// ParseEmail splits {name}@{project}.serviceaccounts.latchkey; ok is false for anything else.
func ParseEmail(email string) (project, name string, ok bool) {
	m := emailPattern.FindStringSubmatch(email)
	if m == nil {
		return "", "", false
	}
	return m[2], m[1], true
}

// IsUUID reports whether s looks like an id (any UUID version).
func IsUUID(s string) bool { return uuidPattern.MatchString(s) }

// ResolveServiceAccount finds a service account by email or by id. The API addresses accounts by
// project and name, so an id is found by listing the projects the caller can see and their
// accounts: it costs a few requests, and finds only accounts within the caller's scope.
func (c *Client) ResolveServiceAccount(ctx context.Context, ref string) (*ServiceAccount, error) {
	if project, name, ok := ParseEmail(ref); ok {
		return c.GetServiceAccount(ctx, project, name)
	}
	if !IsUUID(ref) {
		return nil, fmt.Errorf("%q is neither a service account email ({name}@{project}.serviceaccounts.latchkey) nor an id", ref)
	}
	projects, err := c.ListProjects(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range projects {
		accounts, err := c.ListServiceAccounts(ctx, p.Name)
		if IsNotFound(err) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		for i := range accounts {
			if equalFoldUUID(accounts[i].ID, ref) {
				return &accounts[i], nil
			}
		}
	}
	return nil, &Error{Status: http.StatusNotFound, Code: "not_found", Detail: "no service account with id " + ref + " is visible to this token", Method: http.MethodGet, Path: "/v1/projects/*/service-accounts"}
}

func equalFoldUUID(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'F' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'F' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
