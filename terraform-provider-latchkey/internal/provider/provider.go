// Package provider implements the Latchkey Terraform/OpenTofu provider on terraform-plugin-framework.
package provider

import (
	"context"
	"os"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/latchkey/terraform-provider-latchkey/internal/client"
)

// DefaultAddress is where `latchkey server` listens unless told otherwise.
const DefaultAddress = "http://127.0.0.1:8080"

var (
	_ provider.Provider                       = &latchkeyProvider{}
	_ provider.ProviderWithEphemeralResources = &latchkeyProvider{}
)

// Clock is the provider's source of "now", used to decide when a token is close enough to expiry
// to be replaced (rotate_before). Tests inject one, as terraform-provider-time does.
type Clock func() time.Time

// latchkeyProvider is the provider; version is "dev", "test" or the release version.
type latchkeyProvider struct {
	version string
	clock   Clock
}

// providerData is what Configure hands to every resource, data source and ephemeral resource.
type providerData struct {
	client *client.Client
	clock  Clock
}

type providerModel struct {
	Address types.String `tfsdk:"address"`
	Token   types.String `tfsdk:"token"`
}

// New returns the provider factory used by main.
func New(version string) func() provider.Provider {
	return NewWithClock(version, time.Now)
}

// NewWithClock returns a provider factory whose notion of "now" is clock (for tests).
func NewWithClock(version string, clock Clock) func() provider.Provider {
	return func() provider.Provider {
		return &latchkeyProvider{version: version, clock: clock}
	}
}

func (p *latchkeyProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "latchkey"
	resp.Version = p.version
}

func (p *latchkeyProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Manages Latchkey projects, service accounts and API tokens, " +
			"and requests short-lived JWTs as an ephemeral resource. Works with Terraform and OpenTofu.",
		Attributes: map[string]schema.Attribute{
			"address": schema.StringAttribute{
				MarkdownDescription: "Base URL of the Latchkey server, for example `https://latchkey.example.com`. " +
					"Defaults to the `LATCHKEY_ADDR` environment variable, then to `" + DefaultAddress + "`.",
				Optional: true,
			},
			"token": schema.StringAttribute{
				MarkdownDescription: "A Latchkey token (opaque `lk_…` or JWT) that may manage what this configuration declares. " +
					"Defaults to the `LATCHKEY_TOKEN` environment variable. Prefer the variable, or an ephemeral value, " +
					"to keep it out of files.",
				Optional:  true,
				Sensitive: true,
			},
		},
	}
}

func (p *latchkeyProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if cfg.Address.IsUnknown() || cfg.Token.IsUnknown() {
		// For example a token from an ephemeral resource that cannot be opened before apply.
		// Anything that needs the provider then is deferred by Terraform, or fails with
		// "Provider not configured".
		tflog.Debug(ctx, "provider configuration not yet known; leaving the provider unconfigured for this phase")
		return
	}

	address := os.Getenv("LATCHKEY_ADDR")
	if !cfg.Address.IsNull() {
		address = cfg.Address.ValueString()
	}
	if address == "" {
		address = DefaultAddress
	}
	token := os.Getenv("LATCHKEY_TOKEN")
	if !cfg.Token.IsNull() {
		token = cfg.Token.ValueString()
	}
	if token == "" {
		resp.Diagnostics.AddAttributeError(path.Root("token"), "Missing Latchkey token",
			"Set the provider's token argument or the LATCHKEY_TOKEN environment variable to a Latchkey token.")
		return
	}

	c, err := client.New(address, token, client.WithUserAgent("terraform-provider-latchkey/"+p.version))
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("address"), "Invalid Latchkey configuration", err.Error())
		return
	}
	data := &providerData{client: c, clock: p.clock}
	resp.ResourceData = data
	resp.DataSourceData = data
	resp.EphemeralResourceData = data
}

func (p *latchkeyProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewProjectResource,
		NewServiceAccountResource,
		NewTokenResource,
	}
}

func (p *latchkeyProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewProjectDataSource,
		NewServiceAccountDataSource,
	}
}

func (p *latchkeyProvider) EphemeralResources(_ context.Context) []func() ephemeral.EphemeralResource {
	return []func() ephemeral.EphemeralResource{
		NewTokenRequestEphemeralResource,
	}
}
