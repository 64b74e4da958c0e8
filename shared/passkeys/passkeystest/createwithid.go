package passkeystest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
)

// CreateWithID is Create with a credential id the caller chooses (a
// malicious or software authenticator can pick any id).
func (a *Authenticator) CreateWithID(rawOptions []byte, id []byte) ([]byte, *Credential, error) {
	o, err := parseOptions(rawOptions)
	if err != nil {
		return nil, nil, err
	}
	handle, err := base64.RawURLEncoding.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	c := &Credential{ID: append([]byte{}, id...), Key: key, RPID: o.PublicKey.RP.ID, UserHandle: handle}
	authData := authenticatorData(c.RPID, FlagUP|FlagUV|FlagAT, 0)
	authData = append(authData, make([]byte, 16)...)
	authData = binary.BigEndian.AppendUint16(authData, uint16(len(id))) // #nosec G115 -- a test credential id is far shorter than 64 KiB
	authData = append(authData, id...)
	authData = append(authData, coseKey(&key.PublicKey)...)
	att := cborMap(cborText("fmt"), cborText("none"), cborText("attStmt"), cborMap(), cborText("authData"), cborBytes(authData))
	cd := a.clientData("webauthn.create", o.PublicKey.Challenge, Tamper{})
	out, err := json.Marshal(map[string]any{
		"id": b64(id), "rawId": b64(id), "type": "public-key",
		"response":               map[string]any{"clientDataJSON": b64(cd), "attestationObject": b64(att)},
		"clientExtensionResults": map[string]any{},
	})
	return out, c, err
}
