package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/latchkey/terraform-provider-latchkey/internal/client"
)

var (
	_ resource.Resource                = &serviceAccountResource{}
	_ resource.ResourceWithConfigure   = &serviceAccountResource{}
	_ resource.ResourceWithImportState = &serviceAccountResource{}
)

// Roles in increasing order of power, and the scopes a role applies in.
var (
	roles  = []string{"viewer", "contributor", "admin", "owner"}
	scopes = []string{"project", "organization"}
)

// NewServiceAccountResource is the latchkey_service_account resource.
func NewServiceAccountResource() resource.Resource { return &serviceAccountResource{} }

type serviceAccountResource struct{ data *providerData }

type serviceAccountModel struct {
	ID          types.String `tfsdk:"id"`
	Project     types.String `tfsdk:"project"`
	Name        types.String `tfsdk:"name"`
	Email       types.String `tfsdk:"email"`
	Description types.String `tfsdk:"description"`
	Owner       types.String `tfsdk:"owner"`
	Role        types.String `tfsdk:"role"`
	Scope       types.String `tfsdk:"scope"`
	Disabled    types.Bool   `tfsdk:"disabled"`
	Labels      types.Map    `tfsdk:"labels"`
	CreatedAt   types.String `tfsdk:"created_at"`
}

func (m *serviceAccountModel) fill(sa *client.ServiceAccount) {
	m.ID = types.StringValue(sa.ID)
	m.Project = types.StringValue(sa.Project)
	m.Name = types.StringValue(sa.Name)
	m.Email = types.StringValue(sa.Email)
	m.Description = types.StringValue(sa.Description)
	m.Owner = types.StringValue(sa.Owner)
	m.Role = types.StringValue(sa.Role)
	m.Scope = types.StringValue(sa.Scope)
	m.Disabled = types.BoolValue(sa.Disabled)
	m.Labels = stringMap(sa.Labels)
	m.CreatedAt = types.StringValue(sa.CreatedAt)
}

func (r *serviceAccountResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service_account"
}

func (r *serviceAccountResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A Latchkey service account: a non-interactive principal in one project, which tokens belong to. " +
			"Nobody can create or empower an account above their own role or scope. Destroying it revokes all its tokens at once.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The account's id (UUID).",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"project": schema.StringAttribute{
				MarkdownDescription: "The project the account lives in. Defaults to `default`. Changing it replaces the account.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString("default"),
				Validators:          dnsLabelValidators(),
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "The account's name, a lowercase DNS label unique in its project. Changing it replaces the account (and so revokes its tokens).",
				Required:            true,
				Validators:          dnsLabelValidators(),
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"email": schema.StringAttribute{
				MarkdownDescription: "`{name}@{project}.serviceaccounts.latchkey`: usable wherever an account is referenced, for example in `latchkey_token.service_account`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"description": schema.StringAttribute{
				MarkdownDescription: "Free text, at most 1024 characters. Defaults to `\"\"`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(""),
				Validators:          []validator.String{stringvalidator.LengthAtMost(1024)},
			},
			"owner": schema.StringAttribute{
				MarkdownDescription: "Who is responsible for the account, for auditing (free text, at most 256 characters). Defaults to `\"\"`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(""),
				Validators:          []validator.String{stringvalidator.LengthAtMost(256)},
			},
			"role": schema.StringAttribute{
				MarkdownDescription: "`viewer` < `contributor` < `admin` < `owner`. Defaults to `viewer`. Changed in place, within the caller's own role.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString("viewer"),
				Validators:          []validator.String{stringvalidator.OneOf(roles...)},
			},
			"scope": schema.StringAttribute{
				MarkdownDescription: "Where the role applies: `project` (the account's own project) or `organization` (every project). Defaults to `project`. Changed in place.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString("project"),
				Validators:          []validator.String{stringvalidator.OneOf(scopes...)},
			},
			"disabled": schema.BoolAttribute{
				MarkdownDescription: "A disabled account authenticates nothing, but keeps its tokens. Defaults to `false`.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
			},
			"labels": labelsAttribute("account"),
			"created_at": schema.StringAttribute{
				MarkdownDescription: "When the account was created (RFC 3339).",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		},
	}
}

