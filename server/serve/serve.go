// Package serve wires the waptserver daemon together: flags, data directory,
// key material (server/pki), HTTPS or HTTP listener and graceful shutdown.
package serve

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gopkg.in/ini.v1"

	"github.com/wapt-go/wapt/server/auth"
	"github.com/wapt-go/wapt/server/httpapi"
	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/server/pki"
	"github.com/wapt-go/wapt/server/relay"
	"github.com/wapt-go/wapt/server/repository"
	"github.com/wapt-go/wapt/server/store"
	"github.com/wapt-go/wapt/shared/atomicfile"
	"github.com/wapt-go/wapt/shared/reqsign"
	"github.com/wapt-go/wapt/shared/signing"
)

// renewInterval is how often a running server renews its certificates when
// they near expiry.
const renewInterval = 12 * time.Hour

// Options are the server settings; each has a flag and a default.
type Options struct {
	DataDir string
	Listen  string
	// PublicHostPackages serves wapt-host/ to anyone (labs and demos only):
	// until host registration exists, host packages are otherwise refused.
	PublicHostPackages bool
	// TLS serves HTTPS with the server's certificate (DATA/pki); false
	// serves plain HTTP, behind a reverse proxy that terminates TLS.
	TLS bool
	// Hostnames are the names and addresses of the TLS certificate
	// (default: the host name, localhost, 127.0.0.1, ::1).
	Hostnames []string
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag struct{ list *[]string }

func (f listFlag) String() string {
	if f.list == nil {
		return ""
	}
	return strings.Join(*f.list, ",")
}

func (f listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*f.list = append(*f.list, s)
		}
	}
	return nil
}

// ParseFlags parses command-line arguments into Options.
func ParseFlags(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("waptserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	fs.StringVar(&o.DataDir, "data", "data", "data directory (repository, keys, database); created when missing")
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "address to listen on")
	fs.BoolVar(&o.PublicHostPackages, "public-host-packages", false, "serve wapt-host/ without authentication (labs and demos only)")
	fs.BoolVar(&o.TLS, "tls", true, "serve HTTPS with the server's own certificate; --tls=false serves plain HTTP behind a reverse proxy")
	fs.Var(listFlag{&o.Hostnames}, "hostname", "DNS name or IP address of the server for its TLS certificate (repeatable or comma-separated; default: host name, localhost, 127.0.0.1, ::1)")
	config := fs.String("config", "", "INI file whose [server] keys are these flags' names (data, listen, tls, hostname, public-host-packages); flags given on the command line win")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *config != "" {
		if err := applyConfigFile(fs, *config); err != nil {
			return o, err
		}
	}
	return o, nil
}

// applyConfigFile sets, from the [server] section of path, every flag not
// given on the command line. Unknown keys are errors (a typo must not
// silently leave a default in place).
func applyConfigFile(fs *flag.FlagSet, path string) error {
	f, err := ini.Load(path)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for _, k := range f.Section("server").Keys() {
		name := strings.ReplaceAll(k.Name(), "_", "-")
		fl := fs.Lookup(name)
		if fl == nil || name == "config" {
			return fmt.Errorf("config %s: unknown key %q in [server]", path, k.Name())
		}
		if set[name] {
			continue
		}
		if err := fl.Value.Set(k.Value()); err != nil {
			return fmt.Errorf("config %s: %s = %q: %w", path, k.Name(), k.Value(), err)
		}
	}
	return nil
}

// Main parses args and runs the server until ctx is done.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := ParseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return err
	}
	return Run(ctx, o, ln, log.New(stderr, "waptserver: ", log.LstdFlags).Printf, stdout)
}

