package config

// Check records an error for the variable unless ok, saying what it must be
// (format and args, e.g. "must be an email address"). It is for the checks
// the typed readers cannot make themselves, so that a function's own
// checks are reported together with every other configuration error. Like
// every message of this package, it names the variable, never its value.
func (r *Reader) Check(name string, ok bool, format string, args ...any) {
	if !ok {
		r.fail(name, format, args...)
	}
}
