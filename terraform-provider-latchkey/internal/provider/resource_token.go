package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/latchkey/terraform-provider-latchkey/internal/client"
)

var (
	_ resource.Resource                   = &tokenResource{}
	_ resource.ResourceWithConfigure      = &tokenResource{}
	_ resource.ResourceWithImportState    = &tokenResource{}
	_ resource.ResourceWithModifyPlan     = &tokenResource{}
	_ resource.ResourceWithValidateConfig = &tokenResource{}
)

const (
	minTTLSeconds = 600
	secondsPerDay = 86400
)

var tokenNameRegexp = regexpMust(`^[A-Za-z0-9][A-Za-z0-9 ._:@/+-]*$`)

// NewTokenResource is the latchkey_token resource.
func NewTokenResource() resource.Resource { return &tokenResource{} }

type tokenResource struct{ data *providerData }

type tokenModel struct {
	ID                  types.String `tfsdk:"id"`
	ServiceAccount      types.String `tfsdk:"service_account"`
	ServiceAccountID    types.String `tfsdk:"service_account_id"`
	ServiceAccountEmail types.String `tfsdk:"service_account_email"`
	Project             types.String `tfsdk:"project"`
	Name                types.String `tfsdk:"name"`
	Description         types.String `tfsdk:"description"`
	Owner               types.String `tfsdk:"owner"`
	Access              types.String `tfsdk:"access"`
	Format              types.String `tfsdk:"format"`
	Audiences           types.Set    `tfsdk:"audiences"`
	TTLSeconds          types.Int64  `tfsdk:"ttl_seconds"`
	TTLDays             types.Int64  `tfsdk:"ttl_days"`
	Labels              types.Map    `tfsdk:"labels"`
	RotateWhenChanged   types.Map    `tfsdk:"rotate_when_changed"`
	RotateBefore        types.String `tfsdk:"rotate_before"`
	Token               types.String `tfsdk:"token"`
	CreatedAt           types.String `tfsdk:"created_at"`
	ExpiresAt           types.String `tfsdk:"expires_at"`
	Active              types.Bool   `tfsdk:"active"`
}

// fill copies what the server says about the token. The secret, service_account (as the user
// wrote it), and the provider-only arguments are left alone.
func (m *tokenModel) fill(t *client.Token) error {
	ttl, err := t.TTL()
	if err != nil {
		return fmt.Errorf("token %s has unreadable timestamps: %w", t.ID, err)
	}
	m.ID = types.StringValue(t.ID)
	m.ServiceAccountID = types.StringValue(t.ServiceAccount.ID)
	m.ServiceAccountEmail = types.StringValue(t.ServiceAccount.Email)
	m.Project = types.StringValue(t.ServiceAccount.Project)
	if m.ServiceAccount.IsNull() || m.ServiceAccount.IsUnknown() {
		m.ServiceAccount = types.StringValue(t.ServiceAccount.Email)
	}
	m.Name = types.StringValue(t.Name)
	m.Description = types.StringValue(t.Description)
	m.Owner = types.StringValue(t.Owner)
	m.Access = types.StringValue(t.Access)
	m.Format = types.StringValue(t.Format)
	m.Audiences = stringSet(t.Audiences)
	m.TTLSeconds = types.Int64Value(int64(ttl / time.Second))
	m.Labels = stringMap(t.Labels)
	m.CreatedAt = types.StringValue(t.CreatedAt)
	m.ExpiresAt = types.StringValue(t.ExpiresAt)
	m.Active = types.BoolValue(t.Active)
	return nil
}

func (r *tokenResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_token"
}

