package cli

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/wapt-go/wapt/shared/certs"
)

// loadSigner reads a private key file. The password comes from
// $WAPT_KEY_PASSWORD, or from a prompt when that is unset; never from a flag.
func loadSigner(env *Env, path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	pw := env.Getenv(PasswordEnv)
	key, err := certs.ParsePrivateKeyPEM(data, []byte(pw))
	switch {
	case err == nil:
		return key, nil
	case errors.Is(err, certs.ErrBadPassword) && pw != "":
		return nil, fmt.Errorf("private key %s: $%s: %w", path, PasswordEnv, err)
	case errors.Is(err, certs.ErrPasswordRequired), errors.Is(err, certs.ErrBadPassword):
		p, perr := env.ReadPassword(fmt.Sprintf("Password for %s: ", path))
		if perr != nil {
			return nil, fmt.Errorf("private key %s is encrypted: %w", path, perr)
		}
		key, err = certs.ParsePrivateKeyPEM(data, p)
		if err != nil {
			return nil, fmt.Errorf("private key %s: %w", path, err)
		}
		return key, nil
	default:
		return nil, fmt.Errorf("private key %s: %w", path, err)
	}
}

// loadKeyPair loads a key and its certificate chain (signer first) and checks
// that they belong together.
func loadKeyPair(env *Env, keyPath, certPath string) (crypto.Signer, []*x509.Certificate, error) {
	if keyPath == "" || certPath == "" {
		return nil, nil, usagef("--key and --cert go together")
	}
	chain, err := certs.LoadCerts(certPath)
	if err != nil {
		return nil, nil, err
	}
	key, err := loadSigner(env, keyPath)
	if err != nil {
		return nil, nil, err
	}
	if !certs.KeyMatchesCert(key, chain[0]) {
		return nil, nil, fmt.Errorf("private key %s does not match certificate %s (%s)", keyPath, certPath, chain[0].Subject.CommonName)
	}
	return key, chain, nil
}
