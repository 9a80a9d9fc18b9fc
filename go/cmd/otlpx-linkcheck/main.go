// Command otlpx-linkcheck links the otlpx Go package (the static Rust
// library through cgo) and prints the library version and the effective,
// redacted configuration. Built by link_test.go to prove the #cgo LDFLAGS
// link on this machine; also handy to see what the exporter will do:
//
//	go run ./cmd/otlpx-linkcheck
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/otlpx/otlpx/go/otlpx"
)

func main() {
	e, err := otlpx.NewExporter()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("otlpx", otlpx.Version())
	fmt.Print(e.ConfigString())
	if _, err := e.Shutdown(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
