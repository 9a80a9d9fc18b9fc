package otlpx_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCgoLinkFlags builds and vets a program importing the package with
// the #cgo LDFLAGS of cgo.go, runs it, and checks it printed the redacted
// configuration: the static library and its native dependencies link here.
func TestCgoLinkFlags(t *testing.T) {
	gobin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	bin := filepath.Join(t.TempDir(), "otlpx-linkcheck")
	for _, args := range [][]string{
		{"build", "-o", bin, "../cmd/otlpx-linkcheck"},
		{"vet", "../cmd/otlpx-linkcheck"},
	} {
		cmd := exec.Command(gobin, args...)
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "OTEL_EXPORTER_OTLP_HEADERS=kf-api-key=secret-value",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	s := string(out)
	if !strings.HasPrefix(s, "otlpx ") || strings.Contains(s, "secret-value") || !strings.Contains(s, "kf-api-key") {
		t.Fatalf("unexpected output (the key must be redacted):\n%s", s)
	}
	if !strings.Contains(s, "127.0.0.1:1/v1/traces") {
		t.Errorf("endpoint not in the config string:\n%s", s)
	}
}