func (r *tokenResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	useState := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An API token of a Latchkey service account. The secret (`token`) is returned by the server once, " +
			"when the token is created, and is kept in the Terraform state from then on: protect the state, or use the " +
			"ephemeral `latchkey_token_request` for short-lived JWTs that never reach it.\n\n" +
			"The token is re-issued (replaced) when it is revoked, expires or disappears out of band (the next plan shows it " +
			"as to be created), when any value in `rotate_when_changed` changes (use it with `time_rotating`), and when it is " +
			"within `rotate_before` of expiring. Destroying the resource revokes the token at once.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The token's id (UUID); the import ID.",
				Computed:            true,
				PlanModifiers:       useState,
			},
			"service_account": schema.StringAttribute{
				MarkdownDescription: "The service account the token belongs to: its email (`{name}@{project}.serviceaccounts.latchkey`, " +
					"for example `latchkey_service_account.x.email`) or its id. An id is looked up among the projects the provider's " +
					"token can see, which costs a few requests; prefer the email. Naming another account replaces the token; " +
					"switching between the same account's email and id does not.",
				Required:      true,
				Validators:    []validator.String{serviceAccountRefValidator{}},
				PlanModifiers: []planmodifier.String{sameServiceAccount{}},
			},
			"service_account_id": schema.StringAttribute{
				MarkdownDescription: "The id of the token's service account.",
				Computed:            true,
				PlanModifiers:       useState,
			},
			"service_account_email": schema.StringAttribute{
				MarkdownDescription: "The email of the token's service account.",
				Computed:            true,
				PlanModifiers:       useState,
			},
			"project": schema.StringAttribute{
				MarkdownDescription: "The project of the token's service account.",
				Computed:            true,
				PlanModifiers:       useState,
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "A name for the token: letters, digits, space and `._:@/+-`, at most 128 characters; " +
					"need not be unique. Defaults to `terraform`. Changed in place.",
				Optional: true,
				Computed: true,
				Default:  stringdefault.StaticString("terraform"),
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, 128),
					stringvalidator.RegexMatches(tokenNameRegexp, "must start with a letter or digit and contain only letters, digits, space and . _ : @ / + -"),
				},
			},
			"description": schema.StringAttribute{
				MarkdownDescription: "Free text, at most 1024 characters. Defaults to `\"\"`. Changed in place.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(""),
				Validators:          []validator.String{stringvalidator.LengthAtMost(1024)},
			},
			"owner": schema.StringAttribute{
				MarkdownDescription: "Who is responsible for the token, for auditing (free text, at most 256 characters). Defaults to `\"\"`. Changed in place.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(""),
				Validators:          []validator.String{stringvalidator.LengthAtMost(256)},
			},
			"access": schema.StringAttribute{
				MarkdownDescription: "`read-write` (the default) or `read-only`, which caps the token at the `viewer` role " +
					"(Pactflow's read-only tokens). Changing it replaces the token.",
				Optional:      true,
				Computed:      true,
				Default:       stringdefault.StaticString("read-write"),
				Validators:    []validator.String{stringvalidator.OneOf("read-only", "read-write")},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"format": schema.StringAttribute{
				MarkdownDescription: "`opaque` (the default; `lk_…`) or `jwt` (an RFC 9068 access token that services can verify offline). " +
					"Changing it replaces the token.",
				Optional:      true,
				Computed:      true,
				Default:       stringdefault.StaticString("opaque"),
				Validators:    []validator.String{stringvalidator.OneOf("opaque", "jwt")},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"audiences": schema.SetAttribute{
				MarkdownDescription: "Who may accept the token (at most 20). Empty (the default) means any audience for an opaque token. " +
					"Changing them replaces the token.",
				ElementType: types.StringType,
				Optional:    true,
				Computed:    true,
				Default:     setdefault.StaticValue(emptyStringSet()),
				Validators: []validator.Set{
					setvalidator.SizeAtMost(20),
					setvalidator.ValueStringsAre(stringvalidator.LengthBetween(1, 256), stringvalidator.RegexMatches(noWhitespaceRegexp, "must not contain whitespace or control characters")),
				},
				PlanModifiers: []planmodifier.Set{setplanmodifier.RequiresReplace()},
			},
			"ttl_seconds": schema.Int64Attribute{
				MarkdownDescription: "Lifetime in seconds, at least 600 and at most the server's policy (366 days by default). " +
					"Defaults to the server's default of 90 days. Changing it replaces the token; leaving it out later keeps the token.",
				Optional:      true,
				Computed:      true,
				Validators:    []validator.Int64{int64validator.AtLeast(minTTLSeconds)},
				PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
			},
			"ttl_days": schema.Int64Attribute{
				MarkdownDescription: "Lifetime in whole days (STACKIT's `ttl_days`): the same as `ttl_seconds = ttl_days * 86400`, " +
					"which is what the token records. Conflicts with `ttl_seconds`. Changing it to a different lifetime replaces the token.",
				Optional: true,
				Validators: []validator.Int64{
					int64validator.AtLeast(1),
					int64validator.ConflictsWith(path.MatchRoot("ttl_seconds")),
				},
			},
			"labels": labelsAttribute("token"),
			"rotate_when_changed": schema.MapAttribute{
				MarkdownDescription: "Arbitrary values that, when any of them changes, replace the token (like `random`'s `keepers`). " +
					"Pair it with `time_rotating` to rotate on a schedule: `rotate_when_changed = { rotation = time_rotating.x.id }`. " +
					"Stored only in the Terraform state. The first apply after an import adopts the map without replacing the token.",
				ElementType:   types.StringType,
				Optional:      true,
				PlanModifiers: []planmodifier.Map{replaceOnTriggerChange{}},
			},
			"rotate_before": schema.StringAttribute{
				MarkdownDescription: "When the token is within this long of expiring, the plan replaces it (for example `30d`, `12h`, `1d12h`). " +
					"Must be shorter than the token's lifetime. The check happens at plan time, so the token is re-issued on the " +
					"first plan and apply inside that window; without it, an expired token is re-issued on the first apply after it expires.",
				Optional:   true,
				Validators: []validator.String{durationValidator{}},
			},
			"token": schema.StringAttribute{
				MarkdownDescription: "The secret. Known only for tokens created by Terraform: the server shows it once. " +
					"After `import` it is null, since no one can read a secret back; replace the token (for example by changing " +
					"`rotate_when_changed`) to get one into the state.",
				Computed:      true,
				Sensitive:     true,
				PlanModifiers: useState,
			},
			"created_at": schema.StringAttribute{
				MarkdownDescription: "When the token was created (RFC 3339).",
				Computed:            true,
				PlanModifiers:       useState,
			},
			"expires_at": schema.StringAttribute{
				MarkdownDescription: "When the token expires (RFC 3339); STACKIT's `valid_until`.",
				Computed:            true,
				PlanModifiers:       useState,
			},
			"active": schema.BoolAttribute{
				MarkdownDescription: "Whether the token authenticates. Always `true` in the state: a revoked or expired token " +
					"is removed from the state when it is read, so that the next apply issues a new one.",
				Computed:      true,
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
			},
		},
	}
}

