package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/latchkey/terraform-provider-latchkey/internal/client"
)

// The acceptance tests run against a real Latchkey server, started by TestMain from the
// repository's own bin/latchkey.js on a free port with a fresh data directory, and a real
// OpenTofu (TF_ACC_TERRAFORM_PATH; scripts/tools.sh builds it from the Go module proxy).

var (
	testAddr   string // the server's base URL
	testToken  string // the bootstrap (organization owner) token
	testSuffix = fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff)
	nameSeq    atomic.Int64
)

// testAccProtoV6ProviderFactories serves the provider in-process to the tofu the tests drive.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"latchkey": providerserver.NewProtocol6WithError(New("test")()),
}

// timeProvider is hashicorp/time from the filesystem mirror that scripts/tools.sh fills.
var timeProvider = map[string]resource.ExternalProvider{"time": {Source: "hashicorp/time"}}

func TestMain(m *testing.M) {
	if os.Getenv("TF_ACC") == "" {
		os.Exit(m.Run())
	}
	defaultToolEnv()
	stop, err := startServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "acceptance tests: could not start the Latchkey server:", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// defaultToolEnv points terraform-plugin-testing at the cached OpenTofu and plugin mirror when
// the caller did not (scripts/acceptance.sh sets the same), so `TF_ACC=1 go test ./...` works.
func defaultToolEnv() {
	cache := os.Getenv("LATCHKEY_TOOL_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "latchkey")
	}
	setDefault := func(k, v string) {
		if os.Getenv(k) == "" {
			_ = os.Setenv(k, v)
		}
	}
	setDefault("TF_ACC_TERRAFORM_PATH", filepath.Join(cache, "tofu-1.12.6", "tofu"))
	setDefault("TF_ACC_PROVIDER_HOST", "registry.opentofu.org")
	setDefault("TF_ACC_PROVIDER_NAMESPACE", "hashicorp")
	if _, err := os.Stat(os.Getenv("TF_CLI_CONFIG_FILE")); err != nil {
		// Unset, or naming a file that is not there (some machines export ~/.terraformrc).
		_ = os.Setenv("TF_CLI_CONFIG_FILE", filepath.Join(cache, "tofurc"))
	}
	setDefault("CHECKPOINT_DISABLE", "1")
}

// repoRoot is the Latchkey checkout that holds this provider (LATCHKEY_REPO overrides).
func repoRoot() string {
	if r := os.Getenv("LATCHKEY_REPO"); r != "" {
		return r
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startServer runs `node bin/latchkey.js server` and waits for it to be ready.
func startServer() (stop func(), err error) {
	root := repoRoot()
	dataDir, err := os.MkdirTemp("", "latchkey-tfacc-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dataDir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("node", "bin/latchkey.js", "server", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", dataDir)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "LATCHKEY_LOG_LEVEL=warn")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting node bin/latchkey.js in %s: %w", root, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		_ = logFile.Close()
		if os.Getenv("LATCHKEY_KEEP_DATA") == "" {
			_ = os.RemoveAll(dataDir)
		}
	}
	testAddr = fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("the server exited (%v):\n%s", err, log)
		default:
		}
		if resp, err := http.Get(testAddr + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("the server at %s was not ready within 90 s", testAddr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	token, err := os.ReadFile(filepath.Join(dataDir, "bootstrap-token"))
	if err != nil {
		stop()
		return nil, err
	}
	testToken = strings.TrimSpace(string(token))
	_ = os.Setenv("LATCHKEY_ADDR", testAddr)
	_ = os.Setenv("LATCHKEY_TOKEN", testToken)
	return stop, nil
}

func testAccPreCheck(t *testing.T) {
	t.Helper()
	if testAddr == "" || testToken == "" {
		t.Fatal("the Latchkey server is not running (TestMain starts it when TF_ACC is set)")
	}
}

// testClient is the bootstrap owner's client, for out-of-band actions and checks.
func testClient(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.New(testAddr, testToken)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// uniqueName is a DNS label unique to this run, so tests never collide on names.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%s-%d", prefix, testSuffix, nameSeq.Add(1))
}

// whoamiStatus is the HTTP status of GET /v1/whoami with secret as the bearer token.
func whoamiStatus(secret string) (int, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, testAddr+"/v1/whoami", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	return resp.StatusCode, nil
}

// jwtPattern matches any compact JWS: base64url of a JSON header ("eyJ…"), payload, signature.
var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)

// containsJWT reports whether anything in v, marshalled to JSON, looks like a JWT.
func containsJWT(v any) (string, bool) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", false
	}
	m := jwtPattern.Find(raw)
	return string(m), m != nil
}

type auditEvent struct {
	Action  string `json:"action"`
	Outcome string `json:"outcome"`
	Target  struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"target"`
}

// auditEvents lists the newest audit events with the given action, as the bootstrap owner.
func auditEvents(action string) ([]auditEvent, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, testAddr+"/v1/audit-events?limit=200&action="+action, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/audit-events: %s", resp.Status)
	}
	var page struct {
		Items []auditEvent `json:"items"`
	}
	return page.Items, json.NewDecoder(resp.Body).Decode(&page)
}
