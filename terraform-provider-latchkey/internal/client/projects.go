package client

import (
	"context"
	"net/http"
)

// Project is a boundary for names and permissions.
type Project struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Labels      map[string]string `json:"labels"`
	CreatedAt   string            `json:"created_at"`
	UpdatedAt   string            `json:"updated_at"`
	CreatedBy   string            `json:"created_by"`
}

// CreateProjectRequest is the body of POST /v1/projects.
type CreateProjectRequest struct {
	Name        string            `json:"name"`
	Description *string           `json:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// UpdateProjectRequest is the body of PATCH /v1/projects/{project}; nil fields stay as they are.
type UpdateProjectRequest struct {
	Description *string            `json:"description,omitempty"`
	Labels      *map[string]string `json:"labels,omitempty"`
}

// CreateProject creates a project (organization-scoped admins and owners).
func (c *Client) CreateProject(ctx context.Context, in CreateProjectRequest) (*Project, error) {
	var p Project
	if err := c.do(ctx, http.MethodPost, "/v1/projects", nil, in, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// GetProject returns one project by name.
func (c *Client) GetProject(ctx context.Context, name string) (*Project, error) {
	var p Project
	if err := c.do(ctx, http.MethodGet, "/v1/projects/"+seg(name), nil, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// UpdateProject edits a project's description and labels.
func (c *Client) UpdateProject(ctx context.Context, name string, in UpdateProjectRequest) (*Project, error) {
	var p Project
	if err := c.do(ctx, http.MethodPatch, "/v1/projects/"+seg(name), nil, in, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// DeleteProject deletes an empty project.
func (c *Client) DeleteProject(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/projects/"+seg(name), nil, nil, nil)
}

// ListProjects returns every project the caller can see.
func (c *Client) ListProjects(ctx context.Context) ([]Project, error) {
	return listAll[Project](ctx, c, "/v1/projects", nil)
}
