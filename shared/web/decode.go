package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// DecodeJSON reads r's body into dst strictly: the content type must be JSON,
// the body must fit the limit set by the middleware, unknown fields, trailing
// data and wrong types are refused. It returns an *Error fit for the client.
func DecodeJSON(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type",
				"Send the request body as application/json.")
		}
	} else {
		return Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"Send the request body as application/json.")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return Errorf(http.StatusRequestEntityTooLarge, "body_too_large",
				"The request body is larger than %d bytes.", tooBig.Limit)
		}
		return &Error{Status: http.StatusBadRequest, Code: "unreadable_body",
			Message: "The request body could not be read.", Cause: err}
	}
	return DecodeJSONBytes(body, dst)
}

// DecodeJSONBytes is DecodeJSON's parser on its own, for bodies already read.
func DecodeJSONBytes(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return Errorf(http.StatusBadRequest, "malformed_json", "The request body is empty; send a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Errorf(http.StatusBadRequest, "malformed_json", "The request body must hold exactly one JSON object.")
	}
	return nil
}

func decodeError(err error) *Error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return Errorf(http.StatusBadRequest, "malformed_json", "The request body is not valid JSON (at byte %d).", syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(http.StatusBadRequest, "malformed_json", "The request body ends too early.")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return Errorf(http.StatusBadRequest, "malformed_json", "The request body must be a JSON object.")
		}
		return Invalid(FieldError{Field: typ.Field, Code: "wrong_type",
			Detail: fmt.Sprintf("must be a %s", jsonKind(typ.Type.Kind().String()))})
	}
	// encoding/json reports unknown fields only in its message: `json: unknown field "x"`.
	const unknown = "json: unknown field "
	if msg := err.Error(); len(msg) > len(unknown) && msg[:len(unknown)] == unknown {
		field := msg[len(unknown):]
		if len(field) > 66 {
			field = field[:64] + `…"`
		}
		return Invalid(FieldError{Field: trimQuotes(field), Code: "unknown_field", Detail: "is not a field of this request"})
	}
	return &Error{Status: http.StatusBadRequest, Code: "malformed_json", Message: "The request body is not valid JSON.", Cause: err}
}

func trimQuotes(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	}
	return "value of another type"
}
