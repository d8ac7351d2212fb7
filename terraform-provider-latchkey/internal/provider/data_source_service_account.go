package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/latchkey/terraform-provider-latchkey/internal/client"
)

var (
	_ datasource.DataSource                     = &serviceAccountDataSource{}
	_ datasource.DataSourceWithConfigure        = &serviceAccountDataSource{}
	_ datasource.DataSourceWithConfigValidators = &serviceAccountDataSource{}
)

// NewServiceAccountDataSource is the latchkey_service_account data source.
func NewServiceAccountDataSource() datasource.DataSource { return &serviceAccountDataSource{} }

type serviceAccountDataSource struct{ data *providerData }

func (d *serviceAccountDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service_account"
}

func (d *serviceAccountDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a Latchkey service account by `email`, by `name` (and `project`, default `default`), or by `id`. " +
			"An id is looked up among the projects the provider's token can see.",
		Attributes: map[string]schema.Attribute{
			"email": schema.StringAttribute{
				MarkdownDescription: "`{name}@{project}.serviceaccounts.latchkey`.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.String{serviceAccountEmailValidator()},
			},
			"id": schema.StringAttribute{
				MarkdownDescription: "The account's id (UUID).",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.String{stringvalidator.RegexMatches(uuidRegexp, "must be a UUID")},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "The account's name; with `project`.",
				Optional:            true,
				Computed:            true,
				Validators:          dnsLabelValidators(),
			},
			"project": schema.StringAttribute{
				MarkdownDescription: "The account's project; defaults to `default` when `name` is given.",
				Optional:            true,
				Computed:            true,
				Validators: append(dnsLabelValidators(),
					stringvalidator.AlsoRequires(path.MatchRoot("name"))),
			},
			"description": computed("Free text."),
			"owner":       computed("Who is responsible for the account."),
			"role":        computed("`viewer`, `contributor`, `admin` or `owner`."),
			"scope":       computed("`project` or `organization`."),
			"disabled":    schema.BoolAttribute{MarkdownDescription: "Whether the account is disabled.", Computed: true},
			"labels": schema.MapAttribute{
				MarkdownDescription: "String map on the account.",
				ElementType:         types.StringType,
				Computed:            true,
			},
			"created_at": computed("When the account was created (RFC 3339)."),
		},
	}
}

func (d *serviceAccountDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.ExactlyOneOf(path.MatchRoot("email"), path.MatchRoot("id"), path.MatchRoot("name")),
	}
}

func (d *serviceAccountDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *serviceAccountDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	if d.data == nil {
		notConfigured(&resp.Diagnostics)
		return
	}
	var cfg serviceAccountModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var sa *client.ServiceAccount
	var err error
	switch {
	case !cfg.Email.IsNull():
		sa, err = d.data.client.ResolveServiceAccount(ctx, cfg.Email.ValueString())
	case !cfg.ID.IsNull():
		sa, err = d.data.client.ResolveServiceAccount(ctx, cfg.ID.ValueString())
	default:
		project := "default"
		if !cfg.Project.IsNull() {
			project = cfg.Project.ValueString()
		}
		sa, err = d.data.client.GetServiceAccount(ctx, project, cfg.Name.ValueString())
	}
	if err != nil {
		resp.Diagnostics.AddError("Could not read the service account", err.Error())
		return
	}
	cfg.fill(sa)
	resp.Diagnostics.Append(resp.State.Set(ctx, &cfg)...)
}

func serviceAccountEmailValidator() validator.String {
	return stringvalidator.RegexMatches(emailRegexp, "must be {name}@{project}.serviceaccounts.latchkey")
}
