package secretsmanager

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Secret is a copy of one stored secret, as returned by Server.Secrets.
type Secret struct {
	Name        string
	ARN         string
	Description string
	// KmsKeyID is the KmsKeyId the secret was created or updated with; ""
	// means the service's default key. Nothing is actually encrypted.
	KmsKeyID        string
	Tags            map[string]string
	CreatedDate     time.Time
	LastChangedDate time.Time
	// Deleted is true while the secret is scheduled for deletion; then
	// DeletedDate is when DeleteSecret was called and DeletionDate when the
	// secret will be purged.
	Deleted      bool
	DeletedDate  time.Time
	DeletionDate time.Time
	// ResourcePolicy is the policy PutResourcePolicy stored, "" for none.
	// It is never evaluated.
	ResourcePolicy string
	// Versions are in creation order, oldest first.
	Versions []Version
}

// Version is one stored version of a secret, including its value.
type Version struct {
	VersionID string
	Stages    []string
	// SecretString is the value of a string version; SecretBinary is nil then.
	SecretString string
	// SecretBinary is the value of a binary version (non-nil, possibly empty).
	SecretBinary []byte
	CreatedDate  time.Time
}

// Secrets returns a snapshot of every stored secret, including those
// scheduled for deletion, sorted by name. Values are included: it exists so
// tests can prove what is and isn't stored.
func (s *Server) Secrets() []Secret {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purgeLocked(s.now())
	out := make([]Secret, 0, len(s.secrets))
	for _, sec := range s.secrets {
		c := Secret{
			Name:            sec.Name,
			ARN:             sec.ARN,
			Description:     sec.Description,
			KmsKeyID:        sec.KmsKeyID,
			Tags:            make(map[string]string, len(sec.Tags)),
			CreatedDate:     sec.Created,
			LastChangedDate: sec.LastChanged,
			ResourcePolicy:  sec.ResourcePolicy,
		}
		for _, t := range sec.Tags {
			c.Tags[t.Key] = t.Value
		}
		if sec.DeletedDate != nil {
			c.Deleted = true
			c.DeletedDate = *sec.DeletedDate
			c.DeletionDate = *sec.DeletionDate
		}
		for _, v := range sec.Versions {
			cv := Version{VersionID: v.ID, Stages: slices.Clone(v.Stages), CreatedDate: v.Created}
			if v.String != nil {
				cv.SecretString = *v.String
			} else {
				cv.SecretBinary = append([]byte{}, v.Binary...)
			}
			c.Versions = append(c.Versions, cv)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// tag is one tag, in the API's shape (also the data file's).
type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// version is one version of a secret. Exactly one of String and Binary is
// non-nil. The JSON tags define the data file's format.
type version struct {
	ID      string    `json:"id"`
	String  *string   `json:"string,omitempty"`
	Binary  []byte    `json:"binary"`
	Stages  []string  `json:"stages,omitempty"`
	Created time.Time `json:"created"`
}

// secret is one stored secret. The JSON tags define the data file's format.
type secret struct {
	Name         string     `json:"name"`
	ARN          string     `json:"arn"`
	Description  string     `json:"description,omitempty"`
	KmsKeyID     string     `json:"kmsKeyId,omitempty"`
	Tags         []tag      `json:"tags,omitempty"`
	Created      time.Time  `json:"created"`
	LastChanged  time.Time  `json:"lastChanged"`
	LastAccessed *time.Time `json:"lastAccessed,omitempty"`
	DeletedDate  *time.Time `json:"deletedDate,omitempty"`
	DeletionDate *time.Time `json:"deletionDate,omitempty"`
	// CreateToken is CreateSecret's ClientRequestToken, so that a retried
	// create of a secret without a value is recognised too.
	CreateToken string `json:"createToken,omitempty"`
	// ResourcePolicy is the stored resource policy, "" for none.
	ResourcePolicy string     `json:"resourcePolicy,omitempty"`
	Seq            uint64     `json:"seq"`
	Versions       []*version `json:"versions,omitempty"`
}

func (sec *secret) deleted() bool { return sec.DeletedDate != nil }

func (sec *secret) versionByID(id string) *version {
	for _, v := range sec.Versions {
		if v.ID == id {
			return v
		}
	}
	return nil
}

func (sec *secret) versionByStage(stage string) *version {
	for _, v := range sec.Versions {
		if slices.Contains(v.Stages, stage) {
			return v
		}
	}
	return nil
}

// stagesMap is the VersionIdsToStages / SecretVersionsToStages member: only
// versions that carry a staging label, as the service reports them.
func (sec *secret) stagesMap() map[string][]string {
	m := make(map[string][]string)
	for _, v := range sec.Versions {
		if len(v.Stages) > 0 {
			m[v.ID] = slices.Clone(v.Stages)
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// sameValue reports whether v holds exactly this value.
func (v *version) sameValue(str *string, bin []byte) bool {
	if str != nil {
		return v.String != nil && *v.String == *str
	}
	return v.String == nil && bytes.Equal(v.Binary, bin)
}

// addVersion appends a new version carrying stages (AWSCURRENT if none are
// given), moving each label off the version that had it. When AWSCURRENT
// moves, AWSPREVIOUS goes to the version it left. If no version would carry
// AWSCURRENT afterwards, the new one gets it, as the service does for a
// secret's first version. Call checkVersionQuota first.
func (sec *secret) addVersion(v *version, stages []string, now time.Time) {
	if len(stages) == 0 {
		stages = []string{stageCurrent}
	}
	var oldCurrent *version
	for _, st := range stages {
		for _, o := range sec.Versions {
			if i := slices.Index(o.Stages, st); i >= 0 {
				o.Stages = slices.Delete(o.Stages, i, i+1)
				if st == stageCurrent {
					oldCurrent = o
				}
			}
		}
		if !slices.Contains(v.Stages, st) {
			v.Stages = append(v.Stages, st)
		}
	}
	if oldCurrent != nil {
		for _, o := range sec.Versions {
			if i := slices.Index(o.Stages, stagePrevious); i >= 0 {
				o.Stages = slices.Delete(o.Stages, i, i+1)
			}
		}
		if i := slices.Index(v.Stages, stagePrevious); i >= 0 {
			v.Stages = slices.Delete(v.Stages, i, i+1)
		}
		oldCurrent.Stages = append(oldCurrent.Stages, stagePrevious)
	}
	sec.Versions = append(sec.Versions, v)
	if sec.versionByStage(stageCurrent) == nil {
		v.Stages = append(v.Stages, stageCurrent)
	}
	sec.pruneVersions(now)
	sec.LastChanged = now
}

// removableVersion returns the index of the oldest version the service
// would let go: one without staging labels, older than 24 hours.
func (sec *secret) removableVersion(now time.Time) int {
	for i, v := range sec.Versions {
		if len(v.Stages) == 0 && now.Sub(v.Created) >= versionKeepWindow {
			return i
		}
	}
	return -1
}

func (sec *secret) pruneVersions(now time.Time) {
	for len(sec.Versions) > maxVersions {
		i := sec.removableVersion(now)
		if i < 0 {
			return
		}
		sec.Versions = slices.Delete(sec.Versions, i, i+1)
	}
}

// checkVersionQuota refuses a new version when the secret already holds the
// most versions the service keeps and none of them may be dropped.
func (sec *secret) checkVersionQuota(now time.Time) *apiError {
	if len(sec.Versions) >= maxVersions && sec.removableVersion(now) < 0 {
		return newErr(excLimit, fmt.Sprintf("You have exceeded the maximum number of versions (%d) that can be kept for a secret; versions created in the last 24 hours are always kept.", maxVersions))
	}
	return nil
}

func (sec *secret) setTags(tags []tag) *apiError {
	merged := slices.Clone(sec.Tags)
	for _, t := range tags {
		i := slices.IndexFunc(merged, func(o tag) bool { return o.Key == t.Key })
		if i >= 0 {
			merged[i].Value = t.Value
		} else {
			merged = append(merged, t)
		}
	}
	if len(merged) > maxTags {
		return errParam(fmt.Sprintf("A secret can have at most %d tags.", maxTags))
	}
	sec.Tags = merged
	return nil
}

func (s *Server) arnPrefix() string {
	return "arn:aws:secretsmanager:" + s.region + ":" + s.account + ":secret:"
}

// lookupLocked resolves a SecretId: a name, a full ARN, or a partial ARN
// (without the final "-XXXXXX").
func (s *Server) lookupLocked(id string) *secret {
	if !strings.HasPrefix(id, "arn:") {
		return s.secrets[id]
	}
	rest, ok := strings.CutPrefix(id, s.arnPrefix())
	if !ok {
		return nil
	}
	if n := len(rest) - 7; n > 0 && rest[n] == '-' {
		if sec := s.secrets[rest[:n]]; sec != nil && sec.ARN == id {
			return sec
		}
	}
	return s.secrets[rest]
}

// newARNLocked makes a fresh ARN for name, unique among stored secrets.
func (s *Server) newARNLocked(name string) string {
	for {
		arn := s.arnPrefix() + name + "-" + randomSuffix()
		unique := true
		for _, sec := range s.secrets {
			if sec.ARN == arn {
				unique = false
				break
			}
		}
		if unique {
			return arn
		}
	}
}

const suffixAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomSuffix() string {
	var b [6]byte
	out := make([]byte, 0, len(b))
	for len(out) < len(b) {
		_, _ = rand.Read(b[:])
		for _, c := range b {
			// 248 = 4*62: reject the biased tail.
			if c < 248 && len(out) < len(b) {
				out = append(out, suffixAlphabet[int(c)%len(suffixAlphabet)])
			}
		}
	}
	return string(out)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func validName(name string) bool {
	if len(name) < 1 || len(name) > maxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("/_+=.@-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func checkName(name *string) *apiError {
	if name == nil || *name == "" {
		return errParam("You must provide a name for the secret.")
	}
	if !validName(*name) {
		return errParam("Invalid name. Must be a valid name of 1 to 512 characters containing ASCII letters, digits, or any of the following: /_+=.@-")
	}
	return nil
}

func checkSecretID(id *string) *apiError {
	if id == nil || *id == "" {
		return errParam("You must provide a SecretId.")
	}
	if len(*id) > maxSecretIDLen {
		return errParam("SecretId must be at most " + strconv.Itoa(maxSecretIDLen) + " characters.")
	}
	return nil
}

func checkToken(tok *string) *apiError {
	if tok == nil {
		return nil
	}
	if n := len(*tok); n < minTokenLen || n > maxTokenLen {
		return errParam("ClientRequestToken must be 32 to 64 characters long.")
	}
	return nil
}

// checkValue validates a SecretString/SecretBinary pair. required says
// whether one of them must be present.
func checkValue(str *string, bin []byte, required bool) *apiError {
	if str != nil && bin != nil {
		return errParam("You can't specify both a binary secret value and a string secret value in the same secret.")
	}
	if required && str == nil && bin == nil {
		return errParam("You must provide either SecretString or SecretBinary.")
	}
	if str != nil && len(*str) > MaxSecretBytes {
		return errParam("SecretString must be at most 65536 bytes.")
	}
	if bin != nil && len(bin) == 0 {
		return errParam("SecretBinary must not be empty.")
	}
	if len(bin) > MaxSecretBytes {
		return errParam("SecretBinary must be at most 65536 bytes.")
	}
	return nil
}

func checkDescription(d *string) *apiError {
	if d != nil && len(*d) > maxDescriptionLen {
		return errParam("Description must be at most 2048 characters.")
	}
	return nil
}

func checkKmsKeyID(k *string) *apiError {
	if k != nil && len(*k) > maxKmsKeyIDLen {
		return errParam("KmsKeyId must be at most 2048 characters.")
	}
	return nil
}

func checkTags(tags []tag) *apiError {
	if len(tags) > maxTags {
		return errParam(fmt.Sprintf("A secret can have at most %d tags.", maxTags))
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if len(t.Key) < 1 || len(t.Key) > maxTagKeyLen {
			return errParam("Tag keys must be 1 to 128 characters long.")
		}
		if len(t.Value) > maxTagValueLen {
			return errParam("Tag values must be at most 256 characters long.")
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return errParam("Tag keys starting with \"aws:\" are reserved.")
		}
		if seen[t.Key] {
			return errParam("Duplicate tag key: " + t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

func checkStages(stages []string) *apiError {
	if stages == nil {
		return nil
	}
	if len(stages) < 1 || len(stages) > maxStages {
		return errParam("VersionStages must have 1 to 20 labels.")
	}
	for _, st := range stages {
		if len(st) < 1 || len(st) > maxStageLen {
			return errParam("Each staging label must be 1 to 256 characters long.")
		}
	}
	return nil
}

func cloneSecrets(m map[string]*secret) map[string]*secret {
	out := make(map[string]*secret, len(m))
	for k, sec := range m {
		c := *sec
		c.Tags = slices.Clone(sec.Tags)
		c.LastAccessed = cloneTime(sec.LastAccessed)
		c.DeletedDate = cloneTime(sec.DeletedDate)
		c.DeletionDate = cloneTime(sec.DeletionDate)
		c.Versions = make([]*version, len(sec.Versions))
		for i, v := range sec.Versions {
			cv := *v
			cv.Stages = slices.Clone(v.Stages)
			c.Versions[i] = &cv
		}
		out[k] = &c
	}
	return out
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}
