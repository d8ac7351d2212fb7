package provider

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Unit tests for the token's plan logic: no server, no tofu, and a pinned clock, so that the
// rotate_before boundary is proven to the second.

func TestParseDuration(t *testing.T) {
	ok := map[string]time.Duration{
		"30d":     30 * 24 * time.Hour,
		"1d12h":   36 * time.Hour,
		"720h":    720 * time.Hour,
		"90m":     90 * time.Minute,
		"3600s":   time.Hour,
		"9m30s":   570 * time.Second,
		" 7d ":    7 * 24 * time.Hour,
		"0d1h":    time.Hour,
		"1h30m5s": time.Hour + 30*time.Minute + 5*time.Second,
	}
	for in, want := range ok {
		got, err := parseDuration(in)
		if err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "12", "-1h", "+1h", "1d-1h", "soon", "1w", "99999999999d"} {
		if got, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestRotationDue(t *testing.T) {
	expires := time.Date(2030, 1, 31, 0, 0, 0, 0, time.UTC)
	month := 30 * 24 * time.Hour
	cases := []struct {
		now  time.Time
		want bool
	}{
		{expires.Add(-month - time.Second), false}, // one second before the window
		{expires.Add(-month), true},                // exactly rotate_before before expiry
		{expires.Add(-time.Hour), true},
		{expires.Add(time.Hour), true}, // already expired
	}
	for _, c := range cases {
		if got := rotationDue(c.now, expires, month); got != c.want {
			t.Errorf("rotationDue(%s) = %v, want %v", c.now, got, c.want)
		}
	}
}

func TestTriggersForceReplacement(t *testing.T) {
	m := func(kv ...string) types.Map {
		values := map[string]attr.Value{}
		for i := 0; i < len(kv); i += 2 {
			values[kv[i]] = types.StringValue(kv[i+1])
		}
		return types.MapValueMust(types.StringType, values)
	}
	null := types.MapNull(types.StringType)
	cases := []struct {
		name            string
		plan, state     types.Map
		imported, wants bool
	}{
		{"unchanged", m("rotation", "1"), m("rotation", "1"), false, false},
		{"changed value", m("rotation", "2"), m("rotation", "1"), false, true},
		{"added key", m("rotation", "1", "x", "y"), m("rotation", "1"), false, true},
		{"removed", null, m("rotation", "1"), false, true},
		{"first set", m("rotation", "1"), null, false, true},
		{"first set after import", m("rotation", "1"), null, true, false},
		{"changed after import and apply", m("rotation", "2"), m("rotation", "1"), true, true},
		{"null and empty", m(), null, false, false},
		{"unknown", types.MapUnknown(types.StringType), m("rotation", "1"), false, true},
	}
	for _, c := range cases {
		if got := triggersForceReplacement(c.plan, c.state, c.imported); got != c.wants {
			t.Errorf("%s: got %v, want %v", c.name, got, c.wants)
		}
	}
}

// tokenTestSchema is the real latchkey_token schema.
func tokenTestSchema(t *testing.T) schema.Schema {
	t.Helper()
	var resp resource.SchemaResponse
	(&tokenResource{}).Schema(context.Background(), resource.SchemaRequest{}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatal(resp.Diagnostics)
	}
	return resp.Schema
}

// tokenValue builds a latchkey_token object: the given attributes, null for the rest.
func tokenValue(t *testing.T, s schema.Schema, attrs map[string]tftypes.Value) tftypes.Value {
	t.Helper()
	objType := s.Type().TerraformType(context.Background()).(tftypes.Object)
	values := map[string]tftypes.Value{}
	for name, typ := range objType.AttributeTypes {
		if v, ok := attrs[name]; ok {
			values[name] = v
		} else {
			values[name] = tftypes.NewValue(typ, nil)
		}
	}
	for name := range attrs {
		if _, ok := objType.AttributeTypes[name]; !ok {
			t.Fatalf("no attribute %q in the schema", name)
		}
	}
	return tftypes.NewValue(objType, values)
}

func str(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
func num(n int64) tftypes.Value  { return tftypes.NewValue(tftypes.Number, n) }

// existingToken is the state of a 30-day token that expires at 2030-01-31T00:00:00Z.
func existingToken(extra map[string]tftypes.Value) map[string]tftypes.Value {
	attrs := map[string]tftypes.Value{
		"id":                    str("8a0c63c9-6b3c-4a4e-9bb2-4f3a7b6f1d10"),
		"service_account":       str("ci@default.serviceaccounts.latchkey"),
		"service_account_id":    str("0e9d4c64-2bd0-4f7e-8d40-3b0b1a3e0c55"),
		"service_account_email": str("ci@default.serviceaccounts.latchkey"),
		"name":                  str("terraform"),
		"ttl_seconds":           num(30 * 86400),
		"token":                 str("lk_secret"),
		"created_at":            str("2030-01-01T00:00:00.000Z"),
		"expires_at":            str("2030-01-31T00:00:00.000Z"),
	}
	for k, v := range extra {
		attrs[k] = v
	}
	return attrs
}

type planOutcome struct {
	replace []string
	plan    tfsdk.Plan
	errors  []string
}

// modifyPlan runs the resource's ModifyPlan as the framework would, with the clock at now.
func modifyPlan(t *testing.T, now time.Time, state, plan map[string]tftypes.Value) planOutcome {
	t.Helper()
	ctx := context.Background()
	s := tokenTestSchema(t)
	r := &tokenResource{data: &providerData{clock: func() time.Time { return now }}}
	req := resource.ModifyPlanRequest{
		Config: tfsdk.Config{Schema: s, Raw: tokenValue(t, s, plan)},
		Plan:   tfsdk.Plan{Schema: s, Raw: tokenValue(t, s, plan)},
		State:  tfsdk.State{Schema: s, Raw: tftypes.NewValue(s.Type().TerraformType(ctx), nil)},
	}
	if plan == nil {
		req.Plan.Raw = tftypes.NewValue(s.Type().TerraformType(ctx), nil)
	}
	if state != nil {
		req.State.Raw = tokenValue(t, s, state)
	}
	resp := resource.ModifyPlanResponse{Plan: req.Plan}
	r.ModifyPlan(ctx, req, &resp)
	var out planOutcome
	for _, p := range resp.RequiresReplace {
		out.replace = append(out.replace, p.String())
	}
	for _, d := range resp.Diagnostics.Errors() {
		out.errors = append(out.errors, d.Summary()+": "+d.Detail())
	}
	out.plan = resp.Plan
	return out
}

func TestModifyPlan_RotateBefore(t *testing.T) {
	expires := time.Date(2030, 1, 31, 0, 0, 0, 0, time.UTC)
	withWindow := existingToken(map[string]tftypes.Value{"rotate_before": str("7d")})

	t.Run("outside the window the plan keeps the token", func(t *testing.T) {
		out := modifyPlan(t, expires.Add(-7*24*time.Hour-time.Second), withWindow, withWindow)
		if len(out.replace) != 0 || len(out.errors) != 0 {
			t.Fatalf("got replace %v, errors %v", out.replace, out.errors)
		}
	})
	t.Run("at the window's start the plan replaces it", func(t *testing.T) {
		out := modifyPlan(t, expires.Add(-7*24*time.Hour), withWindow, withWindow)
		if strings.Join(out.replace, ",") != "expires_at" {
			t.Fatalf("got replace %v, errors %v", out.replace, out.errors)
		}
		var planned types.String
		out.plan.GetAttribute(context.Background(), path.Root("expires_at"), &planned)
		if !planned.IsUnknown() {
			t.Errorf("expires_at should be unknown in a replacing plan, got %s", planned)
		}
	})
	t.Run("an expired token is replaced", func(t *testing.T) {
		out := modifyPlan(t, expires.Add(time.Minute), withWindow, withWindow)
		if len(out.replace) != 1 {
			t.Fatalf("got replace %v", out.replace)
		}
	})
	t.Run("without rotate_before nothing happens however close the expiry", func(t *testing.T) {
		plain := existingToken(nil)
		out := modifyPlan(t, expires.Add(-time.Second), plain, plain)
		if len(out.replace) != 0 {
			t.Fatalf("got replace %v", out.replace)
		}
	})
	t.Run("a window as long as the lifetime is refused", func(t *testing.T) {
		long := existingToken(map[string]tftypes.Value{"rotate_before": str("30d")})
		out := modifyPlan(t, expires.Add(-40*24*time.Hour), long, long)
		if len(out.errors) != 1 || !strings.Contains(out.errors[0], "shorter than the lifetime") {
			t.Fatalf("got errors %v", out.errors)
		}
	})
	t.Run("create and destroy are left alone", func(t *testing.T) {
		if out := modifyPlan(t, expires, nil, withWindow); len(out.replace) != 0 || len(out.errors) != 0 {
			t.Fatalf("create: %v %v", out.replace, out.errors)
		}
		if out := modifyPlan(t, expires, withWindow, nil); len(out.replace) != 0 || len(out.errors) != 0 {
			t.Fatalf("destroy: %v %v", out.replace, out.errors)
		}
	})
}

func TestModifyPlan_TTL(t *testing.T) {
	now := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	plannedTTL := func(out planOutcome) types.Int64 {
		var v types.Int64
		out.plan.GetAttribute(context.Background(), path.Root("ttl_seconds"), &v)
		return v
	}

	t.Run("ttl_days becomes ttl_seconds on create", func(t *testing.T) {
		out := modifyPlan(t, now, nil, map[string]tftypes.Value{
			"service_account": str("ci@default.serviceaccounts.latchkey"),
			"ttl_days":        num(30),
			"ttl_seconds":     tftypes.NewValue(tftypes.Number, tftypes.UnknownValue),
		})
		if got := plannedTTL(out); got.ValueInt64() != 30*86400 {
			t.Fatalf("ttl_seconds planned as %s", got)
		}
	})
	t.Run("ttl_days equal to the token's lifetime changes nothing", func(t *testing.T) {
		state := existingToken(nil)
		plan := existingToken(map[string]tftypes.Value{"ttl_days": num(30)})
		if out := modifyPlan(t, now, state, plan); len(out.replace) != 0 {
			t.Fatalf("got replace %v", out.replace)
		}
	})
	t.Run("a different lifetime replaces the token", func(t *testing.T) {
		state := existingToken(nil)
		for name, plan := range map[string]map[string]tftypes.Value{
			"ttl_days":    existingToken(map[string]tftypes.Value{"ttl_days": num(31)}),
			"ttl_seconds": existingToken(map[string]tftypes.Value{"ttl_seconds": num(3600)}),
			"unknown":     existingToken(map[string]tftypes.Value{"ttl_seconds": tftypes.NewValue(tftypes.Number, tftypes.UnknownValue)}),
		} {
			if out := modifyPlan(t, now, state, plan); strings.Join(out.replace, ",") != "ttl_seconds" {
				t.Errorf("%s: got replace %v", name, out.replace)
			}
		}
	})
}

// stringModifierRequest builds the request the framework gives an attribute plan modifier of
// service_account.
func serviceAccountRequest(t *testing.T, state map[string]tftypes.Value, planned types.String) planmodifier.StringRequest {
	t.Helper()
	s := tokenTestSchema(t)
	plan := existingToken(nil)
	stateValue := types.StringNull()
	req := planmodifier.StringRequest{
		Path:       path.Root("service_account"),
		PlanValue:  planned,
		StateValue: stateValue,
		Plan:       tfsdk.Plan{Schema: s, Raw: tokenValue(t, s, plan)},
		State:      tfsdk.State{Schema: s, Raw: tftypes.NewValue(s.Type().TerraformType(context.Background()), nil)},
	}
	if state != nil {
		req.State.Raw = tokenValue(t, s, state)
		var v types.String
		req.State.GetAttribute(context.Background(), path.Root("service_account"), &v)
		req.StateValue = v
	}
	return req
}

func TestSameServiceAccount(t *testing.T) {
	state := existingToken(nil) // ci@default…, id 0e9d4c64-…
	cases := []struct {
		name    string
		state   map[string]tftypes.Value
		planned types.String
		replace bool
	}{
		{"same email", state, types.StringValue("ci@default.serviceaccounts.latchkey"), false},
		{"the same account's id", state, types.StringValue("0e9d4c64-2bd0-4f7e-8d40-3b0b1a3e0c55"), false},
		{"the same id in capitals", state, types.StringValue("0E9D4C64-2BD0-4F7E-8D40-3B0B1A3E0C55"), false},
		{"another account", state, types.StringValue("other@default.serviceaccounts.latchkey"), true},
		{"another project", state, types.StringValue("ci@prod.serviceaccounts.latchkey"), true},
		{"another id", state, types.StringValue("11111111-2222-3333-4444-555555555555"), true},
		{"unknown (the account is being replaced)", state, types.StringUnknown(), true},
		{"create", nil, types.StringValue("ci@default.serviceaccounts.latchkey"), false},
	}
	for _, c := range cases {
		req := serviceAccountRequest(t, c.state, c.planned)
		var resp planmodifier.StringResponse
		resp.PlanValue = req.PlanValue
		sameServiceAccount{}.PlanModifyString(context.Background(), req, &resp)
		if resp.Diagnostics.HasError() {
			t.Fatalf("%s: %v", c.name, resp.Diagnostics)
		}
		if resp.RequiresReplace != c.replace {
			t.Errorf("%s: RequiresReplace = %v, want %v", c.name, resp.RequiresReplace, c.replace)
		}
	}
}

func TestReplaceOnTriggerChange_WithoutPrivateState(t *testing.T) {
	s := tokenTestSchema(t)
	ctx := context.Background()
	one := types.MapValueMust(types.StringType, map[string]attr.Value{"rotation": types.StringValue("1")})
	two := types.MapValueMust(types.StringType, map[string]attr.Value{"rotation": types.StringValue("2")})
	req := planmodifier.MapRequest{
		Path:       path.Root("rotate_when_changed"),
		PlanValue:  two,
		StateValue: one,
		Plan:       tfsdk.Plan{Schema: s, Raw: tokenValue(t, s, existingToken(nil))},
		State:      tfsdk.State{Schema: s, Raw: tokenValue(t, s, existingToken(nil))},
	}
	var resp planmodifier.MapResponse
	replaceOnTriggerChange{}.PlanModifyMap(ctx, req, &resp)
	if !resp.RequiresReplace {
		t.Fatal("a changed trigger must replace the token")
	}
}
