package web

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// What encoding/json is lenient about, and DecodeJSONBytes is not:
//
//   - invalid UTF-8, which encoding/json replaces with U+FFFD, and escaped
//     lone UTF-16 surrogates ("\ud800"), which it replaces the same way:
//     the body is refused as malformed_json (checkText);
//   - a name that appears twice in one object, the last one winning in
//     encoding/json: the body is refused as malformed_json, at any depth
//     (strictScan), as I-JSON (RFC 7493) requires;
//   - a name that matches a struct field only case-insensitively ("EMAIL"
//     for "email"), which encoding/json accepts: refused as unknown_field,
//     whose detail names the exact name (strictScan).
//
// As with encoding/json, a refusal names at most one field. The checks read
// the body once more, token by token, before encoding/json decodes it;
// bodies are small (DefaultMaxBody), so a second pass is cheap.

// checkText refuses a body that is not valid UTF-8 or escapes a UTF-16
// surrogate that is not part of a pair: neither can become valid text.
func checkText(body []byte) *Error {
	if !utf8.Valid(body) {
		off := 0
		for off < len(body) {
			r, n := utf8.DecodeRune(body[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return CodeMalformedJSON.Errorf("The request body is not valid UTF-8 (at byte %d).", off)
	}
	if off := loneSurrogate(body); off >= 0 {
		return CodeMalformedJSON.Errorf("The request body escapes an unpaired UTF-16 surrogate (at byte %d), which is not valid Unicode.", off)
	}
	return nil
}

// loneSurrogate returns the offset of the first \uXXXX escape, inside a
// string, of a UTF-16 surrogate that is not a high surrogate directly
// followed by an escaped low one; -1 if there is none. It reads strings
// only as far as escapes go: the syntax is encoding/json's to judge.
func loneSurrogate(b []byte) int {
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 >= len(b) || b[i+1] != 'u' {
				i++ // an escaped character, possibly a quote
				continue
			}
			r, ok := hex4(b, i+2)
			if !ok {
				i++
				continue
			}
			switch {
			case r >= 0xDC00 && r <= 0xDFFF: // a low surrogate first
				return i
			case r >= 0xD800 && r <= 0xDBFF:
				if i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
					if lo, ok := hex4(b, i+8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
						i += 11
						continue
					}
				}
				return i
			}
			i += 5
		}
	}
	return -1
}

// hex4 reads four hexadecimal digits at b[at:].
func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// frame is an object or array being read by strictScan.
type frame struct {
	object bool
	typ    reflect.Type            // the container's destination; nil when anything goes
	fields map[string]reflect.Type // a struct destination's exact member names
	seen   map[string]bool         // the object's names so far
	path   string                  // dotted member path, as in field errors
	// In an object: whether a name comes next, else the value of the member
	// named last, with its destination and path.
	wantKey    bool
	member     reflect.Type
	memberPath string
}

// scan is what strictScan found.
type scan struct {
	field     *FieldError // the first name that is not exactly a field's
	duplicate int         // the offset of the first repeated name, or -1
}

// strictScan reads the body's tokens against dst's type, for the first
// name repeated in an object, and the first name that is not exactly the
// name of a field of its struct destination. It stops at a repeated name,
// and at the first syntax error, which encoding/json then reports.
func strictScan(body []byte, dst any) scan {
	res := scan{duplicate: -1}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // a number out of float64's range is encoding/json's to report
	var root reflect.Type
	if t := reflect.TypeOf(dst); t != nil && t.Kind() == reflect.Pointer {
		root = destination(t.Elem())
	}
	var stack []*frame
	// done ends a value; it reports whether the body's value is complete.
	done := func() bool {
		if len(stack) == 0 {
			return true
		}
		if top := stack[len(stack)-1]; top.object {
			top.wantKey = true
		}
		return false
	}
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return res
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if tok == json.Delim('}') {
				stack = stack[:len(stack)-1]
				if done() {
					return res
				}
				continue
			}
			key, _ := tok.(string)
			if top.seen[key] {
				res.duplicate = tokenStart(body, before)
				return res
			}
			top.seen[key] = true
			top.wantKey = false
			top.member, top.memberPath = nil, joinPath(top.path, key)
			switch {
			case top.fields != nil:
				if t, ok := top.fields[key]; ok {
					top.member = destination(t)
				} else if res.field == nil {
					fe := unknownField(top.memberPath, key, top.fields)
					res.field = &fe
				}
			case top.typ != nil && top.typ.Kind() == reflect.Map:
				top.member = destination(top.typ.Elem())
			}
			continue
		}

		// A value: in an object, of the member named last; in an array,
		// an element; or the body's value itself.
		typ, path := root, ""
		if top != nil {
			path = top.path
			switch {
			case top.object:
				typ, path = top.member, top.memberPath
			case top.typ != nil && (top.typ.Kind() == reflect.Slice || top.typ.Kind() == reflect.Array):
				typ = destination(top.typ.Elem())
			default:
				typ = nil
			}
		}
		switch tok {
		case json.Delim('{'):
			f := &frame{object: true, typ: typ, path: path, wantKey: true, seen: map[string]bool{}}
			if typ != nil && typ.Kind() == reflect.Struct {
				f.fields = structFields(typ)
			}
			stack = append(stack, f)
			continue
		case json.Delim('['):
			stack = append(stack, &frame{typ: typ, path: path})
			continue
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if done() {
			return res
		}
	}
}

