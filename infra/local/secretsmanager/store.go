package secretsmanager

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// dataFormat is the version of the DataFile layout.
const dataFormat = 1

type dataFile struct {
	Format  int       `json:"format"`
	Seq     uint64    `json:"seq"`
	Secrets []*secret `json:"secrets"`
}

// load reads DataFile into s. A missing file is an empty state.
func (s *Server) load() error {
	raw, err := os.ReadFile(s.dataFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", s.dataFile, err)
	}
	var df dataFile
	if err := json.Unmarshal(raw, &df); err != nil {
		return fmt.Errorf("parse %s: %w", s.dataFile, err)
	}
	if df.Format != dataFormat {
		return fmt.Errorf("%s: unsupported format %d (want %d)", s.dataFile, df.Format, dataFormat)
	}
	s.seq = df.Seq
	for i, sec := range df.Secrets {
		if err := checkLoaded(sec); err != nil {
			return fmt.Errorf("%s: secret %d: %w", s.dataFile, i, err)
		}
		if s.secrets[sec.Name] != nil {
			return fmt.Errorf("%s: secret %q appears twice", s.dataFile, sec.Name)
		}
		s.secrets[sec.Name] = sec
		s.seq = max(s.seq, sec.Seq)
	}
	s.purgeLocked(s.now())
	return nil
}

func checkLoaded(sec *secret) error {
	switch {
	case sec == nil:
		return errors.New("null entry")
	case !validName(sec.Name):
		return fmt.Errorf("invalid name %q", sec.Name)
	case sec.ARN == "":
		return fmt.Errorf("secret %q has no ARN", sec.Name)
	case (sec.DeletedDate == nil) != (sec.DeletionDate == nil):
		return fmt.Errorf("secret %q has only one of deletedDate and deletionDate", sec.Name)
	}
	for _, v := range sec.Versions {
		if v == nil || v.ID == "" || (v.String == nil) == (v.Binary == nil) {
			return fmt.Errorf("secret %q has a malformed version", sec.Name)
		}
	}
	return nil
}

// saveLocked writes the whole state to DataFile atomically: a temporary file
// (mode 0600) in the same directory, synced, then renamed over the target.
func (s *Server) saveLocked() error {
	df := dataFile{Format: dataFormat, Seq: s.seq, Secrets: make([]*secret, 0, len(s.secrets))}
	for _, sec := range s.secrets {
		df.Secrets = append(df.Secrets, sec)
	}
	sort.Slice(df.Secrets, func(i, j int) bool { return df.Secrets[i].Name < df.Secrets[j].Name })
	raw, err := json.MarshalIndent(df, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.dataFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(s.dataFile)+".tmp-*")
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err := tmp.Write(raw); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), s.dataFile); err != nil {
		return err
	}
	committed = true
	// Make the rename itself durable; not every platform allows syncing a
	// directory, so this is best effort.
	if d, err := os.Open(dir); err == nil { // #nosec G304 -- the directory of the configured data file
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
