package pki

import (
	"crypto/tls"
	"crypto/x509"
)

// nextProtos are the ALPN protocols of the HTTPS server.
var nextProtos = []string{"h2", "http/1.1"}

// TLSConfig returns the HTTPS server configuration: TLS 1.2 or later, the
// current TLS certificate (renewals apply to new handshakes), and client
// certificates requested but not required: one that is given must chain to
// the host CA or to an admin CA set with SetAdminCAs.
func (p *PKI) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: nextProtos,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			p.mu.RLock()
			defer p.mu.RUnlock()
			return p.serverTLS, nil
		},
		// Unused while GetConfigForClient answers; set for checks of the
		// configuration (http.Server.ServeTLS).
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			p.mu.RLock()
			defer p.mu.RUnlock()
			return &p.serverTLS.Certificates[0], nil
		},
	}
}

// SetAdminCAs sets the admin CAs whose certificates TLS clients may present,
// besides the host CA; nil clears them. pool must not be changed afterwards.
func (p *PKI) SetAdminCAs(pool *x509.CertPool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.adminCAs = pool
	p.rebuildTLS()
}

// rebuildTLS builds the configuration of new handshakes. p.mu is held.
func (p *PKI) rebuildTLS() {
	clientCAs := x509.NewCertPool()
	if p.adminCAs != nil {
		clientCAs = p.adminCAs.Clone()
	}
	clientCAs.AddCert(p.caCert)
	l := p.leaves[leafTLS]
	p.serverTLS = &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: nextProtos,
		Certificates: []tls.Certificate{{
			Certificate: [][]byte{l.cert.Raw},
			PrivateKey:  l.key,
			Leaf:        l.cert,
		}},
		ClientAuth: tls.VerifyClientCertIfGiven,
		ClientCAs:  clientCAs,
	}
}
