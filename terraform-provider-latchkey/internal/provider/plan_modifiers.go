package provider

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/latchkey/terraform-provider-latchkey/internal/client"
)

// importedKey marks, in a token's private state, a resource that came from `import` and has not
// been applied since: its provider-only arguments (rotate_when_changed) were never stored, so
// their first appearance must not replace the token that was just adopted.
const importedKey = "imported"

// rotationDue reports whether a token expiring at expiresAt is within `before` of expiring at now,
// and so must be replaced. The boundary counts as due: "within 30 days" includes exactly 30 days.
func rotationDue(now, expiresAt time.Time, before time.Duration) bool {
	return !now.Add(before).Before(expiresAt)
}

var durationPart = regexp.MustCompile(`^(\d+)d(.*)$`)

// parseDuration reads a lifetime like the Latchkey CLI does, plus Go's units: "30d", "12h",
// "90m", "3600s", "1d12h", "720h". Negative durations are refused.
func parseDuration(s string) (time.Duration, error) {
	text := strings.TrimSpace(s)
	var total time.Duration
	if m := durationPart.FindStringSubmatch(text); m != nil {
		days, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || days > 100_000 {
			return 0, fmt.Errorf("%q: too many days", s)
		}
		total = time.Duration(days) * 24 * time.Hour
		text = m[2]
	} else if text == "" {
		return 0, fmt.Errorf("%q is not a duration: expected a number and a unit, like 30d, 12h or 90m", s)
	}
	if text != "" {
		if strings.HasPrefix(text, "-") || strings.HasPrefix(text, "+") {
			return 0, fmt.Errorf("%q is not a positive duration", s)
		}
		d, err := time.ParseDuration(text)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration: expected a number and a unit, like 30d, 12h or 90m", s)
		}
		total += d
	}
	return total, nil
}

// durationValidator checks rotate_before at validate time.
type durationValidator struct{}

func (durationValidator) Description(context.Context) string {
	return "a positive duration such as 30d, 12h, 90m or 1d12h"
}

func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	d, err := parseDuration(req.ConfigValue.ValueString())
	if err == nil && d <= 0 {
		err = fmt.Errorf("%q must be longer than zero", req.ConfigValue.ValueString())
	}
	if err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid duration", err.Error())
	}
}

// serviceAccountRefValidator accepts an account's email or id.
type serviceAccountRefValidator struct{}

func (serviceAccountRefValidator) Description(context.Context) string {
	return "a service account email ({name}@{project}.serviceaccounts.latchkey) or id"
}

func (v serviceAccountRefValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v serviceAccountRefValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	ref := req.ConfigValue.ValueString()
	if _, _, ok := client.ParseEmail(ref); ok || client.IsUUID(ref) {
		return
	}
	resp.Diagnostics.AddAttributeError(req.Path, "Invalid service account", fmt.Sprintf("%q is not %s.", ref, v.Description(ctx)))
}

// sameServiceAccount replaces the token when service_account names another account, and only
// then: switching between an account's email and its id (or importing, which records the email)
// changes nothing on the server.
type sameServiceAccount struct{}

func (sameServiceAccount) Description(context.Context) string {
	return "Replaces the token when service_account names a different account; switching between its email and id is an in-place change."
}

func (m sameServiceAccount) MarkdownDescription(ctx context.Context) string {
	return m.Description(ctx)
}

func (sameServiceAccount) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() || req.PlanValue.Equal(req.StateValue) {
		return
	}
	if req.PlanValue.IsUnknown() {
		resp.RequiresReplace = true
		return
	}
	var id, email types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("service_account_id"), &id)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("service_account_email"), &email)...)
	ref := req.PlanValue.ValueString()
	if ref == email.ValueString() || (client.IsUUID(ref) && strings.EqualFold(ref, id.ValueString())) {
		return
	}
	resp.RequiresReplace = true
}

// replaceOnTriggerChange is random's `keepers` and STACKIT's `rotate_when_changed`: any change of
// the map replaces the token; except that a freshly imported token adopts the configured map
// instead of being replaced at once.
type replaceOnTriggerChange struct{}

func (replaceOnTriggerChange) Description(context.Context) string {
	return "Replaces the token when any value in the map changes (except on the first apply after import)."
}

func (m replaceOnTriggerChange) MarkdownDescription(ctx context.Context) string {
	return m.Description(ctx)
}

func (replaceOnTriggerChange) PlanModifyMap(ctx context.Context, req planmodifier.MapRequest, resp *planmodifier.MapResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return // create or destroy
	}
	imported := false
	if req.Private != nil {
		value, diags := req.Private.GetKey(ctx, importedKey)
		resp.Diagnostics.Append(diags...)
		imported = string(value) == "true"
	}
	resp.RequiresReplace = triggersForceReplacement(req.PlanValue, req.StateValue, imported)
}

// triggersForceReplacement decides for rotate_when_changed: any change replaces the token, except
// that null and {} are the same, and that an imported token (whose state never held the map)
// adopts whatever the configuration says.
func triggersForceReplacement(plan, state types.Map, imported bool) bool {
	if plan.Equal(state) {
		return false
	}
	if plan.IsUnknown() {
		return true
	}
	if len(plan.Elements()) == 0 && len(state.Elements()) == 0 {
		return false
	}
	return !(imported && state.IsNull())
}
