package lambdatest_test

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/cfn"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
)

// What sam build leaves out of its copy of a makefile function's CodeUri:
// aws-lambda-builders' CustomMakeWorkflow.EXCLUDED_FILES, matched against
// every name at every level (shutil.ignore_patterns). Nothing else: SAM reads
// no .samignore and no .gitignore.
var samExcluded = []string{".aws-sam", ".git"}

// samCopyBudget is the most a function's build context may hold. The whole
// checkout (CodeUri: .) is hundreds of megabytes with the tools and
// node_modules; a build context is a Makefile.
const samCopyBudget = 1 << 20

// notBuildInput names what must never be copied into a build: the tools, the
// local stack's data, npm packages, git, build output, test data and test
// code, pictures (the dashboard's screenshots). It answers the offending
// part of rel (a directory, or the file), "" when rel is build input.
func notBuildInput(rel string) string {
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for i, part := range parts {
		switch part {
		case ".bin", ".local", "node_modules", ".git", ".build", ".aws-sam", "testdata", ".ci":
			return strings.Join(parts[:i+1], "/") + "/"
		}
	}
	base := strings.ToLower(filepath.Base(rel))
	switch filepath.Ext(base) {
	case ".png", ".jpg", ".jpeg", ".webp", ".zip", ".jar":
		return rel
	}
	if strings.HasSuffix(base, "_test.go") || strings.Contains(base, "screenshot") {
		return rel
	}
	return ""
}

type samFile struct {
	rel  string
	size int64
}

// samSources lists what sam build copies from dir into its scratch
// directory, as aws-lambda-builders' copytree does: symbolic links followed,
// the excluded names skipped at every level. It only looks (copying is the
// caller's), so a whole checkout is listed quickly.
func samSources(dir string) ([]samFile, int64, error) {
	var files []samFile
	var total int64
	var walk func(rel string, depth int) error
	walk = func(rel string, depth int) error {
		if depth > 40 {
			return fmt.Errorf("%s: too deep (a symbolic link loop?)", rel)
		}
		entries, err := os.ReadDir(filepath.Join(dir, rel))
		if err != nil {
			return err
		}
		for _, e := range entries {
			if slices.Contains(samExcluded, e.Name()) {
				continue
			}
			r := filepath.Join(rel, e.Name())
			fi, err := os.Stat(filepath.Join(dir, r)) // follows links, as copytree does
			if err != nil {
				return err
			}
			if fi.IsDir() {
				if err := walk(r, depth+1); err != nil {
					return err
				}
				continue
			}
			files = append(files, samFile{rel: r, size: fi.Size()})
			total += fi.Size()
		}
		return nil
	}
	err := walk("", 0)
	return files, total, err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src) // #nosec G304 -- a file of the repository's build context
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	out, err := os.Create(dst) // #nosec G304 -- under the test's temporary directory
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// TestSAMPackaging packages every makefile function of template.yaml as sam
// build does: its CodeUri copied into a scratch directory (SAM's exclusions
// only), `make --makefile <CodeUri>/Makefile build-<LogicalId>` run there with
// ARTIFACTS_DIR set. The copy must hold nothing but build input and stay
// small, the artifacts must be one bootstrap, and that bootstrap must be what
// Lambda's provided.al2023 on arm64 runs: a static arm64 ELF executable,
// built with -trimpath (no path of the checkout inside), and its zip must fit
// the budget (checkZipBudget).
func TestSAMPackaging(t *testing.T) {
	root := testenv.RepoRoot(t)
	tpl, err := cfn.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, id := range tpl.Functions() {
		if tpl.Resources[id].Metadata["BuildMethod"] == "makefile" {
			ids = append(ids, id)
		}
	}
	if len(ids) != len(deployedFunctions(t)) {
		t.Fatalf("%d functions with BuildMethod: makefile in template.yaml, %d under functions/", len(ids), len(deployedFunctions(t)))
	}
	tmp := t.TempDir()
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			codeURI, ok := tpl.Resources[id].Properties["CodeUri"].(string)
			if !ok || codeURI == "" {
				t.Fatalf("CodeUri is %v, want a directory of the repository", tpl.Resources[id].Properties["CodeUri"])
			}
			codeDir := filepath.Join(root, filepath.FromSlash(codeURI))
			files, total, err := samSources(codeDir)
			if err != nil {
				t.Fatalf("sam build's copy of CodeUri %s: %v", codeURI, err)
			}
			if total > samCopyBudget {
				t.Errorf("sam build would copy %d files, %d bytes, from CodeUri %s into each build (budget %d)", len(files), total, codeURI, samCopyBudget)
			}
			var bad []string
			for _, f := range files {
				if what := notBuildInput(f.rel); what != "" && !slices.Contains(bad, what) {
					bad = append(bad, what)
				}
			}
			if len(bad) > 0 {
				// Whole directories first, then single files.
				slices.SortStableFunc(bad, func(a, b string) int {
					return cmpBool(!strings.HasSuffix(a, "/"), !strings.HasSuffix(b, "/"))
				})
				if len(bad) > 12 {
					bad = append(bad[:12], fmt.Sprintf("… %d more", len(bad)-12))
				}
				t.Errorf("sam build would copy CodeUri %s with what is not build input: %s", codeURI, strings.Join(bad, ", "))
			}
			if t.Failed() {
				return
			}
			scratch := filepath.Join(tmp, "scratch-"+id)
			for _, f := range files {
				if err := copyFile(filepath.Join(codeDir, f.rel), filepath.Join(scratch, f.rel)); err != nil {
					t.Fatal(err)
				}
			}
			artifacts := filepath.Join(tmp, "artifacts", id)
			if err := os.MkdirAll(artifacts, 0o750); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "make", "--makefile", filepath.Join(codeDir, "Makefile"), "build-"+id) // #nosec G204 -- make on the repository's Makefile and a logical id of its template
			cmd.Dir = scratch
			cmd.Env = append(os.Environ(), "ARTIFACTS_DIR="+artifacts)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("make build-%s (cwd: the copy of %s): %v\n%s", id, codeURI, err, out)
			}
			entries, err := os.ReadDir(artifacts)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Name() != "bootstrap" {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Fatalf("artifacts of %s: %v, want [bootstrap]", id, names)
			}
			checkLambdaBootstrap(t, filepath.Join(artifacts, "bootstrap"), root)
			// build-AuthFunction builds functions/auth (infra/sam/Makefile).
			checkZipBudget(t, strings.ToLower(strings.TrimSuffix(id, "Function")), filepath.Join(artifacts, "bootstrap"))
		})
	}
}

// checkLambdaBootstrap: a static linux/arm64 ELF executable, executable by
// its owner, that names no path of the checkout at root.
func checkLambdaBootstrap(t *testing.T, path, root string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("bootstrap mode %v: not executable", fi.Mode())
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("bootstrap is not an ELF file: %v", err)
	}
	defer func() { _ = f.Close() }()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_AARCH64 || f.Type != elf.ET_EXEC || f.OSABI != elf.ELFOSABI_NONE {
		t.Errorf("bootstrap is %v %v %v %v, want ELFCLASS64 EM_AARCH64 ET_EXEC (Lambda arm64)", f.Class, f.Machine, f.Type, f.OSABI)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("bootstrap has %v: dynamically linked (CGO_ENABLED=0 builds a static one)", p.Type)
		}
	}
	data, err := os.ReadFile(path) // #nosec G304 -- the bootstrap this test built
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(root)) {
		t.Errorf("bootstrap contains the checkout's path %s: built without -trimpath", root)
	}
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
