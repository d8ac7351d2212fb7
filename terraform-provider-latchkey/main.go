package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/latchkey/terraform-provider-latchkey/internal/provider"
)

// Generate the docs/ folder from the schema and examples/ (see scripts/docs.sh).
//go:generate bash scripts/docs.sh

// version is set at release time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/latchkey/latchkey",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}
