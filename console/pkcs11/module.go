//go:build cgo

package pkcs11

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	p11 "github.com/miekg/pkcs11"
)

// registry holds the modules loaded by this process. It is the one piece of
// package state, forced by PKCS#11 itself: C_Initialize and C_Finalize are
// per process, and so is the login state of a token.
var registry = struct {
	sync.Mutex
	mods map[string]*module
}{mods: map[string]*module{}}

// module is a loaded, initialised PKCS#11 library shared by the Signers and
// Tokens calls that use it.
type module struct {
	key  string // registry key (moduleKey)
	path string // as given, for messages
	ctx  *p11.Ctx
	refs int // guarded by registry
	// finalize: this package initialised the library, so it finalises it.
	finalize bool

	mu     sync.Mutex // guards logins
	salt   [32]byte
	logins map[uint]*login // by slot
}

// login is the user login of one token, shared by the Signers on it.
type login struct {
	n   int      // Signers relying on it
	pin [32]byte // salted SHA-256 of the PIN it was made with
}

// moduleKey normalises a module path so that two spellings of one file
// share a context (dlopen would return the same library, already
// initialised). A bare name ("opensc-pkcs11.so") is left to the loader's
// search path.
func moduleKey(path string) (string, error) {
	if path == "" {
		return "", errors.New("no PKCS#11 module given")
	}
	if !strings.ContainsAny(path, `/\`) {
		return path, nil
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("PKCS#11 module: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("PKCS#11 module %s: %w", path, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	return abs, nil
}

// acquire returns the module at path, loading and initialising it on first
// use; every acquire needs a release.
func acquire(path string) (*module, error) {
	key, err := moduleKey(path)
	if err != nil {
		return nil, err
	}
	registry.Lock()
	defer registry.Unlock()
	if m := registry.mods[key]; m != nil {
		m.refs++
		return m, nil
	}
	ctx := p11.New(key)
	if ctx == nil {
		return nil, fmt.Errorf("cannot load PKCS#11 module %s (not a library, or no C_GetFunctionList)", path)
	}
	m := &module{key: key, path: path, ctx: ctx, refs: 1, finalize: true, logins: map[uint]*login{}}
	if err := ctx.Initialize(); err != nil {
		if !isCode(err, p11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
			ctx.Destroy()
			return nil, fmt.Errorf("initialise PKCS#11 module %s: %w", path, err)
		}
		// Someone else in this process initialised it: leave finalising
		// to them.
		m.finalize = false
	}
	if _, err := rand.Read(m.salt[:]); err != nil {
		m.finalizeAndUnload()
		return nil, err
	}
	registry.mods[key] = m
	return m, nil
}

// release drops a reference; the last one finalises and unloads the module.
func (m *module) release() error {
	registry.Lock()
	defer registry.Unlock()
	m.refs--
	if m.refs > 0 {
		return nil
	}
	delete(registry.mods, m.key)
	return m.finalizeAndUnload()
}

func (m *module) finalizeAndUnload() error {
	var err error
	if m.finalize {
		if e := m.ctx.Finalize(); e != nil {
			err = fmt.Errorf("finalise PKCS#11 module %s: %w", m.path, e)
		}
	}
	m.ctx.Destroy()
	return err
}

// hashPIN returns the salted hash used to compare PINs of shared logins.
func (m *module) hashPIN(pin []byte) [32]byte {
	h := sha256.New()
	h.Write(m.salt[:])
	h.Write(pin)
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// login logs the user in to the token of slot through session, or joins
// the login another Signer of this process made with the same PIN.
func (m *module) login(slot uint, session p11.SessionHandle, pin []byte, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	sum := m.hashPIN(pin)
	if l := m.logins[slot]; l != nil {
		if subtle.ConstantTimeCompare(l.pin[:], sum[:]) != 1 {
			return fmt.Errorf("token %q: %w (it is already unlocked in this process with another PIN)", token, ErrPINIncorrect)
		}
		l.n++
		return nil
	}
	if err := m.ctx.Login(session, p11.CKU_USER, string(pin)); err != nil && !isCode(err, p11.CKR_USER_ALREADY_LOGGED_IN) {
		return m.loginError(slot, token, err)
	}
	m.logins[slot] = &login{n: 1, pin: sum}
	return nil
}

// loginError maps a failed C_Login, with the token's PIN counters.
func (m *module) loginError(slot uint, token string, err error) error {
	err = mapError(err)
	if !errors.Is(err, ErrPINIncorrect) {
		return fmt.Errorf("login to token %q: %w", token, err)
	}
	info, ierr := m.ctx.GetTokenInfo(slot)
	switch {
	case ierr != nil:
	case info.Flags&p11.CKF_USER_PIN_LOCKED != 0:
		return fmt.Errorf("login to token %q: %w", token, ErrPINLocked)
	case info.Flags&p11.CKF_USER_PIN_FINAL_TRY != 0:
		return fmt.Errorf("login to token %q: %w: one attempt left before it locks", token, err)
	case info.Flags&p11.CKF_USER_PIN_COUNT_LOW != 0:
		return fmt.Errorf("login to token %q: %w: few attempts left before it locks", token, err)
	}
	return fmt.Errorf("login to token %q: %w", token, err)
}

// logout drops a Signer's share of the login of slot; the last one logs
// out through session (before the session is closed).
func (m *module) logout(slot uint, session p11.SessionHandle) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.logins[slot]
	if l == nil {
		return nil
	}
	if l.n--; l.n > 0 {
		return nil
	}
	delete(m.logins, slot)
	if err := m.ctx.Logout(session); err != nil && !isCode(err, p11.CKR_USER_NOT_LOGGED_IN) {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// tokens lists the initialised tokens present, in at most maxSlots slots.
func (m *module) tokens() ([]TokenInfo, error) {
	slots, err := m.ctx.GetSlotList(true)
	if err != nil {
		return nil, fmt.Errorf("PKCS#11 module %s: list slots: %w", m.path, mapError(err))
	}
	if len(slots) > maxSlots {
		slots = slots[:maxSlots]
	}
	out := make([]TokenInfo, 0, len(slots))
	for _, slot := range slots {
		ti, err := m.ctx.GetTokenInfo(slot)
		if err != nil || ti.Flags&p11.CKF_TOKEN_INITIALIZED == 0 {
			// Removed meanwhile, a broken reader, or a blank token (SoftHSM2
			// always offers one): nothing to sign with.
			continue
		}
		si, _ := m.ctx.GetSlotInfo(slot)
		out = append(out, TokenInfo{
			Label:           strings.TrimRight(ti.Label, " \x00"),
			Manufacturer:    strings.TrimRight(ti.ManufacturerID, " \x00"),
			Model:           strings.TrimRight(ti.Model, " \x00"),
			Serial:          strings.TrimRight(ti.SerialNumber, " \x00"),
			SlotID:          slot,
			SlotDescription: strings.TrimRight(si.SlotDescription, " \x00"),
			LoginRequired:   ti.Flags&p11.CKF_LOGIN_REQUIRED != 0,
			PINPad:          ti.Flags&p11.CKF_PROTECTED_AUTHENTICATION_PATH != 0,
			PINCountLow:     ti.Flags&p11.CKF_USER_PIN_COUNT_LOW != 0,
			PINFinalTry:     ti.Flags&p11.CKF_USER_PIN_FINAL_TRY != 0,
			PINLocked:       ti.Flags&p11.CKF_USER_PIN_LOCKED != 0,
		})
	}
	return out, nil
}

// findToken returns the token labelled label, or the only token when label
// is "".
func (m *module) findToken(label string) (TokenInfo, error) {
	toks, err := m.tokens()
	if err != nil {
		return TokenInfo{}, err
	}
	labels := make([]string, len(toks))
	for i, t := range toks {
		labels[i] = t.Label
	}
	if label == "" {
		switch len(toks) {
		case 1:
			return toks[0], nil
		case 0:
			return TokenInfo{}, fmt.Errorf("PKCS#11 module %s: %w: no token present", m.path, ErrTokenNotFound)
		}
		return TokenInfo{}, fmt.Errorf("PKCS#11 module %s: %w: several tokens present (%s); choose one by label",
			m.path, ErrTokenNotFound, listLabels(labels))
	}
	var found []TokenInfo
	for _, t := range toks {
		if t.Label == strings.TrimRight(label, " ") {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return TokenInfo{}, fmt.Errorf("PKCS#11 module %s: %w: no token labelled %q (present: %s)",
			m.path, ErrTokenNotFound, label, listLabels(labels))
	}
	serials := make([]string, len(found))
	for i, t := range found {
		serials[i] = t.Serial
	}
	return TokenInfo{}, fmt.Errorf("PKCS#11 module %s: %w: several tokens labelled %q (serials %s)",
		m.path, ErrTokenNotFound, label, listLabels(serials))
}

// isCode reports whether err is the PKCS#11 return value code.
func isCode(err error, code uint) bool {
	var e p11.Error
	return errors.As(err, &e) && uint(e) == code
}

// mapError wraps the sentinel matching a PKCS#11 error around it.
func mapError(err error) error {
	var e p11.Error
	if !errors.As(err, &e) {
		return err
	}
	var sentinel error
	switch uint(e) {
	case p11.CKR_PIN_INCORRECT, p11.CKR_PIN_LEN_RANGE:
		sentinel = ErrPINIncorrect
	case p11.CKR_PIN_LOCKED:
		sentinel = ErrPINLocked
	case p11.CKR_TOKEN_NOT_PRESENT, p11.CKR_DEVICE_REMOVED, p11.CKR_TOKEN_NOT_RECOGNIZED:
		sentinel = ErrTokenNotFound
	case p11.CKR_MECHANISM_INVALID, p11.CKR_MECHANISM_PARAM_INVALID, p11.CKR_FUNCTION_NOT_SUPPORTED:
		sentinel = errors.ErrUnsupported
	default:
		return err
	}
	return fmt.Errorf("%w (%w)", sentinel, err)
}
