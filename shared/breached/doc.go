// Package breached checks, optionally, whether a password appears in known
// data breaches, through the Have I Been Pwned "Pwned Passwords" range API.
//
// It complements the strength estimate of package password: NIST SP 800-63B
// asks services to refuse passwords that are known to attackers, and a list
// of passwords seen in real breaches is the most direct evidence of that.
//
// # What leaves the process
//
// The check uses the API's k-anonymity model. The password is hashed with
// SHA-1 locally and only the first five hexadecimal characters of the hash
// (20 bits, shared by hundreds of thousands of known passwords) are sent:
//
//	GET {BaseURL}/range/{5 uppercase hex characters}
//	User-Agent: {Options.UserAgent}
//	Add-Padding: true
//
// There is no body, no query string and no header derived from the password.
// The service answers with every known hash suffix under that prefix, and the
// comparison with the password's own suffix happens here. With Add-Padding
// the service also mixes in random suffixes with a count of 0, so that the
// size of the answer does not reveal the prefix either; entries with count 0
// are never treated as breached.
//
// # Strictness and bounds
//
// The answer is read only on status 200, at most [MaxResponseBytes], and must
// consist only of lines "SUFFIX:COUNT" (35 hex characters in either case, a
// decimal count without sign or leading zeros), separated by LF or CRLF, with
// no empty line. Anything else is a failure, as are other statuses (redirects
// are not followed by the default client), transport errors and timeouts.
// Each check is bounded by [Options.Timeout] and by the caller's context.
//
// # Failures
//
// What a failure means is the caller's policy, set by [Options.FailClosed]:
//
//   - fail closed: [Checker.Breached] returns an error wrapping
//     [ErrUnavailable], and the caller refuses the password for now (for
//     example with a "try again later" problem);
//   - fail open (the default): the password is treated as not breached, and
//     the failure is handed to [Options.OnFailure] so it can be logged and
//     counted.
//
// When the caller's own context ends (cancelled, or its deadline passed)
// before the check completes, Breached returns that context error in both
// modes, not wrapped in ErrUnavailable and not reported to OnFailure: the
// caller's request is over, and that says nothing about the service.
//
// Errors never contain the password, its hash, the hash prefix or any
// line of the answer, so they are safe to log.
package breached
