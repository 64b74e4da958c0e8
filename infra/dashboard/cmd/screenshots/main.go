// Command screenshots saves the README's pictures of the dashboard's main
// pages (infra/dashboard/screenshots/*.png, 1000×700): it runs the browser
// tests' Screenshots flow, which drives the whole local stack and headless
// Chromium through a sign-up and a login, with its output directory set.
//
//	go run ./infra/dashboard/cmd/screenshots
//
// Run it from the repository's root; it starts the local stack's services
// itself (atrium-local exec) and needs what `make test` needs (Java for
// DynamoDB Local, Chromium).
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

func main() {
	dir, err := filepath.Abs(filepath.Join("infra", "dashboard", "screenshots"))
	if err == nil {
		_, err = os.Stat(filepath.Join("infra", "dashboard", "browsertest"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "screenshots: run me from the repository's root:", err)
		os.Exit(2)
	}
	cmd := exec.Command("go", "run", "./infra/local/cmd/atrium-local", "exec", "--", // #nosec G204 -- fixed arguments
		"go", "test", "-count=1", "-v", "-run", "^TestDashboard$/^Screenshots$", "./infra/dashboard/browsertest/",
		"-args", "-screenshots="+dir)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "screenshots:", err)
		os.Exit(1)
	}
	fmt.Println("screenshots: saved in", dir)
}
