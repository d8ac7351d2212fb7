package provider

import (
	"context"
	"fmt"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// dataFrom unpacks what the provider's Configure handed over. nil means "not configured yet"
// (Terraform validates configurations before configuring providers), which is not an error.
func dataFrom(raw any, diags *diag.Diagnostics) *providerData {
	if raw == nil {
		return nil
	}
	data, ok := raw.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("Expected *providerData, got %T. This is a bug in the provider.", raw))
		return nil
	}
	return data
}

// notConfigured is reported when a CRUD call arrives before the provider was configured.
func notConfigured(diags *diag.Diagnostics) {
	diags.AddError("Provider not configured",
		"The Latchkey provider is not configured: its address or token is not known yet (for example a token "+
			"from an ephemeral resource that depends on something still to be created). Create that first, or "+
			"configure the provider with known values.")
}

func stringMap(m map[string]string) types.Map {
	values := make(map[string]attr.Value, len(m))
	for k, v := range m {
		values[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, values)
}

func stringSet(items []string) types.Set {
	values := make([]attr.Value, 0, len(items))
	for _, v := range items {
		values = append(values, types.StringValue(v))
	}
	return types.SetValueMust(types.StringType, values)
}

func stringList(items []string) types.List {
	values := make([]attr.Value, 0, len(items))
	for _, v := range items {
		values = append(values, types.StringValue(v))
	}
	return types.ListValueMust(types.StringType, values)
}

// mapToGo converts a known map to Go; a null or unknown map becomes nil.
func mapToGo(ctx context.Context, m types.Map, diags *diag.Diagnostics) map[string]string {
	if m.IsNull() || m.IsUnknown() {
		return nil
	}
	out := map[string]string{}
	diags.Append(m.ElementsAs(ctx, &out, false)...)
	return out
}

// setToGo converts a known set of strings to a slice; a null or unknown set becomes nil.
func setToGo(ctx context.Context, s types.Set, diags *diag.Diagnostics) []string {
	if s.IsNull() || s.IsUnknown() {
		return nil
	}
	var out []string
	diags.Append(s.ElementsAs(ctx, &out, false)...)
	return out
}

// listToGo converts a known list of strings to a slice; a null or unknown list becomes nil.
func listToGo(ctx context.Context, l types.List, diags *diag.Diagnostics) []string {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	var out []string
	diags.Append(l.ElementsAs(ctx, &out, false)...)
	return out
}

// optString is a pointer to the value when it is known and not null, for PATCH and create bodies.
func optString(v types.String) *string {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	s := v.ValueString()
	return &s
}

// changedString is a pointer to the planned value when it differs from the prior state.
func changedString(plan, state types.String) *string {
	if plan.IsUnknown() || plan.Equal(state) {
		return nil
	}
	return optString(plan)
}

// changedMap is a pointer to the planned map when it differs from the prior state.
func changedMap(ctx context.Context, plan, state types.Map, diags *diag.Diagnostics) *map[string]string {
	if plan.IsUnknown() || plan.Equal(state) {
		return nil
	}
	m := mapToGo(ctx, plan, diags)
	if m == nil {
		m = map[string]string{}
	}
	return &m
}

var dnsLabelRegexp = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func emptyStringMap() types.Map { return types.MapValueMust(types.StringType, map[string]attr.Value{}) }

func emptyStringSet() types.Set { return types.SetValueMust(types.StringType, []attr.Value{}) }

var noWhitespaceRegexp = regexp.MustCompile(`^[^\s\x00-\x1f\x7f]+$`)

func regexpMust(expr string) *regexp.Regexp { return regexp.MustCompile(expr) }

var (
	uuidRegexp  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	emailRegexp = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?@[a-z0-9]([-a-z0-9]*[a-z0-9])?\.serviceaccounts\.latchkey$`)
)
