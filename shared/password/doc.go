// Package password hashes and verifies account passwords (promise P1) and
// decides which new passwords are acceptable.
//
// # Hashing
//
// Passwords are hashed with argon2id (RFC 9106) from golang.org/x/crypto/argon2.
// argon2id is memory-hard, so an attacker holding a stolen hash cannot trade
// memory for GPU or ASIC parallelism cheaply, and its hybrid design resists
// both side-channel and time-memory trade-off attacks. It is OWASP's first
// recommendation for password storage.
//
// Hashes are stored as PHC strings, which carry their own parameters:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with salt and key in unpadded standard base64. Because the parameters travel
// with each hash, they can be raised at any time: [Hasher.Verify] reports
// needsRehash when a correct password was checked against a hash made with
// other parameters (or against a legacy bcrypt hash), and the caller then
// stores a fresh [Hasher.Hash] of the same password.
//
// Three parameter sets and a limit bound what the package does:
//
//   - [Floor] is OWASP's minimum configuration for argon2id (19 MiB, two
//     passes, one lane) with a 16-byte salt and a 32-byte key. No [Hasher]
//     hashes with less, on any axis.
//   - [Default] is what services use unless they have measured something
//     stronger that still fits their latency budget; today it equals Floor.
//   - [Ceiling] is the most any configuration may ask for, axis by axis.
//   - A Hasher's [Limit] is the most one hash may cost in the function it
//     runs in: [LimitFor] derives it from the function's memory and timeout
//     (a quarter of each, with a cost model measured by
//     BenchmarkArgon2idPerKiBPass). Verify refuses a stored hash above it
//     before any hashing work, with [ErrParamsTooHigh]: a hash planted in the
//     database by an attacker must not make a Lambda run out of memory or
//     time. For the template's auth function (256 MB, 10 s) that is 64 MiB,
//     memory × passes ≤ 180893 KiB (Floor needs 38912), one lane, bcrypt
//     cost 10. Stored hashes below Floor are still verified (that is how old
//     parameters get upgraded) as long as they respect RFC 9106's own
//     minimums and carry a key of at least 16 bytes.
//
// Legacy bcrypt hashes ($2a$, $2b$, $2y$) are verified too, at cost 14 or less
// (less if the Limit says so), and always report needsRehash. Passwords longer than 72 bytes never match a
// bcrypt hash: bcrypt would silently ignore everything after byte 72, and this
// package never truncates a password.
//
// Errors from this package wrap the sentinels [ErrMalformedHash],
// [ErrUnsupportedHash], [ErrParamsTooHigh], [ErrParamsTooLow] and
// [ErrInvalidPassword]. They never contain the password or the hash, so they
// are safe to log.
//
// # Normalisation
//
// Passwords are judged and hashed in their normalised form ([Normalize]):
// RFC 8265's OpaqueString profile with NFKC, as NIST SP 800-63B asks, after
// removing invisible characters. "p\u200Ba\u200Bs\u200Bs..." (zero-width
// spaces) is "pass...", fullwidth "ｐａｓｓ" is "pass", a no-break space is a
// space, "e" with a combining acute accent is "é"; control characters are
// refused. [Policy.Check], [Hasher.Hash] and [Hasher.Verify] normalise
// themselves, so no caller can forget. Hashes stored before normalisation
// keep verifying: Verify also checks the password as typed when that
// differs, and asks for a rehash to the normalised form when only that
// matched.
//
// # Policy
//
// [Policy] follows NIST SP 800-63B (revision 4) and OWASP ASVS 5: a password is
// judged by its length and by whether it is known to attackers, never by
// composition rules. Rules such as "one digit and one symbol" push people to
// predictable patterns (Password1!) without adding real strength, so the
// policy instead requires at least 15 characters (of the normalised form:
// invisible characters do not count), accepts at least 64 characters of
// anything printable (spaces and any Unicode included, never truncated), and
// refuses passwords that are common, follow easily guessed patterns, or are
// built from the user's own email address or the service name. Strength is estimated
// the way zxcvbn does, by the sibling package strength: its own matchers
// (common passwords, names and words, also reversed and in l33t spelling,
// keyboard walks, repeats, sequences, years and dates) over
// github.com/trustelem/zxcvbn's word lists, keyboard graphs and scoring. The
// dictionaries are ranked on first use, not at cold start, and a
// differential test holds the estimate to upstream zxcvbn's: equal, or lower
// where it reads more l33t spellings.
package password
