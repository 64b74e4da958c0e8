// Package passkeystest is a software authenticator for tests: it answers
// the options of Atrium's passkey routes as a browser with a platform
// authenticator would (PublicKeyCredential.toJSON()), building attestation
// ("none") and assertion responses byte by byte from the WebAuthn
// specification — an ECDSA P-256 key, authenticatorData with the RP ID
// hash, flags, signature counter and attested credential data with a COSE
// key, clientDataJSON with type, challenge and origin — independently of
// go-webauthn, the code under test. Every part can be made wrong on
// purpose (Tamper).
package passkeystest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// Flags of authenticatorData (WebAuthn §6.1).
const (
	FlagUP = 0x01 // user present
	FlagUV = 0x04 // user verified
	FlagBE = 0x08 // backup eligible
	FlagBS = 0x10 // backup state
	FlagAT = 0x40 // attested credential data included
)

// Credential is a credential the authenticator holds.
type Credential struct {
	ID         []byte
	Key        *ecdsa.PrivateKey
	RPID       string
	UserHandle []byte
	SignCount  uint32
	// Flags are the backup flags it reports (FlagBE, FlagBS).
	Flags byte
}

// Authenticator answers ceremonies at Origin.
type Authenticator struct {
	Origin string
	// CountStep is how much each signature adds to the counter (0: an
	// authenticator that keeps no counter, as synced passkeys do).
	CountStep uint32
}

// New returns an authenticator at origin whose counter steps by 1.
func New(origin string) *Authenticator { return &Authenticator{Origin: origin, CountStep: 1} }

// Tamper changes what one answer says. Zero values mean "as a correct
// authenticator would".
type Tamper struct {
	Origin     string // clientDataJSON.origin
	Type       string // clientDataJSON.type
	Challenge  string // clientDataJSON.challenge (base64url)
	RPID       string // hashed into authenticatorData instead of the options' RP ID
	Flags      *byte  // authenticatorData flags instead of UP|UV|backup flags (AT added at registration)
	SignCount  *uint32
	UserHandle []byte // the assertion's userHandle instead of the credential's
	NoHandle   bool   // no userHandle at all
	Credential *Credential
	BadSig     bool // flip a bit of the signature
}

