// Package pkcs11 signs with a private key that stays on a smartcard or HSM:
// Signer is a crypto.Signer over a key object of a PKCS#11 token (DESIGN §4),
// which the console (and wapt-get) use to sign packages, actions and API
// requests exactly as with a key file.
//
// RSA keys sign PKCS#1 v1.5 (CKM_RSA_PKCS over DigestInfo || digest, for
// SHA-256, SHA-384 and SHA-512) or PSS when the options are *rsa.PSSOptions
// (CKM_RSA_PKCS_PSS); ECDSA keys sign with CKM_ECDSA and return the ASN.1
// signature crypto/ecdsa and crypto/x509 expect. Tokens lists the tokens of a
// module for a token picker.
//
// The package needs cgo (github.com/miekg/pkcs11 loads the module with
// dlopen/LoadLibrary). Without cgo, Open and Tokens fail with an error
// wrapping errors.ErrUnsupported, so the rest of the module still builds.
//
// A PKCS#11 module is initialised once per process and its login state is
// per token and per process, not per session. The package therefore keeps one
// process-wide registry: Signers (and Tokens) on the same module share its
// context, which is finalised when the last one is closed, and Signers on the
// same token share its login, which ends when the last one is closed. A second
// Signer on a token already logged in must give the same PIN (compared with a
// salted hash kept in memory, without a new C_Login).
package pkcs11

import (
	"crypto"
	"crypto/x509"
	"errors"
	"io"
)

// Sentinel errors; Open, Tokens and Sign wrap them with the token, key and
// module involved.
var (
	// ErrPINIncorrect: the token refused the PIN (CKR_PIN_INCORRECT,
	// CKR_PIN_LEN_RANGE). The message says when few attempts are left.
	ErrPINIncorrect = errors.New("incorrect PIN")
	// ErrPINLocked: the token's user PIN is locked (CKR_PIN_LOCKED, or the
	// token reports CKF_USER_PIN_LOCKED); only the security officer can
	// unlock it.
	ErrPINLocked = errors.New("PIN locked")
	// ErrPINRequired: the token needs a login, it has no PIN pad and no PIN
	// was given. Nothing was sent to the token (an empty PIN could count as a
	// failed attempt).
	ErrPINRequired = errors.New("PIN required")
	// ErrTokenNotFound: no token has the label asked for, or none or several
	// tokens are present when no label was given, or the token was removed.
	// The message lists the labels present.
	ErrTokenNotFound = errors.New("token not found")
	// ErrKeyNotFound: no private key has the label asked for or matches the
	// certificate, or several keys do and nothing tells them apart. The
	// message lists the labels of the private keys present.
	ErrKeyNotFound = errors.New("private key not found")
	// ErrClosed: the Signer was closed.
	ErrClosed = errors.New("pkcs11 signer closed")
)

// Config selects a key on a token.
type Config struct {
	// Module is the path of the PKCS#11 library
	// (/usr/lib/softhsm/libsofthsm2.so, opensc-pkcs11.so, ...).
	Module string
	// TokenLabel is the token to use; "" means the only token present
	// (several tokens are an ErrTokenNotFound listing their labels).
	TokenLabel string
	// KeyLabel is the CKA_LABEL of the private key; "" means the key whose
	// public key matches Cert, else the only private key of the token.
	KeyLabel string
	// Cert, optional, is the certificate of the key: it finds the key by
	// its public key and is checked to match the key found by label. When
	// given, Public returns its public key.
	Cert *x509.Certificate
	// PIN is the user PIN; empty for a token without login or with a PIN
	// pad (CKF_PROTECTED_AUTHENTICATION_PATH). Open does not keep it, except
	// for a key with CKA_ALWAYS_AUTHENTICATE that needs it for every
	// signature (the copy is zeroed by Close).
	PIN []byte
}

// TokenInfo describes a token present in a slot, for a token picker.
type TokenInfo struct {
	Label        string
	Manufacturer string
	Model        string
	Serial       string
	// SlotID is the module's slot number (SoftHSM2 gives random ones).
	SlotID          uint
	SlotDescription string
	// LoginRequired: signing needs a PIN (CKF_LOGIN_REQUIRED).
	LoginRequired bool
	// PINPad: the PIN is entered on the reader (CKF_PROTECTED_AUTHENTICATION_PATH);
	// Open with an empty PIN.
	PINPad bool
	// PINCountLow and PINFinalTry: recent wrong PINs; PINLocked: the user
	// PIN is locked.
	PINCountLow, PINFinalTry, PINLocked bool
}

// OpenForConsole opens the key like Open and returns it as the
// crypto.Signer and io.Closer the console core uses, so that console/admin
// does not import this cgo package's types.
func OpenForConsole(module, tokenLabel, keyLabel string, pin []byte, cert *x509.Certificate) (crypto.Signer, io.Closer, error) {
	s, err := Open(Config{Module: module, TokenLabel: tokenLabel, KeyLabel: keyLabel, PIN: pin, Cert: cert})
	if err != nil {
		return nil, nil, err
	}
	return s, s, nil
}

// Limits on what Open and Tokens read from a module.
const (
	// maxObjects bounds the objects one search returns; a search matching
	// more fails.
	maxObjects = 1000
	// findChunk is the number of handles asked per C_FindObjects call.
	findChunk = 64
	// maxSlots bounds the slots examined.
	maxSlots = 256
	// maxListed bounds the labels quoted in an error message.
	maxListed = 20
)
