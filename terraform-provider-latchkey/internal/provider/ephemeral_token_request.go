package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/latchkey/terraform-provider-latchkey/internal/client"
)

var (
	_ ephemeral.EphemeralResource              = &tokenRequestEphemeralResource{}
	_ ephemeral.EphemeralResourceWithConfigure = &tokenRequestEphemeralResource{}
)

// NewTokenRequestEphemeralResource is the ephemeral latchkey_token_request.
func NewTokenRequestEphemeralResource() ephemeral.EphemeralResource {
	return &tokenRequestEphemeralResource{}
}

type tokenRequestEphemeralResource struct{ data *providerData }

type boundObjectRefModel struct {
	Kind types.String `tfsdk:"kind"`
	Name types.String `tfsdk:"name"`
	UID  types.String `tfsdk:"uid"`
}

type tokenRequestModel struct {
	ServiceAccount      types.String         `tfsdk:"service_account"`
	Audiences           types.List           `tfsdk:"audiences"`
	ExpirationSeconds   types.Int64          `tfsdk:"expiration_seconds"`
	BoundObjectRef      *boundObjectRefModel `tfsdk:"bound_object_ref"`
	Token               types.String         `tfsdk:"token"`
	ExpirationTimestamp types.String         `tfsdk:"expiration_timestamp"`
}

func (e *tokenRequestEphemeralResource) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_token_request"
}

func (e *tokenRequestEphemeralResource) Schema(_ context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A short-lived JWT for a service account, with Kubernetes TokenRequest semantics " +
			"(`kubernetes_token_request_v1`, without the state). Being ephemeral, it is requested anew on every plan and apply, " +
			"and its value never lands in the plan or the state: pass it to a provider's configuration, or to a write-only " +
			"argument. Needs Terraform 1.10 or OpenTofu 1.11 or later.\n\n" +
			"An account may request tokens for itself with any token (the JWT gets no more than that token's access); " +
			"for another account the provider's token needs the rights to create that account's tokens.",
		Attributes: map[string]schema.Attribute{
			"service_account": schema.StringAttribute{
				MarkdownDescription: "The account the JWT is for: its email or its id.",
				Required:            true,
				Validators:          []validator.String{serviceAccountRefValidator{}},
			},
			"audiences": schema.ListAttribute{
				MarkdownDescription: "Who may accept the JWT (at most 20). Defaults to the server's issuer, that is Latchkey's own API. " +
					"After the request, the audiences the JWT carries.",
				ElementType: types.StringType,
				Optional:    true,
				Computed:    true,
				Validators: []validator.List{
					listvalidator.SizeAtMost(20),
					listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(stringvalidator.LengthBetween(1, 256), stringvalidator.RegexMatches(noWhitespaceRegexp, "must not contain whitespace or control characters")),
				},
			},
			"expiration_seconds": schema.Int64Attribute{
				MarkdownDescription: "Requested lifetime in seconds, at least 600 (default 3600). Above the server's maximum " +
					"(`LATCHKEY_MAX_TOKEN_REQUEST_TTL`, 24 hours by default) it is shortened, and `expiration_timestamp` tells the truth.",
				Optional:   true,
				Validators: []validator.Int64{int64validator.AtLeast(minTTLSeconds)},
			},
			"bound_object_ref": schema.SingleNestedAttribute{
				MarkdownDescription: "An object (registered with `PUT /v1/projects/{project}/bound-objects/{kind}/{name}`) that the JWT " +
					"dies with: deleting the object, or changing its uid, invalidates the JWT.",
				Optional: true,
				Attributes: map[string]schema.Attribute{
					"kind": schema.StringAttribute{MarkdownDescription: "The object's kind.", Required: true},
					"name": schema.StringAttribute{MarkdownDescription: "The object's name.", Required: true},
					"uid":  schema.StringAttribute{MarkdownDescription: "The object's current uid; when given, it must match.", Optional: true},
				},
			},
			"token": schema.StringAttribute{
				MarkdownDescription: "The JWT.",
				Computed:            true,
				Sensitive:           true,
			},
			"expiration_timestamp": schema.StringAttribute{
				MarkdownDescription: "When the JWT expires (RFC 3339), after any shortening by the server.",
				Computed:            true,
			},
		},
	}
}

func (e *tokenRequestEphemeralResource) Configure(_ context.Context, req ephemeral.ConfigureRequest, resp *ephemeral.ConfigureResponse) {
	e.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

func (e *tokenRequestEphemeralResource) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	if e.data == nil {
		notConfigured(&resp.Diagnostics)
		return
	}
	var m tokenRequestModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ref := m.ServiceAccount.ValueString()
	project, name, ok := client.ParseEmail(ref)
	if !ok {
		sa, err := e.data.client.ResolveServiceAccount(ctx, ref)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("service_account"), "Could not find the service account", err.Error())
			return
		}
		project, name = sa.Project, sa.Name
	}
	in := client.TokenRequest{Audiences: listToGo(ctx, m.Audiences, &resp.Diagnostics)}
	if !m.ExpirationSeconds.IsNull() {
		s := m.ExpirationSeconds.ValueInt64()
		in.ExpirationSeconds = &s
	}
	if m.BoundObjectRef != nil {
		in.BoundObjectRef = &client.BoundObjectRef{Kind: m.BoundObjectRef.Kind.ValueString(), Name: m.BoundObjectRef.Name.ValueString(), UID: m.BoundObjectRef.UID.ValueString()}
	}
	if resp.Diagnostics.HasError() {
		return
	}
	t, err := e.data.client.RequestToken(ctx, project, name, in)
	if err != nil {
		resp.Diagnostics.AddError("Could not request a token", err.Error())
		return
	}
	m.Token = types.StringValue(t.Token)
	m.ExpirationTimestamp = types.StringValue(t.ExpirationTimestamp)
	m.Audiences = stringList(t.Audiences)
	resp.Diagnostics.Append(resp.Result.Set(ctx, &m)...)
}