// Run serves on ln until ctx is done, then shuts down gracefully.
func Run(ctx context.Context, o Options, ln net.Listener, logf func(string, ...any), stdout io.Writer) error {
	if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	keys, err := pki.LoadOrCreate(o.DataDir, pki.Options{Hostnames: o.Hostnames})
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, filepath.Join(o.DataDir, DBFile))
	if err != nil {
		return err
	}
	defer db.Close()
	adminTrust, err := loadAdminTrust(filepath.Join(o.DataDir, AdminCADir), logf)
	if err != nil {
		return err
	}
	repoKey, repoChain := keys.RepoSigner()
	repo, err := repository.NewWithConfig(ctx, repository.Config{
		Root: o.DataDir, Trust: adminTrust, RepoSigner: repoKey, RepoChain: repoChain, Logf: logf,
		// The repository certificate is renewed while the server runs.
		RepoChainNow: func() []*x509.Certificate { _, c := keys.RepoSigner(); return c },
	})
	if err != nil {
		return err
	}
	defer repo.Close()
	inv := inventory.New(inventory.Config{Store: db})
	hostCAs := x509.NewCertPool()
	hostCAs.AddCert(keys.HostCA())
	authn := &auth.Authenticator{
		Admins: db, Hosts: hostLookup{inv}, HostCAs: hostCAs,
		Nonces: reqsign.NewMemoryNonces(1 << 16),
	}
	if adminTrust != nil {
		authn.AdminTrust = adminTrust
		pool := x509.NewCertPool()
		for _, c := range adminTrust.Anchors() {
			pool.AddCert(c)
		}
		keys.SetAdminCAs(pool)
	}
	bootstrap, err := bootstrapPassword(ctx, o.DataDir, db, stdout)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel: the renewal loop logs until it returns
	defer cancel()
	wg.Go(func() {
		renewLoop(ctx, keys, logf, func() {
			// A renewed repository certificate signs the index at once.
			if err := repo.Resign(ctx); err != nil && !errors.Is(err, repository.ErrReadOnly) {
				logf("re-signing the index after renewal: %v", err)
			}
		})
	})
	wg.Go(func() {
		if err := repo.RunResigner(ctx); err != nil {
			logf("index re-signing stopped: %v", err)
		}
	})

	hub := relay.New(relay.Config{Store: db, Trust: func() *signing.Trust { return adminTrust }, Logf: logf})
	srv := &http.Server{
		Handler: httpapi.New(httpapi.Config{
			Repo: repo, Logf: logf, PublicHostPackages: o.PublicHostPackages,
			Inventory: inv, Relay: hub, Auth: authn, Admins: db, PKI: keys, BootstrapHash: bootstrap,
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	if o.PublicHostPackages {
		logf("WARNING: host packages (wapt-host/) are served WITHOUT authentication (--public-host-packages): for labs and demos only")
	}
	scheme := "https"
	if !o.TLS {
		scheme = "http"
		logf("TLS is off (--tls=false): serve this behind a reverse proxy that terminates HTTPS")
	}
	printStart(stdout, keys, repo.PublicPath(), scheme, ln.Addr())

	if o.TLS {
		srv.TLSConfig = keys.TLSConfig()
	}
	errc := make(chan error, 1)
	go func() {
		if o.TLS {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	hub.Close()
	shutCtx, shutCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer shutCancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Files and folders under the data directory.
const (
	DBFile        = "waptserver.sqlite"
	AdminCADir    = "ssl"              // admin CAs: who may publish packages and administer
	BootstrapFile = "bootstrap.sha256" // the first-admin password, hashed
)

// hostLookup adapts the inventory to auth.Hosts.
type hostLookup struct{ inv *inventory.Service }

func (h hostLookup) HostByCertFingerprint(ctx context.Context, fp string) (string, *x509.Certificate, error) {
	uuid, cert, err := h.inv.HostByCertFingerprint(ctx, fp)
	if errors.Is(err, inventory.ErrNotFound) {
		return "", nil, fmt.Errorf("%w: %v", auth.ErrNotFound, err)
	}
	return uuid, cert, err
}

// loadAdminTrust reads the admin CAs from dir; none yet is not an error
// (uploads and admin requests are then refused).
func loadAdminTrust(dir string, logf func(string, ...any)) (*signing.Trust, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	t, err := signing.LoadTrustDir(dir)
	if errors.Is(err, signing.ErrNoAnchors) {
		logf("no admin CA in %s: package uploads and the admin API are refused until one is added", dir)
		return nil, nil
	}
	return t, err
}

// bootstrapPassword returns the hash of the first-admin password, creating
// and printing the password when no admin exists and none was made yet.
// Once an admin is registered it is useless (and removed).
func bootstrapPassword(ctx context.Context, dataDir string, db *store.DB, stdout io.Writer) ([]byte, error) {
	path := filepath.Join(dataDir, BootstrapFile)
	n, err := db.CountAdmins(ctx)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		_ = os.Remove(path)
		return nil, nil
	}
	if b, err := os.ReadFile(path); err == nil {
		h, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(h) != sha256.Size {
			return nil, fmt.Errorf("%s: corrupt (delete it to get a new bootstrap password)", path)
		}
		return h, nil
	}
	raw := make([]byte, 18)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	pw := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(pw))
	if err := atomicfile.WriteFile(path, []byte(hex.EncodeToString(sum[:])+"\n"), 0o600); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "waptserver: bootstrap admin password (registers the first admin certificate only; shown only now): %s\n", pw)
	return sum[:], nil
}

// printStart tells where the server serves and, on the first start, the
// enrollment token agents register with: it is shown only then.
func printStart(w io.Writer, keys *pki.PKI, public, scheme string, addr net.Addr) {
	c := keys.Created()
	if c.HostCA {
		fmt.Fprintf(w, "waptserver: created the host CA, the TLS certificate and the repository key in %s (back up host-ca.crt and host-ca.key)\n", keys.Dir())
	}
	if !c.HostCA && len(c.Issued) > 0 {
		fmt.Fprintf(w, "waptserver: issued %s in %s\n", strings.Join(c.Issued, ", "), keys.Dir())
	}
	if c.EnrollmentToken != "" {
		fmt.Fprintf(w, "waptserver: enrollment token (shown only now; only its SHA-256 is kept in %s): %s\n",
			filepath.Join(keys.Dir(), pki.EnrollmentFile), c.EnrollmentToken)
	}
	fmt.Fprintf(w, "waptserver: host CA %s, SHA-256 fingerprint %s\n", filepath.Join(keys.Dir(), pki.HostCACertFile), signing.Fingerprint(keys.HostCA()))
	fmt.Fprintf(w, "waptserver: repository %s\nwaptserver: serving %s://%s/wapt/ (Ctrl-C to stop)\n", public, scheme, addr)
}

// renewLoop renews the TLS and repository certificates before they expire
// while the server runs, until ctx is done.
func renewLoop(ctx context.Context, keys *pki.PKI, logf func(string, ...any), renewed func()) {
	if left := time.Until(keys.HostCA().NotAfter); left < 365*24*time.Hour {
		logf("WARNING: the host CA expires on %s: plan its replacement", keys.HostCA().NotAfter.Format(time.DateOnly))
	}
	t := time.NewTicker(renewInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			names, err := keys.Renew(now)
			if len(names) > 0 {
				logf("renewed %s", strings.Join(names, ", "))
				renewed()
			}
			if err != nil {
				logf("renewing certificates: %v", err)
			}
		}
	}
}