func (r *tokenResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *tokenResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg tokenModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ttl := configuredTTL(cfg)
	if ttl <= 0 || cfg.RotateBefore.IsNull() || cfg.RotateBefore.IsUnknown() {
		return
	}
	checkRotateBefore(cfg.RotateBefore.ValueString(), ttl, &resp.Diagnostics)
}

// configuredTTL is the lifetime the configuration asks for, or 0 when it is not known.
func configuredTTL(m tokenModel) time.Duration {
	switch {
	case !m.TTLDays.IsNull() && !m.TTLDays.IsUnknown():
		return time.Duration(m.TTLDays.ValueInt64()) * secondsPerDay * time.Second
	case !m.TTLSeconds.IsNull() && !m.TTLSeconds.IsUnknown():
		return time.Duration(m.TTLSeconds.ValueInt64()) * time.Second
	}
	return 0
}

// ModifyPlan turns ttl_days into ttl_seconds, replaces the token when its lifetime changes, and
// replaces it when it is within rotate_before of expiring (by the provider's clock).
func (r *tokenResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var plan tokenModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !plan.TTLDays.IsNull() {
		if plan.TTLDays.IsUnknown() {
			plan.TTLSeconds = types.Int64Unknown()
		} else {
			plan.TTLSeconds = types.Int64Value(plan.TTLDays.ValueInt64() * secondsPerDay)
		}
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("ttl_seconds"), plan.TTLSeconds)...)
	}
	if req.State.Raw.IsNull() {
		return // create
	}
	var state tokenModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !plan.TTLSeconds.Equal(state.TTLSeconds) {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("ttl_seconds"))
	}

	if plan.RotateBefore.IsNull() || plan.RotateBefore.IsUnknown() || state.ExpiresAt.IsNull() || state.ExpiresAt.IsUnknown() {
		return
	}
	before, err := parseDuration(plan.RotateBefore.ValueString())
	if err != nil {
		return // the validator reports it
	}
	if ttl := time.Duration(plan.TTLSeconds.ValueInt64()) * time.Second; !plan.TTLSeconds.IsUnknown() && ttl > 0 {
		checkRotateBefore(plan.RotateBefore.ValueString(), ttl, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	expiresAt, err := time.Parse(time.RFC3339Nano, state.ExpiresAt.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("expires_at"), "Unreadable expiry", err.Error())
		return
	}
	clock := time.Now
	if r.data != nil && r.data.clock != nil {
		clock = r.data.clock
	}
	if now := clock(); rotationDue(now, expiresAt, before) {
		tflog.Info(ctx, "token is within rotate_before of expiring; planning a replacement", map[string]any{
			"id": state.ID.ValueString(), "expires_at": state.ExpiresAt.ValueString(), "rotate_before": plan.RotateBefore.ValueString(),
		})
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("expires_at"))
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("expires_at"), types.StringUnknown())...)
	}
}

// checkRotateBefore refuses a window as long as the lifetime: every plan would replace the token.
func checkRotateBefore(text string, ttl time.Duration, diags interface {
	AddAttributeError(path.Path, string, string)
}) {
	before, err := parseDuration(text)
	if err != nil || before < ttl {
		return
	}
	diags.AddAttributeError(path.Root("rotate_before"), "rotate_before is not shorter than the token's lifetime",
		fmt.Sprintf("rotate_before (%s) must be shorter than the lifetime (%s), or every plan would replace the token.", text, ttl))
}

