package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DecodeJSON reads r's body into dst strictly: the content type must be JSON,
// the body must fit the limit set by the middleware, unknown fields, trailing
// data and wrong types are refused. It returns an *Error fit for the client.
func DecodeJSON(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return CodeUnsupportedMediaType.New()
		}
	} else {
		return CodeUnsupportedMediaType.New()
	}
	body, err := ReadBody(r)
	if err != nil {
		return err
	}
	return DecodeJSONBytes(body, dst)
}

// ReadBody reads r's whole body within the limit set by the middleware; its
// error is an *Error fit for the client (413 beyond the limit).
func ReadBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, CodeBodyTooLarge.Errorf("The request body is larger than %d bytes.", tooBig.Limit)
		}
		return nil, CodeUnreadableBody.New().WithCause(err)
	}
	return body, nil
}

// DecodeJSONBytes is DecodeJSON's parser on its own, for bodies already read.
// Beyond what encoding/json checks, it refuses invalid UTF-8 (and escaped
// lone surrogates), a name repeated in an object at any depth, and a name
// that matches a struct field only case-insensitively (see strict.go).
func DecodeJSONBytes(body []byte, dst any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return CodeMalformedJSON.Errorf("The request body is empty; send a JSON object.")
	}
	if bytes.Equal(trimmed, []byte("null")) {
		// encoding/json accepts null for any destination and leaves it as it was.
		return CodeMalformedJSON.Errorf("The request body must be a JSON object.")
	}
	if e := checkText(body); e != nil {
		return e
	}
	strict := strictScan(body, dst)
	if strict.duplicate >= 0 {
		return CodeMalformedJSON.Errorf("The request body repeats a name within one object (at byte %d); send each field once.", strict.duplicate)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		e := decodeError(err)
		if e.Code == CodeValidationFailed && strict.field != nil {
			// The strict pass's name error comes first: encoding/json may
			// have matched that name to a field, case-insensitively.
			return Invalid(*strict.field)
		}
		return e
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return CodeMalformedJSON.Errorf("The request body must hold exactly one JSON object.")
	}
	if strict.field != nil {
		return Invalid(*strict.field)
	}
	return nil
}

func decodeError(err error) *Error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return CodeMalformedJSON.Errorf("The request body is not valid JSON (at byte %d).", syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return CodeMalformedJSON.Errorf("The request body ends too early.")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return CodeMalformedJSON.Errorf("The request body must be a JSON object.")
		}
		return Invalid(FieldError{Field: typ.Field, Code: "wrong_type",
			Detail: "must be " + jsonKind(typ.Type.Kind().String())})
	}
	// encoding/json reports unknown fields only in its message: `json: unknown field "x"`.
	const unknown = "json: unknown field "
	if msg := err.Error(); len(msg) > len(unknown) && msg[:len(unknown)] == unknown {
		return Invalid(FieldError{Field: fieldName(msg[len(unknown):]), Code: "unknown_field", Detail: "is not a field of this request"})
	}
	return CodeMalformedJSON.Errorf("The request body is not valid JSON.").WithCause(err)
}

// maxFieldName bounds a field name echoed back to the client, in bytes.
const maxFieldName = 64

// fieldName unquotes a field name quoted by encoding/json and cuts it short.
func fieldName(quoted string) string {
	name, err := strconv.Unquote(quoted)
	if err != nil {
		name = strings.TrimSuffix(strings.TrimPrefix(quoted, `"`), `"`)
	}
	return clipName(name)
}

// clipName cuts a field name or path short, on a character boundary, so
// that it stays valid UTF-8.
func clipName(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	if len(name) > maxFieldName {
		cut := maxFieldName
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut] + "…"
	}
	return name
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "a value of another type"
}