func (r *serviceAccountResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *serviceAccountResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if r.data == nil {
		notConfigured(&resp.Diagnostics)
		return
	}
	var plan serviceAccountModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	project := plan.Project.ValueString()
	sa, err := r.data.client.CreateServiceAccount(ctx, project, client.CreateServiceAccountRequest{
		Name:        plan.Name.ValueString(),
		Description: optString(plan.Description),
		Owner:       optString(plan.Owner),
		Role:        optString(plan.Role),
		Scope:       optString(plan.Scope),
		Labels:      mapToGo(ctx, plan.Labels, &resp.Diagnostics),
	})
	if err != nil {
		resp.Diagnostics.AddError("Could not create the service account", err.Error())
		return
	}
	if plan.Disabled.ValueBool() {
		disabled := true
		sa, err = r.data.client.UpdateServiceAccount(ctx, project, sa.Name, client.UpdateServiceAccountRequest{Disabled: &disabled})
		if err != nil {
			resp.Diagnostics.AddError("Created the service account but could not disable it", err.Error())
			return
		}
	}
	plan.fill(sa)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *serviceAccountResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if r.data == nil {
		notConfigured(&resp.Diagnostics)
		return
	}
	var state serviceAccountModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	sa, err := r.data.client.GetServiceAccount(ctx, state.Project.ValueString(), state.Name.ValueString())
	if err == nil && !state.ID.IsNull() && sa.ID != state.ID.ValueString() {
		// Deleted out of band and created again under the same name: not the account we manage.
		err = &client.Error{Status: 404, Code: "not_found"}
	}
	if client.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Could not read the service account", err.Error())
		return
	}
	state.fill(sa)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *serviceAccountResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	if r.data == nil {
		notConfigured(&resp.Diagnostics)
		return
	}
	var plan, state serviceAccountModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	in := client.UpdateServiceAccountRequest{
		Description: changedString(plan.Description, state.Description),
		Owner:       changedString(plan.Owner, state.Owner),
		Role:        changedString(plan.Role, state.Role),
		Scope:       changedString(plan.Scope, state.Scope),
		Labels:      changedMap(ctx, plan.Labels, state.Labels, &resp.Diagnostics),
	}
	if !plan.Disabled.IsUnknown() && !plan.Disabled.Equal(state.Disabled) {
		d := plan.Disabled.ValueBool()
		in.Disabled = &d
	}
	sa, err := r.data.client.UpdateServiceAccount(ctx, state.Project.ValueString(), state.Name.ValueString(), in)
	if err != nil {
		resp.Diagnostics.AddError("Could not update the service account", err.Error())
		return
	}
	plan.fill(sa)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *serviceAccountResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	if r.data == nil {
		notConfigured(&resp.Diagnostics)
		return
	}
	var state serviceAccountModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	err := r.data.client.DeleteServiceAccount(ctx, state.Project.ValueString(), state.Name.ValueString())
	if err != nil && !client.IsNotFound(err) {
		resp.Diagnostics.AddError("Could not delete the service account", err.Error())
	}
}

// ImportState takes the account's email, `project/name`, or its id.
func (r *serviceAccountResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	project, name, ok := client.ParseEmail(req.ID)
	if !ok {
		if p, n, found := strings.Cut(req.ID, "/"); found && p != "" && n != "" {
			project, name, ok = p, n, true
		}
	}
	if !ok && client.IsUUID(req.ID) {
		if r.data == nil {
			notConfigured(&resp.Diagnostics)
			return
		}
		sa, err := r.data.client.ResolveServiceAccount(ctx, req.ID)
		if err != nil {
			resp.Diagnostics.AddError("Could not find the service account", err.Error())
			return
		}
		project, name, ok = sa.Project, sa.Name, true
	}
	if !ok {
		resp.Diagnostics.AddError("Invalid import ID",
			fmt.Sprintf("Expected a service account email ({name}@{project}.serviceaccounts.latchkey), project/name, or an id; got %q.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("project"), project)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
}
