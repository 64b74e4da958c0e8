package secretsmanager

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

type filter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

type listInput struct {
	Filters                []filter `json:"Filters"`
	IncludePlannedDeletion *bool    `json:"IncludePlannedDeletion"`
	MaxResults             *int64   `json:"MaxResults"`
	NextToken              *string  `json:"NextToken"`
	SortBy                 *string  `json:"SortBy"`
	SortOrder              *string  `json:"SortOrder"`
}

type listEntry struct {
	secretMeta
	SecretVersionsToStages map[string][]string `json:"SecretVersionsToStages,omitempty"`
}

type listOutput struct {
	SecretList []listEntry `json:"SecretList"`
	NextToken  string      `json:"NextToken,omitempty"`
}

// cursor is the decoded NextToken: the sort position of the last secret
// returned, plus the sort it belongs to. Paging by position rather than by
// offset keeps pages stable while secrets are created or deleted.
type cursor struct {
	By    string `json:"b"`
	Order string `json:"o"`
	Num   int64  `json:"n,omitempty"`
	Str   string `json:"s,omitempty"`
	Seq   uint64 `json:"q"`
}

const (
	sortCreated  = "created-date"
	sortAccessed = "last-accessed-date"
	sortChanged  = "last-changed-date"
	sortName     = "name"
)

var filterKeys = map[string]bool{
	"name": true, "description": true, "tag-key": true, "tag-value": true,
	"primary-region": true, "owning-service": true, "all": true,
}

func errNextToken() *apiError {
	return newErr(excNextToken, "The NextToken value is invalid.")
}

func validFilterValue(v string) bool {
	v = strings.TrimPrefix(v, "!")
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte(" :_@/+=.-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func checkFilters(fs []filter) *apiError {
	if len(fs) > maxFilters {
		return errParam("You can use at most 10 filters.")
	}
	for _, f := range fs {
		if !filterKeys[f.Key] {
			return errParam("Invalid filter key: must be one of description, name, tag-key, tag-value, primary-region, owning-service, all.")
		}
		if len(f.Values) < 1 || len(f.Values) > maxFilterValues {
			return errParam("Each filter must have 1 to 10 values.")
		}
		for _, v := range f.Values {
			if len(v) < 1 || len(v) > maxFilterValueLen || !validFilterValue(v) {
				return errParam("Invalid filter value: 1 to 512 characters of letters, digits, spaces and :_@/+=.- , optionally prefixed with ! to negate.")
			}
		}
	}
	return nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// matchValue reports whether one (non-negated) filter value matches sec.
func matchValue(sec *secret, key, v string) bool {
	switch key {
	case "name":
		return strings.HasPrefix(sec.Name, v)
	case "description":
		return hasPrefixFold(sec.Description, v)
	case "tag-key":
		return slices.ContainsFunc(sec.Tags, func(t tag) bool { return strings.HasPrefix(t.Key, v) })
	case "tag-value":
		return slices.ContainsFunc(sec.Tags, func(t tag) bool { return strings.HasPrefix(t.Value, v) })
	case "all":
		for _, w := range strings.Fields(v) {
			ok := hasPrefixFold(sec.Name, w) || hasPrefixFold(sec.Description, w) ||
				slices.ContainsFunc(sec.Tags, func(t tag) bool {
					return hasPrefixFold(t.Key, w) || hasPrefixFold(t.Value, w)
				})
			if !ok {
				return false
			}
		}
		return true
	default: // primary-region, owning-service: nothing here has them.
		return false
	}
}

// matchFilter: a secret passes a filter if no negated value matches and, when
// there are plain values, at least one of them matches. All filters must pass.
func matchFilter(sec *secret, f filter) bool {
	plain, hit := 0, false
	for _, v := range f.Values {
		if neg, ok := strings.CutPrefix(v, "!"); ok {
			if matchValue(sec, f.Key, neg) {
				return false
			}
			continue
		}
		plain++
		if !hit && matchValue(sec, f.Key, v) {
			hit = true
		}
	}
	return plain == 0 || hit
}

func sortKey(sec *secret, by string) cursor {
	c := cursor{Seq: sec.Seq}
	switch by {
	case sortName:
		c.Str = sec.Name
	case sortChanged:
		c.Num = sec.LastChanged.UnixNano()
	case sortAccessed:
		if sec.LastAccessed != nil {
			c.Num = sec.LastAccessed.UnixNano()
		}
	default:
		c.Num = sec.Created.UnixNano()
	}
	return c
}

func compareKeys(a, b cursor, desc bool) int {
	r := cmp.Or(cmp.Compare(a.Num, b.Num), strings.Compare(a.Str, b.Str), cmp.Compare(a.Seq, b.Seq))
	if desc {
		return -r
	}
	return r
}

func (s *Server) listSecrets(body []byte) (any, *apiError) {
	var in listInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := checkFilters(in.Filters); e != nil {
		return nil, e
	}
	limit := int64(defaultMaxResults)
	if in.MaxResults != nil {
		limit = *in.MaxResults
		if limit < 1 || limit > maxMaxResults {
			return nil, errParam("MaxResults must be between 1 and 100.")
		}
	}
	by, order := sortCreated, "asc"
	if in.SortBy != nil {
		by = *in.SortBy
		switch by {
		case sortCreated, sortAccessed, sortChanged, sortName:
		default:
			return nil, errParam("SortBy must be one of created-date, last-accessed-date, last-changed-date, name.")
		}
	}
	if in.SortOrder != nil {
		order = *in.SortOrder
		if order != "asc" && order != "desc" {
			return nil, errParam("SortOrder must be asc or desc.")
		}
	}
	var after *cursor
	if in.NextToken != nil {
		if len(*in.NextToken) > maxNextTokenLen {
			return nil, errNextToken()
		}
		raw, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil {
			return nil, errNextToken()
		}
		var c cursor
		if err := json.Unmarshal(raw, &c); err != nil || c.By != by || c.Order != order {
			return nil, errNextToken()
		}
		after = &c
	}
	includeDeleted := in.IncludePlannedDeletion != nil && *in.IncludePlannedDeletion
	desc := order == "desc"

	return s.read(func(time.Time) (any, *apiError) {
		var matched []*secret
		for _, sec := range s.secrets {
			if sec.deleted() && !includeDeleted {
				continue
			}
			if !slices.ContainsFunc(in.Filters, func(f filter) bool { return !matchFilter(sec, f) }) {
				matched = append(matched, sec)
			}
		}
		slices.SortFunc(matched, func(a, b *secret) int {
			return compareKeys(sortKey(a, by), sortKey(b, by), desc)
		})
		start := 0
		if after != nil {
			start, _ = slices.BinarySearchFunc(matched, *after, func(sec *secret, c cursor) int {
				if compareKeys(sortKey(sec, by), c, desc) <= 0 {
					return -1
				}
				return 1
			})
		}
		end := min(start+int(limit), len(matched))
		out := listOutput{SecretList: make([]listEntry, 0, end-start)}
		for _, sec := range matched[start:end] {
			out.SecretList = append(out.SecretList, listEntry{secretMeta: metaOf(sec), SecretVersionsToStages: sec.stagesMap()})
		}
		if end < len(matched) {
			c := sortKey(matched[end-1], by)
			c.By, c.Order = by, order
			raw, _ := json.Marshal(c)
			out.NextToken = base64.RawURLEncoding.EncodeToString(raw)
		}
		return out, nil
	})
}
