package admin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"

	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/shared/wire"
)

// mapErr adds to an error of server/client the sentinel of this package
// that says what the admin can do about it: ErrNotAdmin (401),
// ErrNoRights (403), ErrUntrustedServer (TLS), ErrUnreachable (no answer),
// and a FieldErrors for a 422 carrying per-field reasons. The original
// error stays in the chain.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var ae *client.APIError
	if errors.As(err, &ae) {
		switch {
		case ae.Status == http.StatusUnauthorized:
			return fmt.Errorf("%w: %w", ErrNotAdmin, err)
		case ae.Status == http.StatusForbidden:
			return fmt.Errorf("%w: %w", ErrNoRights, err)
		case len(ae.Fields) > 0:
			return fmt.Errorf("%w: %w", FieldErrors(ae.Fields), err)
		case errors.Is(err, wire.ErrInvalid):
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return err
	}
	switch {
	case errors.Is(err, client.ErrInvalid):
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	case tlsFailure(err):
		return fmt.Errorf("%w: %w", ErrUntrustedServer, err)
	case unreachable(err):
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return err
}

// tlsFailure reports a TLS handshake or certificate verification failure.
func tlsFailure(err error) bool {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		alert    tls.AlertError
	)
	return errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &record) || errors.As(err, &alert)
}

// unreachable reports a connection that could not be made or that got no
// answer in time. A cancellation by the caller is not one.
func unreachable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var (
		dns *net.DNSError
		op  *net.OpError
		ne  net.Error
	)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return true
	case errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &dns):
		return true
	case errors.As(err, &op) && op.Op == "dial":
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	}
	return false
}

// orNil returns f, or nil when it is empty.
func (f FieldErrors) orNil() error {
	if len(f) == 0 {
		return nil
	}
	return f
}
