// Command zipbootstrap packs a Lambda `bootstrap` binary into a deployment
// zip, marked executable, with a fixed timestamp so the same binary always
// gives the same zip. Usage: zipbootstrap OUT.zip bootstrap
package main

import (
	"archive/zip"
	"compress/flate"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: zipbootstrap OUT.zip FILE")
		os.Exit(2)
	}
	if err := pack(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintf(os.Stderr, "zipbootstrap: %v\n", err)
		os.Exit(1)
	}
}

func pack(out, file string) error {
	in, err := os.Open(file) // #nosec G304 G703 -- build tool: paths come from the Makefile
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	f, err := os.Create(out) // #nosec G304 G703 -- build tool: paths come from the Makefile
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		_ = f.Close()
		return err
	}
	if _, err := io.Copy(w, in); err != nil {
		_ = f.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