func (r *tokenResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if r.data == nil {
		notConfigured(&resp.Diagnostics)
		return
	}
	var plan tokenModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	project, name, err := r.accountOf(ctx, plan.ServiceAccount.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("service_account"), "Could not find the service account", err.Error())
		return
	}
	in := client.CreateTokenRequest{
		Name:        plan.Name.ValueString(),
		Description: optString(plan.Description),
		Owner:       optString(plan.Owner),
		Access:      optString(plan.Access),
		Format:      optString(plan.Format),
		Audiences:   setToGo(ctx, plan.Audiences, &resp.Diagnostics),
		Labels:      mapToGo(ctx, plan.Labels, &resp.Diagnostics),
	}
	if !plan.TTLSeconds.IsNull() && !plan.TTLSeconds.IsUnknown() {
		ttl := plan.TTLSeconds.ValueInt64()
		in.TTLSeconds = &ttl
	}
	if resp.Diagnostics.HasError() {
		return
	}
	issued, err := r.data.client.CreateToken(ctx, project, name, in)
	if err != nil {
		resp.Diagnostics.AddError("Could not create the token", err.Error())
		return
	}
	if err := plan.fill(&issued.Token); err != nil {
		resp.Diagnostics.AddError("Unexpected token", err.Error())
	}
	plan.Token = types.StringValue(issued.Secret)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// accountOf turns service_account (an email or an id) into the project and name the API wants.
func (r *tokenResource) accountOf(ctx context.Context, ref string) (project, name string, err error) {
	if p, n, ok := client.ParseEmail(ref); ok {
		return p, n, nil
	}
	sa, err := r.data.client.ResolveServiceAccount(ctx, ref)
	if err != nil {
		return "", "", err
	}
	return sa.Project, sa.Name, nil
}

func (r *tokenResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if r.data == nil {
		notConfigured(&resp.Diagnostics)
		return
	}
	var state tokenModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	t, err := r.data.client.GetToken(ctx, state.ID.ValueString())
	if client.IsNotFound(err) {
		tflog.Info(ctx, "token not found; removing it from the state so that the next apply issues a new one", map[string]any{"id": state.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Could not read the token", err.Error())
		return
	}
	if !t.Active {
		tflog.Info(ctx, "token is no longer active; removing it from the state so that the next apply issues a new one",
			map[string]any{"id": t.ID, "state": t.State})
		resp.State.RemoveResource(ctx)
		return
	}
	if err := state.fill(t); err != nil {
		resp.Diagnostics.AddError("Unexpected token", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *tokenResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	if r.data == nil {
		notConfigured(&resp.Diagnostics)
		return
	}
	var plan, state tokenModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	in := client.UpdateTokenRequest{
		Name:        changedString(plan.Name, state.Name),
		Description: changedString(plan.Description, state.Description),
		Owner:       changedString(plan.Owner, state.Owner),
		Labels:      changedMap(ctx, plan.Labels, state.Labels, &resp.Diagnostics),
	}
	if resp.Diagnostics.HasError() {
		return
	}
	var t *client.Token
	var err error
	if in.Name != nil || in.Description != nil || in.Owner != nil || in.Labels != nil {
		t, err = r.data.client.UpdateToken(ctx, state.ID.ValueString(), in)
	} else {
		// Only provider-side arguments changed (rotate_before, rotate_when_changed after import,
		// service_account written as the same account's id or email): nothing to send.
		t, err = r.data.client.GetToken(ctx, state.ID.ValueString())
	}
	if err != nil {
		resp.Diagnostics.AddError("Could not update the token", err.Error())
		return
	}
	if err := plan.fill(t); err != nil {
		resp.Diagnostics.AddError("Unexpected token", err.Error())
		return
	}
	plan.Token = state.Token
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, importedKey, nil)...)
}

// Delete revokes the token: from this moment it authenticates nothing.
func (r *tokenResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	if r.data == nil {
		notConfigured(&resp.Diagnostics)
		return
	}
	var state tokenModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.data.client.RevokeToken(ctx, state.ID.ValueString()); err != nil && !client.IsNotFound(err) {
		resp.Diagnostics.AddError("Could not revoke the token", err.Error())
	}
}

// ImportState takes the token's id. The secret cannot be imported: token stays null.
func (r *tokenResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !client.IsUUID(req.ID) {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("Expected a token id (UUID), got %q.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, importedKey, []byte("true"))...)
}
