package mfa

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// KeyVersion names the sealing key in use; a sealed secret records it, so
// that a new key can be introduced beside the old one later.
const KeyVersion = "v1"

// MinKeyLength is the shortest key material accepted from the secret.
const MinKeyLength = 32

// Sealer encrypts TOTP secrets with AES-256-GCM under a key derived (HKDF-
// SHA-256) from a Secrets Manager secret that only the auth function's
// role can read. The additional data binds each sealed secret to its
// account and factor: a sealed secret copied onto another factor or
// account does not open.
type Sealer struct{ aead cipher.AEAD }

// NewSealer derives the sealing key from the key material.
func NewSealer(material []byte) (*Sealer, error) {
	if len(material) < MinKeyLength {
		return nil, errors.New("mfa: sealing key material shorter than 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, material, nil, "atrium mfa totp seal "+KeyVersion, 32)
	if err != nil {
		return nil, fmt.Errorf("derive sealing key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealing cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealing cipher: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// SealerFromSecret builds the Sealer from the Secrets Manager secret
// {"key": ...} (MFA_KEY_SECRET_ARN), read once per cold start.
func SealerFromSecret(ctx context.Context, readSecret func(context.Context, string, any) error, secretID string) (*Sealer, error) {
	var v struct {
		Key string `json:"key"`
	}
	if err := readSecret(ctx, secretID, &v); err != nil {
		return nil, fmt.Errorf("mfa key: %w", err)
	}
	return NewSealer([]byte(v.Key))
}

func aad(accountID, factorID string) []byte {
	return []byte("atrium-totp-" + KeyVersion + "\x00" + accountID + "\x00" + factorID)
}

// Seal encrypts a factor's secret: a random 96-bit nonce, then the ciphertext.
func (s *Sealer) Seal(accountID, factorID string, secret []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go 1.24+)
	return s.aead.Seal(nonce, nonce, secret, aad(accountID, factorID))
}

// ErrUnsealable reports a sealed secret that does not open under the key
// for this account and factor.
var ErrUnsealable = errors.New("mfa: sealed secret does not open")

// Open decrypts a sealed secret of the account's factor.
func (s *Sealer) Open(accountID, factorID string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, ErrUnsealable
	}
	out, err := s.aead.Open(nil, sealed[:n], sealed[n:], aad(accountID, factorID))
	if err != nil {
		return nil, ErrUnsealable
	}
	return out, nil
}
