package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's Terraform section, run as a reader would: build the provider, point OpenTofu at
// the build with dev_overrides (no `init`), apply the five-line example against the server,
// check the token works, destroy, and check it no longer does.
func TestAccReadmeExample(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	testAccPreCheck(t)
	tofu := os.Getenv("TF_ACC_TERRAFORM_PATH")
	readme, err := os.ReadFile(filepath.Join(repoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := between(t, string(readme), "<!-- terraform:start -->", "<!-- terraform:end -->")
	var cliConfig, mainTF string
	for _, block := range fencedBlocks(section, "hcl") {
		switch {
		case strings.Contains(block, "dev_overrides"):
			cliConfig = block
		case strings.Contains(block, "resource "):
			mainTF = block
		}
	}
	if cliConfig == "" || mainTF == "" {
		t.Fatalf("the README's Terraform section needs an hcl block with dev_overrides and one with the example")
	}
	if n := strings.Count(strings.TrimSpace(mainTF), "\n") + 1; n != 5 {
		t.Fatalf("the README promises a five-line example; it has %d lines", n)
	}

	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(os.PathSeparator), ".")
	build.Dir = filepath.Join(repoRoot(), "terraform-provider-latchkey")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const placeholder = "/path/to/latchkey/terraform-provider-latchkey/bin"
	if !strings.Contains(cliConfig, placeholder) {
		t.Fatalf("the dev_overrides block should name %s for the reader to replace", placeholder)
	}
	work := t.TempDir()
	rc := filepath.Join(work, "dev.tfrc")
	writeFile(t, rc, strings.ReplaceAll(cliConfig, placeholder, bin))
	writeFile(t, filepath.Join(work, "main.tf"), mainTF)

	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(tofu, args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "TF_REATTACH_PROVIDERS=")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("tofu %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	run("apply", "-auto-approve", "-input=false", "-no-color")
	destroyed := false
	defer func() {
		if !destroyed {
			run("destroy", "-auto-approve", "-input=false", "-no-color")
		}
	}()

	var shown struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Address string         `json:"address"`
					Values  map[string]any `json:"values"`
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal([]byte(run("show", "-json")), &shown); err != nil {
		t.Fatal(err)
	}
	secret := ""
	for _, r := range shown.Values.RootModule.Resources {
		if r.Address == "latchkey_token.ci" {
			secret, _ = r.Values["token"].(string)
		}
	}
	if status, err := whoamiStatus(secret); err != nil || status != http.StatusOK {
		t.Fatalf("the example's token does not authenticate: %d %v", status, err)
	}
	run("destroy", "-auto-approve", "-input=false", "-no-color")
	destroyed = true
	if status, err := whoamiStatus(secret); err != nil || status != http.StatusUnauthorized {
		t.Fatalf("after destroy the token got %d (%v), expected 401", status, err)
	}
	if _, err := testClient(t).GetServiceAccount(context.Background(), "default", "ci"); err == nil {
		t.Fatal("after destroy the example's service account still exists")
	}
}

func between(t *testing.T, s, start, end string) string {
	t.Helper()
	i, j := strings.Index(s, start), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %s … %s section", start, end)
	}
	return s[i+len(start) : j]
}

// fencedBlocks returns the bodies of the ```lang blocks in markdown.
func fencedBlocks(markdown, lang string) []string {
	re := regexp.MustCompile("(?ms)^```" + regexp.QuoteMeta(lang) + "[^\\n]*\\n(.*?)^```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(markdown, -1) {
		out = append(out, m[1])
	}
	return out
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(fmt.Errorf("writing %s: %w", path, err))
	}
}
