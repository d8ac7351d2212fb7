package provider

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"os"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	providerschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// hashicorp/local cannot be had here (the Go module proxy does not serve its v2 releases), so the
// example that writes a token to a file runs against this stand-in: local_sensitive_file with the
// arguments the example uses, writing the file as the real one does.

var tfjsonpathToken = tfjsonpath.New("token")

func newTestLocalProvider() func() provider.Provider {
	return func() provider.Provider { return &testLocalProvider{} }
}

type testLocalProvider struct{}

func (p *testLocalProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "local"
}

func (p *testLocalProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = providerschema.Schema{}
}

func (p *testLocalProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}

func (p *testLocalProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{func() resource.Resource { return &testSensitiveFile{} }}
}

func (p *testLocalProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }

type testSensitiveFile struct{}

type testSensitiveFileModel struct {
	ID             types.String `tfsdk:"id"`
	Filename       types.String `tfsdk:"filename"`
	Content        types.String `tfsdk:"content"`
	FilePermission types.String `tfsdk:"file_permission"`
}

func (r *testSensitiveFile) Metadata(_ context.Context, _ resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = "local_sensitive_file"
}

func (r *testSensitiveFile) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{Attributes: map[string]schema.Attribute{
		"id":              schema.StringAttribute{Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
		"filename":        schema.StringAttribute{Required: true, PlanModifiers: replace},
		"content":         schema.StringAttribute{Required: true, Sensitive: true, PlanModifiers: replace},
		"file_permission": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("0700"), PlanModifiers: replace},
	}}
}

func (r *testSensitiveFile) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m testSensitiveFileModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	mode, err := strconv.ParseUint(m.FilePermission.ValueString(), 8, 32)
	if err == nil {
		err = os.WriteFile(m.Filename.ValueString(), []byte(m.Content.ValueString()), os.FileMode(mode))
	}
	if err == nil {
		err = os.Chmod(m.Filename.ValueString(), os.FileMode(mode))
	}
	if err != nil {
		resp.Diagnostics.AddError("write", err.Error())
		return
	}
	sum := sha1.Sum([]byte(m.Content.ValueString()))
	m.ID = types.StringValue(hex.EncodeToString(sum[:]))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *testSensitiveFile) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m testSensitiveFileModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if _, err := os.Stat(m.Filename.ValueString()); os.IsNotExist(err) {
		resp.State.RemoveResource(ctx)
	}
}

func (r *testSensitiveFile) Update(context.Context, resource.UpdateRequest, *resource.UpdateResponse) {
}

func (r *testSensitiveFile) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m testSensitiveFileModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	_ = os.Remove(m.Filename.ValueString())
}