// options is what the routes answer: {"publicKey": {...}}.
type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		RPID string `json:"rpId"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	} `json:"publicKey"`
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func parseOptions(raw []byte) (*options, error) {
	var o options
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("options: %w", err)
	}
	if o.PublicKey.Challenge == "" {
		return nil, fmt.Errorf("options without a challenge: %s", raw)
	}
	return &o, nil
}

func (a *Authenticator) clientData(typ, challenge string, t Tamper) []byte {
	origin := a.Origin
	if t.Origin != "" {
		origin = t.Origin
	}
	if t.Type != "" {
		typ = t.Type
	}
	if t.Challenge != "" {
		challenge = t.Challenge
	}
	b, _ := json.Marshal(struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{typ, challenge, origin, false})
	return b
}

// Create answers registration options (the body of
// POST /v1/passkeys/registration/options) with a new discoverable
// credential and returns its JSON, as PublicKeyCredential.toJSON() gives
// it, and the credential.
func (a *Authenticator) Create(rawOptions []byte, backup byte, t Tamper) ([]byte, *Credential, error) {
	o, err := parseOptions(rawOptions)
	if err != nil {
		return nil, nil, err
	}
	handle, err := base64.RawURLEncoding.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("user.id: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	c := &Credential{ID: id, Key: key, RPID: o.PublicKey.RP.ID, UserHandle: handle, Flags: backup}
	rpID := c.RPID
	if t.RPID != "" {
		rpID = t.RPID
	}
	flags := FlagUP | FlagUV | backup
	if t.Flags != nil {
		flags = *t.Flags
	}
	flags |= FlagAT
	count := uint32(0)
	if t.SignCount != nil {
		count = *t.SignCount
	}
	c.SignCount = count
	authData := authenticatorData(rpID, flags, count)
	authData = append(authData, make([]byte, 16)...)                    // AAGUID: zero, as "none" attestation may give
	authData = binary.BigEndian.AppendUint16(authData, uint16(len(id))) // #nosec G115 -- a test credential id is far shorter than 64 KiB
	authData = append(authData, id...)
	authData = append(authData, coseKey(&key.PublicKey)...)
	att := cborMap(
		cborText("fmt"), cborText("none"),
		cborText("attStmt"), cborMap(),
		cborText("authData"), cborBytes(authData),
	)
	cd := a.clientData("webauthn.create", o.PublicKey.Challenge, t)
	out, err := json.Marshal(map[string]any{
		"id": b64(id), "rawId": b64(id), "type": "public-key", "authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON": b64(cd), "attestationObject": b64(att), "transports": []string{"internal", "hybrid"},
		},
		"clientExtensionResults": map[string]any{},
	})
	return out, c, err
}

// Get answers login options (passwordless, second factor or step-up) with
// an assertion of c (t.Credential, when set, instead), and advances c's
// counter.
func (a *Authenticator) Get(rawOptions []byte, c *Credential, t Tamper) ([]byte, error) {
	o, err := parseOptions(rawOptions)
	if err != nil {
		return nil, err
	}
	if t.Credential != nil {
		c = t.Credential
	}
	rpID := o.PublicKey.RPID
	if rpID == "" {
		rpID = c.RPID
	}
	if t.RPID != "" {
		rpID = t.RPID
	}
	c.SignCount += a.CountStep
	count := c.SignCount
	if t.SignCount != nil {
		count = *t.SignCount
	}
	flags := FlagUP | FlagUV | c.Flags
	if t.Flags != nil {
		flags = *t.Flags
	}
	authData := authenticatorData(rpID, flags, count)
	cd := a.clientData("webauthn.get", o.PublicKey.Challenge, t)
	cdh := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, authData...), cdh[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.Key, digest[:])
	if err != nil {
		return nil, err
	}
	if t.BadSig {
		sig[len(sig)-1] ^= 1
	}
	resp := map[string]any{"clientDataJSON": b64(cd), "authenticatorData": b64(authData), "signature": b64(sig)}
	switch {
	case t.UserHandle != nil:
		resp["userHandle"] = b64(t.UserHandle)
	case !t.NoHandle:
		resp["userHandle"] = b64(c.UserHandle)
	}
	return json.Marshal(map[string]any{
		"id": b64(c.ID), "rawId": b64(c.ID), "type": "public-key", "authenticatorAttachment": "platform",
		"response": resp, "clientExtensionResults": map[string]any{},
	})
}

// authenticatorData is rpIdHash (32) | flags (1) | signCount (4, big-endian).
func authenticatorData(rpID string, flags byte, count uint32) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append(h[:], flags)
	return binary.BigEndian.AppendUint32(out, count)
}

// coseKey is the COSE_Key of an EC2 P-256 key for ES256 (RFC 9053):
// {1: 2, 3: -7, -1: 1, -2: x, -3: y}.
func coseKey(k *ecdsa.PublicKey) []byte {
	point, err := k.Bytes() // uncompressed: 0x04 | x (32) | y (32)
	if err != nil || len(point) != 65 {
		panic(fmt.Sprintf("P-256 public key: %v", err))
	}
	return cborMap(
		cborInt(1), cborInt(2),
		cborInt(3), cborInt(-7),
		cborInt(-1), cborInt(1),
		cborInt(-2), cborBytes(point[1:33]),
		cborInt(-3), cborBytes(point[33:]),
	)
}

// A few CBOR encoders (RFC 8949), enough for the structures above.

func cborHead(major byte, n uint64) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n < 1<<8:
		return []byte{major<<5 | 24, byte(n)}
	case n < 1<<16:
		return binary.BigEndian.AppendUint16([]byte{major<<5 | 25}, uint16(n))
	default:
		return binary.BigEndian.AppendUint32([]byte{major<<5 | 26}, uint32(n)) // #nosec G115 -- the encoder's lengths are a test's small values, far below 4 GiB
	}
}

func cborInt(n int64) []byte {
	if n >= 0 {
		return cborHead(0, uint64(n))
	}
	return cborHead(1, uint64(-1-n))
}

func cborBytes(b []byte) []byte { return append(cborHead(2, uint64(len(b))), b...) }

func cborText(s string) []byte { return append(cborHead(3, uint64(len(s))), s...) }

// cborMap encodes key, value, key, value, ... as a map.
func cborMap(kv ...[]byte) []byte {
	out := cborHead(5, uint64(len(kv)/2))
	for _, b := range kv {
		out = append(out, b...)
	}
	return out
}

// Ptr returns a pointer to v (for Tamper's optional fields).
func Ptr[T any](v T) *T { return &v }