// tokenStart is the offset of the token read from offset on: past the
// whitespace and the separator before it.
func tokenStart(body []byte, offset int64) int {
	i := int(offset)
	for i < len(body) && strings.IndexByte(" \t\r\n,:", body[i]) >= 0 {
		i++
	}
	return i
}

// unknownField is the error for a key that names no field of its struct
// exactly; when it matches one but for case, the detail names that field.
func unknownField(path, key string, fields map[string]reflect.Type) FieldError {
	fe := FieldError{Field: clipName(path), Code: "unknown_field", Detail: "is not a field of this request"}
	for name := range fields {
		if strings.EqualFold(name, key) {
			fe.Detail = fmt.Sprintf("is not a field of this request: field names are case-sensitive (did you mean %q?)", name)
			break
		}
	}
	return fe
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// destination is what a JSON value decoded into a t becomes, as far as key
// names go: nil when the type decodes itself or takes any value (an
// interface, json.RawMessage), else t without its pointers.
func destination(t reflect.Type) reflect.Type {
	for {
		if t.Implements(jsonUnmarshaler) || t.Implements(textUnmarshaler) ||
			t.Kind() != reflect.Pointer && (reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler)) {
			return nil
		}
		switch t.Kind() {
		case reflect.Pointer:
			t = t.Elem()
		case reflect.Interface:
			return nil
		default:
			return t
		}
	}
}

// fieldCache holds structFields' answer per struct type.
var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// structFields returns the JSON member names of a struct type, with the
// type of each, by encoding/json's rules: the json tag's name, else the Go
// field's name; "-" skipped; unexported fields skipped; the fields of an
// embedded struct without a tag name promoted, the shallowest winning and,
// at equal depth, a tagged one over untagged ones, and none when that does
// not decide.
func structFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	type candidate struct {
		typ    reflect.Type
		depth  int
		tagged bool
		count  int // candidates at this depth and taggedness
	}
	best := map[string]candidate{}
	onPath := map[reflect.Type]bool{}
	var walk func(t reflect.Type, depth int)
	walk = func(t reflect.Type, depth int) {
		if onPath[t] {
			return
		}
		onPath[t] = true
		defer delete(onPath, t)
		for i := range t.NumField() {
			sf := t.Field(i)
			ft := sf.Type
			if sf.Anonymous {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if !sf.IsExported() && ft.Kind() != reflect.Struct {
					continue
				}
			} else if !sf.IsExported() {
				continue
			}
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if !validTagName(name) {
				name = ""
			}
			if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
				walk(ft, depth+1)
				continue
			}
			tagged := name != ""
			if !tagged {
				name = sf.Name
			}
			c, seen := best[name]
			switch {
			case !seen || depth < c.depth || depth == c.depth && tagged && !c.tagged:
				best[name] = candidate{typ: sf.Type, depth: depth, tagged: tagged, count: 1}
			case depth == c.depth && tagged == c.tagged:
				c.count++
				best[name] = c
			}
		}
	}
	walk(t, 0)
	out := make(map[string]reflect.Type, len(best))
	for name, c := range best {
		if c.count == 1 {
			out[name] = c.typ
		}
	}
	fieldCache.Store(t, out)
	return out
}

// validTagName reports whether encoding/json takes a json tag's name as the
// member name (otherwise it uses the Go field's name).
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) && !strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c) {
			return false
		}
	}
	return true
}
