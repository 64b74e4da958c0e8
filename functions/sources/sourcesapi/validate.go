package sourcesapi

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/atrium-cdn/atrium/shared/s3check"
	"github.com/atrium-cdn/atrium/shared/sources"
	"github.com/atrium-cdn/atrium/shared/web"
)

// Bounds of every field a customer sends.
const (
	maxName      = 100
	maxEndpoint  = 512
	maxKeyID     = 128
	minKeyID     = 16
	maxSecretKey = 256
)

// Compiled on first use, not in a package initialiser: bounded repeats make
// compiling such an expression cost at every cold start (issue #17).
var (
	bucketName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`) })
	awsRegion  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`) })
	anyRegion  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`) })
	keyID      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9]+$`) })
)

// CreateRequest registers a source.
type CreateRequest struct {
	Name            string  `json:"name"`
	Type            string  `json:"type"`
	Bucket          string  `json:"bucket"`
	Region          string  `json:"region"`
	Prefix          *string `json:"prefix"`
	Endpoint        *string `json:"endpoint"`
	AccessKeyID     string  `json:"access_key_id"`
	SecretAccessKey string  `json:"secret_access_key"`
}

// PatchRequest renames a source or moves its prefix.
type PatchRequest struct {
	Name   *string `json:"name"`
	Prefix *string `json:"prefix"`
}

// CredentialsRequest replaces a source's keys.
type CredentialsRequest struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
}

func field(name, code, detail string) web.FieldError {
	return web.FieldError{Field: name, Code: code, Detail: detail}
}

func validName(name string) []web.FieldError {
	if _, ok := web.Label(name, maxName); !ok {
		return []web.FieldError{field("name", "invalid_name", fmt.Sprintf("must be 1 to %d printable characters", maxName))}
	}
	return nil
}

// validPrefix applies sources.PrefixProblem, for registration and PATCH alike.
func validPrefix(p string) []web.FieldError {
	if problem := sources.PrefixProblem(p); problem != "" {
		return []web.FieldError{field("prefix", "invalid_prefix", problem)}
	}
	return nil
}

func validKeys(id, secret string) []web.FieldError {
	var f []web.FieldError
	if len(id) < minKeyID || len(id) > maxKeyID || !keyID().MatchString(id) {
		f = append(f, field("access_key_id", "invalid_access_key_id",
			fmt.Sprintf("must be %d to %d letters and digits", minKeyID, maxKeyID)))
	}
	printable := secret != "" && len(secret) <= maxSecretKey && strings.IndexFunc(secret, func(r rune) bool {
		return r <= ' ' || r > '~'
	}) < 0
	if !printable {
		// Never echo the value, nor its length: only what it must be.
		f = append(f, field("secret_access_key", "invalid_secret_access_key",
			fmt.Sprintf("must be 1 to %d printable ASCII characters without spaces", maxSecretKey)))
	}
	return f
}

// validateCreate checks a registration fully before anything happens.
func validateCreate(req *CreateRequest, allowLoopbackHTTP bool) (s3check.Location, error) {
	var f []web.FieldError
	f = append(f, validName(req.Name)...)
	loc := s3check.Location{Type: req.Type, Bucket: req.Bucket, Region: req.Region}
	if req.Prefix != nil {
		f = append(f, validPrefix(*req.Prefix)...)
		loc.Prefix = *req.Prefix
	}
	switch req.Type {
	case sources.TypeS3:
		if !awsRegion().MatchString(req.Region) {
			f = append(f, field("region", "invalid_region", "must be an AWS Region such as eu-west-1"))
		}
		if req.Endpoint != nil && *req.Endpoint != "" {
			f = append(f, field("endpoint", "not_allowed", "is only for type s3_compatible"))
		}
	case sources.TypeS3Compatible:
		if !anyRegion().MatchString(req.Region) {
			f = append(f, field("region", "invalid_region", "must be the provider's region name (letters, digits, hyphens; e.g. auto)"))
		}
		switch {
		case req.Endpoint == nil || *req.Endpoint == "":
			f = append(f, field("endpoint", "required", "is required for type s3_compatible"))
		case len(*req.Endpoint) > maxEndpoint || s3check.ValidateEndpoint(*req.Endpoint, allowLoopbackHTTP) != nil:
			f = append(f, field("endpoint", "invalid_endpoint", fmt.Sprintf("must be an https:// URL of at most %d characters, with no path, query or credentials", maxEndpoint)))
		default:
			loc.Endpoint = strings.TrimRight(*req.Endpoint, "/")
		}
	default:
		f = append(f, field("type", "invalid_type", "must be s3 or s3_compatible"))
	}
	if !bucketName().MatchString(req.Bucket) || strings.Contains(req.Bucket, "..") {
		f = append(f, field("bucket", "invalid_bucket", "must be a bucket name: 3 to 63 lower-case letters, digits, dots and hyphens"))
	}
	f = append(f, validKeys(req.AccessKeyID, req.SecretAccessKey)...)
	if len(f) > 0 {
		return loc, web.Invalid(f...)
	}
	return loc, nil
}
